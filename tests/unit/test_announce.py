"""Announcement calls over a real sans-I/O endpoint, with a fake media engine and fake timers:
every transition of ``vacant.service.announce`` and the RFC rules it applies (RFC 3261 §12,
§13.3.1.4, §14.2, §15; RFC 3264 §5/§6; RFC 3515 §2.4; RFC 3892; RFC 4028 §6/§9/§10; RFC 3326)."""

from __future__ import annotations

import gc
import random
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from vacant.errors import MediaError
from vacant.media.offer_answer import Codec, Negotiated
from vacant.routing.model import Announcement, NumberRange, RoutingConfig
from vacant.routing.policy import Snapshot
from vacant.service.announce import CallState
from vacant.service.call import CAPABILITIES, CallHandler, CallSettings
from vacant.service.prompt_cache import PromptCache
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address
from vacant.sip.message import Request, Response, parse_message
from vacant.sip.uri import parse_uri
from vacant.store.calls import CallRecord
from vacant.store.prompts import PromptAudio

CALLER = Address("127.0.0.1", 5070)
POOL = "pool1.example.com"
TARGET = "sip:operator@example.com"
NUMBER = "+14255551234"
PCM = b"\x01\x00" * 16000  # one second at 16 kHz
FRAMES = 50
OFFER = (
    b"v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)
HOLD = OFFER.replace(b"o=caller 1 1", b"o=caller 1 2") + b"a=sendonly\r\n"
NO_CODEC = OFFER.replace(b"RTP/AVP 8 0 101", b"RTP/AVP 18").replace(
    b"a=rtpmap:101 telephone-event/8000\r\n", b"a=rtpmap:18 G729/8000\r\n"
)


def _encode(pcm: bytes, codec: Codec) -> tuple[bytes, ...]:
    return tuple(bytes([len(codec)]) * 160 for _ in range(len(pcm) // 640))


@dataclass
class FakeStream:
    port: int
    on_timeout: Callable[[], None]
    plays: list[tuple[Negotiated, int, int]] = field(default_factory=list)
    updates: list[Negotiated] = field(default_factory=list)
    closed: bool = False
    seconds_played: float = 0.0
    on_done: Callable[[], None] | None = None
    refuse: bool = False

    def play(
        self,
        negotiated: Negotiated,
        frames: Sequence[bytes],
        *,
        repeat: int = 1,
        on_done: Callable[[], None],
    ) -> None:
        if self.refuse:
            raise MediaError("frames: too many")
        self.plays.append((negotiated, len(frames), repeat))
        self.on_done = on_done

    def finish(self) -> None:
        _, count, repeat = self.plays[-1]
        self.seconds_played = count * repeat * 0.02
        assert self.on_done is not None
        self.on_done()

    def update(self, negotiated: Negotiated) -> None:
        self.updates.append(negotiated)

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    def __init__(self, ports: int = 8) -> None:
        self.free = ports
        self.streams: list[FakeStream] = []

    def open(self, on_timeout: Callable[[], None]) -> FakeStream:
        if self.free == 0:
            raise MediaError("no free RTP port in 20000-20001")
        self.free -= 1
        stream = FakeStream(20000 + 2 * len(self.streams), on_timeout)
        self.streams.append(stream)
        return stream


@dataclass
class FakeHandle:
    deadline: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Harness:
    def __init__(self, announcement: Announcement, *, audio: bool = True, ports: int = 8) -> None:
        self.now = 100.0
        self.endpoint = SipEndpoint(
            rng=random.Random(7),
            trying_delay=None,
            capabilities=CAPABILITIES,
            local=[Address("127.0.0.1", 5060, "udp"), Address("127.0.0.1", 5060, "tcp")],
        )
        self.announcement = announcement
        self.engine = FakeEngine(ports)
        self.timers: list[FakeHandle] = []
        self.records: list[CallRecord] = []
        config = RoutingConfig(
            ranges=[
                NumberRange.create(
                    "ann",
                    start="+14255551000",
                    end="+14255551999",
                    announcement_id=announcement.id,
                    position=1,
                ),
            ],
            announcements=[announcement],
        )
        snapshot = Snapshot.build(config)
        found = {announcement.id: PromptAudio.of(PCM)} if audio else {}
        self.cache = PromptCache().rebuild([announcement], found, _encode, lambda: b"\x00" * 3200)
        self.handler = CallHandler(
            self.endpoint,
            lambda: snapshot,
            self.records.append,
            lambda: self.now,
            CallSettings(pool=POOL),
            engine=self.engine,
            prompts=lambda: self.cache,
            later=self.later,
        )
        self.woken = 0
        self.handler.on_wake = self._wake
        self.cseq = 1
        self.to_tag: str | None = None
        self.n = 0

    def _wake(self) -> None:
        self.woken += 1

    def later(self, delay: float, callback: Callable[[], None]) -> FakeHandle:
        handle = FakeHandle(self.now + delay, callback)
        self.timers.append(handle)
        return handle

    # --- driving --------------------------------------------------------------------------

    def feed(self, data: bytes, source: Address = CALLER) -> list[Request | Response]:
        self.endpoint.receive(data, source, self.now)
        return self.pump()

    def pump(self) -> list[Request | Response]:
        while (event := self.endpoint.next_event()) is not None:
            self.handler(event)
        return [parse_message(data) for data, _ in self.endpoint.messages_to_send()]

    def endpoint_pump(self) -> list[tuple[Request | Response, Address]]:
        """Like ``pump``, with where each message goes."""
        while (event := self.endpoint.next_event()) is not None:
            self.handler(event)
        return [(parse_message(data), to) for data, to in self.endpoint.messages_to_send()]

    def ack_bytes(self) -> bytes:
        self.n += 1
        return (
            "ACK sip:vacant@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-ack{self.n}\r\n"
            "From: <sip:caller@example.com>;tag=caller1\r\n"
            f"To: <sip:{NUMBER}@vacant.example.com>;tag={self.to_tag}\r\nCall-ID: call-1\r\n"
            "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    def advance(self, seconds: float) -> list[Request | Response]:
        self.now += seconds
        for handle in sorted(self.timers, key=lambda h: h.deadline):
            if handle.deadline <= self.now and not handle.cancelled:
                handle.cancelled = True
                handle.callback()
        self.endpoint.handle_timer(self.now)
        return self.pump()

    @property
    def stream(self) -> FakeStream:
        return self.engine.streams[-1]

    @property
    def call_state(self) -> CallState:
        (call,) = self.handler.announcing
        return call.state

    def invite(self, body: bytes = OFFER, extra: str = "") -> list[Request | Response]:
        self.n += 1
        head = (
            f"INVITE sip:{NUMBER}@vacant.example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv{self.n}\r\n"
            "From: <sip:caller@example.com>;tag=caller1\r\n"
            f"To: <sip:{NUMBER}@vacant.example.com>\r\nCall-ID: call-1\r\n"
            "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:caller@127.0.0.1:5070>\r\n"
            f"{extra}"
        )
        if body:
            head += "Content-Type: application/sdp\r\n"
        sent = self.feed(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        finals = [m for m in sent if isinstance(m, Response) and m.status > 100]
        if finals:
            self.to_tag = finals[-1].to.tag
        return sent

    def in_dialog(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str = "application/sdp",
        extra: str = "",
        cseq: int | None = None,
    ) -> list[Request | Response]:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        self.n += 1
        head = (
            f"{method} sip:vacant@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{method.lower()}{self.n}\r\n"
            "From: <sip:caller@example.com>;tag=caller1\r\n"
            f"To: <sip:{NUMBER}@vacant.example.com>;tag={self.to_tag}\r\nCall-ID: call-1\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContact: <sip:caller@127.0.0.1:5070>\r\n"
            f"{extra}"
        )
        if body:
            head += f"Content-Type: {content_type}\r\n"
        return self.feed(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def ack(self, body: bytes = b"", cseq: int = 1) -> list[Request | Response]:
        self.n += 1
        head = (
            f"ACK sip:vacant@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ack{self.n}\r\n"
            "From: <sip:caller@example.com>;tag=caller1\r\n"
            f"To: <sip:{NUMBER}@vacant.example.com>;tag={self.to_tag}\r\nCall-ID: call-1\r\n"
            f"CSeq: {cseq} ACK\r\nMax-Forwards: 70\r\n"
        )
        if body:
            head += "Content-Type: application/sdp\r\n"
        return self.feed(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def respond(self, request: Request, status: int, extra: str = "") -> list[Request | Response]:
        """The caller's response to a request vacant sent."""
        vias = "".join(f"Via: {v}\r\n" for v in request.headers.get_all("via"))
        text = (
            f"SIP/2.0 {status} Whatever\r\n{vias}"
            f"From: {request.headers.get('from')}\r\nTo: {request.headers.get('to')}\r\n"
            f"Call-ID: {request.call_id}\r\nCSeq: {request.headers.get('cseq')}\r\n"
            f"{extra}Content-Length: 0\r\n\r\n"
        )
        return self.feed(text.encode())

    def answered(self, body: bytes = OFFER, extra: str = "") -> Response:
        """INVITE then ACK: the call is playing."""
        sent = self.invite(body, extra)
        ok = _final(sent)
        assert ok.status == 200
        self.ack()
        assert self.call_state is CallState.PLAYING
        return ok

    @property
    def record(self) -> CallRecord:
        (record,) = self.records
        return record


def _final(sent: list[Request | Response]) -> Response:
    finals = [m for m in sent if isinstance(m, Response) and m.status >= 200]
    assert finals, sent
    return finals[-1]


def _statuses(sent: list[Request | Response]) -> list[int]:
    return [m.status for m in sent if isinstance(m, Response)]


def _request(sent: list[Request | Response], method: str) -> Request:
    found = [m for m in sent if isinstance(m, Request) and m.method == method]
    assert found, f"no {method} in {sent}"
    return found[-1]


def _ann(**kwargs: object) -> Announcement:
    return Announcement.create(POOL, "Vacant", audio_file="vacant.wav", **kwargs)  # type: ignore[arg-type]


# --- answer and prompt --------------------------------------------------------------------------


def test_invite_with_offer_gets_100_then_200_with_answer_and_contact_rfc3264_s6() -> None:
    h = Harness(_ann())
    sent = h.invite()
    assert _statuses(sent) == [100, 200]
    ok = _final(sent)
    assert ok.content_type == "application/sdp"
    assert b"m=audio 20000 RTP/AVP 8 101" in ok.body  # the caller's preference order: PCMA
    assert str(ok.contacts[0].uri) == "sip:127.0.0.1"
    assert ok.to.tag
    assert h.call_state is CallState.ANSWERED
    assert h.stream.plays == []  # §13.3.1.4: playout waits for the ACK
    # §13.3.1.4: the 2xx SHOULD carry Allow and Supported.
    assert "UPDATE" in (ok.headers.get("allow") or "")
    assert ok.headers.get("supported") == "timer"
    assert ok.headers.get("session-expires") is None


def test_ack_starts_the_prompt_repeat_times_in_the_negotiated_codec() -> None:
    h = Harness(_ann(repeat=3))
    h.answered()
    negotiated, count, repeat = h.stream.plays[0]
    assert negotiated.codec is Codec.PCMA
    assert (count, repeat) == (FRAMES, 3)


def test_prompt_done_without_target_sends_bye_and_records_completed_rfc3261_s15() -> None:
    h = Harness(_ann())
    h.answered()
    h.stream.finish()
    sent = h.pump()
    bye = _request(sent, "BYE")
    assert bye.to.tag == "caller1"
    assert bye.from_.tag == h.to_tag
    assert h.woken == 1
    assert h.stream.closed
    record = h.record
    assert (record.status, record.outcome) == (200, "completed")
    assert record.prompt_seconds == pytest.approx(1.0)
    assert record.decision == "announcement"
    assert h.handler.in_progress == 0


def test_sit_is_prepended_to_the_prompt() -> None:
    h = Harness(_ann(sit=True))
    h.answered()
    assert h.stream.plays[0][1] == FRAMES + 5  # 0.1 s of fake SIT


def test_frames_are_encoded_once_per_prompt_version_and_shared() -> None:
    h = Harness(_ann())
    prompt = h.cache.get(h.announcement)
    assert prompt is not None
    # Every codec is encoded when the cache is built (the reload thread), not on a call's first
    # use in the event loop (a 2-minute prompt took 70 ms there: every stream missed a frame).
    assert prompt.encoded == set(Codec)
    h.answered()
    assert prompt.frames(Codec.PCMA) is prompt.frames(Codec.PCMA)
    same = Announcement.create(POOL, "Other", audio_file="vacant.wav")
    rebuilt = h.cache.rebuild(
        [h.announcement, same],
        {h.announcement.id: PromptAudio.of(PCM), same.id: PromptAudio.of(PCM)},
        _encode,
        bytes,
    )
    # A rebuilt cache keeps the prompt (and its frames) whose version did not change, and two
    # announcements with the same audio share one.
    assert rebuilt.get(h.announcement) is prompt
    assert rebuilt.get(same) is prompt
    assert len(rebuilt) == 2


def test_a_rebuild_keeps_a_prompt_known_by_version_without_reading_its_audio() -> None:
    """A reload reads only the audio whose version the cache does not hold: an announcement
    given by version alone keeps its prompt; an unknown version without audio has none."""
    h = Harness(_ann())
    prompt = h.cache.get(h.announcement)
    assert prompt is not None
    assert h.cache.has(prompt.key.version, False)
    assert not h.cache.has(prompt.key.version, True)
    other = Announcement.create(POOL, "Other", audio_file="other.wav")
    rebuilt = h.cache.rebuild(
        [h.announcement, other],
        {},
        _encode,
        bytes,
        {h.announcement.id: prompt.key.version, other.id: "f" * 64},
    )
    assert rebuilt.get(h.announcement) is prompt
    assert rebuilt.get(other) is None
    assert len(rebuilt) == 1


def test_engine_refusing_the_prompt_goes_on_as_if_played() -> None:
    h = Harness(_ann())
    h.invite()
    h.stream.refuse = True
    sent = h.ack()
    assert _request(sent, "BYE")
    assert h.record.outcome == "completed"


# --- transfer ------------------------------------------------------------------------------------


def test_prompt_then_refer_to_the_configured_target_with_referred_by_rfc3515_s2_4_1() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    refer = _request(h.pump(), "REFER")
    assert refer.headers.get("refer-to") == f"<{TARGET}>"
    assert refer.headers.get("referred-by") == f"<sip:{NUMBER}@vacant.example.com>"  # RFC 3892
    assert h.call_state is CallState.REFERRING
    h.respond(refer, 202)
    (call,) = h.handler.announcing
    assert call.state is CallState.TRANSFERRING
    sent = h.in_dialog(
        "NOTIFY",
        body=b"SIP/2.0 100 Trying\r\n",
        content_type="message/sipfrag",
        extra="Event: refer\r\nSubscription-State: active;expires=60\r\n",
    )
    assert _statuses(sent) == [200]  # RFC 3515 §2.4.4
    sent = h.in_dialog(
        "NOTIFY",
        body=b"SIP/2.0 200 OK\r\n",
        content_type="message/sipfrag",
        extra="Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n",
    )
    assert _statuses(sent) == [200]
    assert _request(sent, "BYE")
    record = h.record
    assert (record.outcome, record.transfer_target) == ("transferred", TARGET)


def test_refer_target_never_comes_from_the_request_no_toll_fraud() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered(extra="Refer-To: <sip:premium@evil.example>\r\nReferred-By: <sip:x@evil>\r\n")
    h.stream.finish()
    refer = _request(h.pump(), "REFER")
    assert refer.headers.get("refer-to") == f"<{TARGET}>"


def test_refer_rejected_603_sends_bye_transfer_rejected_rfc3515_s2_4_2() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    refer = _request(h.pump(), "REFER")
    sent = h.respond(refer, 603)
    assert _request(sent, "BYE")
    assert h.record.outcome == "transfer-rejected"


def test_refer_timeout_timer_f_is_transfer_rejected_rfc3261_s8_1_3_1() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.pump()
    sent = h.advance(33)
    assert _request(sent, "BYE")
    assert h.record.outcome == "transfer-rejected"


def test_notify_with_final_failure_sipfrag_is_transfer_failed() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.respond(_request(h.pump(), "REFER"), 202)
    sent = h.in_dialog("NOTIFY", body=b"SIP/2.0 486 Busy Here\r\n",
                       content_type="message/sipfrag",
                       extra="Event: refer;id=2\r\nSubscription-State: terminated\r\n")  # fmt: skip
    assert _request(sent, "BYE")
    assert h.record.outcome == "transfer-failed"


def test_subscription_terminated_without_final_status_is_transfer_failed_rfc3515_s2_4_7() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.respond(_request(h.pump(), "REFER"), 202)
    sent = h.in_dialog("NOTIFY", body=b"SIP/2.0 180 Ringing\r\n",
                       content_type="message/sipfrag",
                       extra="Event: refer\r\nSubscription-State: terminated\r\n")  # fmt: skip
    assert _request(sent, "BYE")
    assert h.record.outcome == "transfer-failed"


def test_notify_for_another_event_gets_489_rfc6665_s8_2_1() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.respond(_request(h.pump(), "REFER"), 202)
    sent = h.in_dialog("NOTIFY", body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag",
                       extra="Event: dialog\r\n")  # fmt: skip
    assert _statuses(sent) == [489]
    sent = h.in_dialog("NOTIFY", body=b"nonsense", content_type="message/sipfrag",
                       extra="Event: refer\r\n")  # fmt: skip
    assert _statuses(sent) == [400]
    assert h.call_state is CallState.TRANSFERRING


def test_notify_before_any_refer_gets_481_rfc6665_s4_1_3() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    sent = h.in_dialog("NOTIFY", body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag",
                       extra="Event: refer\r\n")  # fmt: skip
    assert _statuses(sent) == [481]


def test_no_notify_after_accepted_refer_ends_with_transfer_failed() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.respond(_request(h.pump(), "REFER"), 202)
    sent = h.advance(61)
    assert _request(sent, "BYE")
    assert h.record.outcome == "transfer-failed"


def test_caller_bye_after_accepted_refer_is_transferred() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.finish()
    h.respond(_request(h.pump(), "REFER"), 202)
    assert _statuses(h.in_dialog("BYE")) == [200]
    assert h.record.outcome == "transferred"


def test_no_prompt_with_target_refers_right_after_the_ack() -> None:
    h = Harness(_ann(target=TARGET), audio=False)
    h.invite()
    sent = h.ack()
    assert _request(sent, "REFER").headers.get("refer-to") == f"<{TARGET}>"


def test_no_prompt_redirect_without_answer_is_302_to_target() -> None:
    h = Harness(_ann(target=TARGET, redirect_without_answer=True), audio=False)
    sent = h.invite()
    final = _final(sent)
    assert final.status == 302
    assert final.headers.get("contact") == f"<{TARGET}>"
    assert (h.record.outcome, h.record.transfer_target) == ("redirected", TARGET)
    assert h.engine.streams == []


def test_no_prompt_audio_and_no_target_is_486() -> None:
    h = Harness(_ann(), audio=False)
    assert _final(h.invite()).status == 486


# --- early media ---------------------------------------------------------------------------------


def test_early_media_183_with_sdp_then_404_with_q850_reason_rfc3326() -> None:
    h = Harness(_ann(early_media=True))
    sent = h.invite()
    assert _statuses(sent) == [100, 183]
    progress = next(m for m in sent if isinstance(m, Response) and m.status == 183)
    assert b"m=audio 20000" in progress.body
    assert h.call_state is CallState.EARLY
    assert h.stream.plays
    h.stream.finish()
    final = _final(h.pump())
    assert final.status == 404
    assert "cause=1" in (final.headers.get("reason") or "")
    assert (h.record.status, h.record.outcome) == (404, "early-media")


def test_early_media_with_target_ends_with_302() -> None:
    h = Harness(_ann(early_media=True, target=TARGET))
    h.invite()
    h.stream.finish()
    final = _final(h.pump())
    assert (final.status, final.headers.get("contact")) == (302, f"<{TARGET}>")
    assert h.record.outcome == "redirected"


def test_early_media_custom_status() -> None:
    h = Harness(_ann(early_media=True, early_status=480))
    h.invite()
    h.stream.finish()
    assert _final(h.pump()).status == 480


def test_early_media_without_offer_gets_the_final_response_at_once() -> None:
    h = Harness(_ann(early_media=True))
    assert _statuses(h.invite(body=b"")) == [100, 404]
    assert h.engine.streams == []


def test_cancel_during_early_media_is_487_and_frees_the_stream_rfc3261_s9_2() -> None:
    h = Harness(_ann(early_media=True))
    h.invite()
    cancel = (
        f"CANCEL sip:{NUMBER}@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv1\r\n"
        "From: <sip:caller@example.com>;tag=caller1\r\n"
        f"To: <sip:{NUMBER}@vacant.example.com>\r\nCall-ID: call-1\r\n"
        "CSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    sent = h.feed(cancel.encode())
    assert sorted(_statuses(sent)) == [200, 487]
    assert h.stream.closed
    assert h.record.outcome == "cancelled"


def test_no_media_in_early_media_ends_with_the_final_response() -> None:
    h = Harness(_ann(early_media=True))
    h.invite()
    h.stream.on_timeout()
    assert _final(h.pump()).status == 404
    assert h.record.outcome == "no-media"


# --- failures of the INVITE ----------------------------------------------------------------------


def test_offer_without_common_codec_is_488_with_warning_rfc3264_s6() -> None:
    h = Harness(_ann())
    final = _final(h.invite(body=NO_CODEC))
    assert final.status == 488
    assert (final.headers.get("warning") or "").startswith("305 vacant ")
    assert h.stream.closed
    assert h.record.outcome == "not-acceptable"


def test_port_exhaustion_is_503_with_retry_after() -> None:
    h = Harness(_ann(), ports=0)
    final = _final(h.invite())
    assert (final.status, final.headers.get("retry-after")) == (503, "5")
    assert h.record.outcome == "no-port"


def test_non_sdp_body_is_415_rfc3261_s8_2_3() -> None:
    h = Harness(_ann())
    data = (
        f"INVITE sip:{NUMBER}@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x\r\n"
        "From: <sip:caller@example.com>;tag=caller1\r\n"
        f"To: <sip:{NUMBER}@vacant.example.com>\r\nCall-ID: call-1\r\n"
        "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:caller@127.0.0.1:5070>\r\n"
        "Content-Type: message/sipfrag\r\nContent-Length: 16\r\n\r\nSIP/2.0 200 OK\r\n"
    )
    assert _final(h.feed(data.encode())).status == 415


def test_invite_without_contact_is_400_rfc3261_s8_1_1_8() -> None:
    h = Harness(_ann())
    data = (
        f"INVITE sip:{NUMBER}@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x\r\n"
        "From: <sip:caller@example.com>;tag=caller1\r\n"
        f"To: <sip:{NUMBER}@vacant.example.com>\r\nCall-ID: call-1\r\n"
        "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(OFFER)}\r\n\r\n"
    )
    assert _final(h.feed(data.encode() + OFFER)).status == 400
    assert h.stream.closed


# --- late offer ----------------------------------------------------------------------------------


def test_invite_without_sdp_gets_our_offer_and_the_answer_comes_in_the_ack_rfc3264_s5() -> None:
    h = Harness(_ann())
    ok = _final(h.invite(body=b""))
    assert ok.status == 200
    assert b"RTP/AVP 0 8 9 101" in ok.body
    answer = OFFER.replace(b"RTP/AVP 8 0 101", b"RTP/AVP 9 101")
    h.ack(body=answer)
    assert h.stream.plays[0][0].codec is Codec.G722


def test_unusable_answer_in_ack_sends_bye() -> None:
    h = Harness(_ann())
    h.invite(body=b"")
    sent = h.ack(body=NO_CODEC)
    assert _request(sent, "BYE")
    assert h.record.outcome == "not-acceptable"


# --- the caller ends it, or never confirms -------------------------------------------------------


def test_caller_bye_mid_prompt_gets_200_and_stops_at_once_rfc3261_s15_1_2() -> None:
    h = Harness(_ann(target=TARGET))
    h.answered()
    h.stream.seconds_played = 0.42
    sent = h.in_dialog("BYE")
    assert _statuses(sent) == [200]
    assert h.stream.closed
    assert (h.record.outcome, h.record.prompt_seconds) == ("caller-hung-up", 0.42)
    assert h.record.transfer_target is None
    # §12.2.2: the dialog is gone, so a second BYE gets 481.
    assert _statuses(h.in_dialog("BYE")) == [481]


def test_no_ack_timer_h_sends_bye_rfc3261_s13_3_1_4() -> None:
    h = Harness(_ann())
    h.invite()
    sent = h.advance(32.5)
    assert _request(sent, "BYE")
    assert h.record.outcome == "no-ack"


def test_no_media_timeout_sends_bye() -> None:
    h = Harness(_ann())
    h.answered()
    h.stream.on_timeout()
    assert _request(h.pump(), "BYE")
    assert h.record.outcome == "no-media"


def test_stop_ends_calls_in_every_state() -> None:
    h = Harness(_ann())
    h.answered()
    h.handler.stop_calls()
    assert _request(h.pump(), "BYE")
    assert h.record.outcome == "stopped"
    early = Harness(_ann(early_media=True))
    early.invite()
    early.handler.stop_calls()
    assert _final(early.pump()).status == 404


# --- re-INVITE, UPDATE, OPTIONS, INFO ------------------------------------------------------------


def test_reinvite_hold_gets_fresh_answer_with_version_plus_one_rfc3261_s14_2() -> None:
    h = Harness(_ann())
    ok = h.answered()
    first = _origin_version(ok.body)
    sent = h.in_dialog("INVITE", body=HOLD)
    answer = _final(sent)
    assert answer.status == 200
    assert _origin_version(answer.body) == first + 1
    assert b"a=recvonly" in answer.body
    assert h.stream.updates[-1].send is False
    assert answer.contacts


def _origin_version(sdp: bytes) -> int:
    line = next(x for x in sdp.split(b"\r\n") if x.startswith(b"o="))
    return int(line.split()[2])


def test_reinvite_without_sdp_offers_and_takes_the_answer_from_its_ack() -> None:
    h = Harness(_ann())
    h.answered()
    ok = _final(h.in_dialog("INVITE"))
    assert b"RTP/AVP 0 8 9 101" in ok.body
    h.ack(body=OFFER, cseq=h.cseq)
    assert h.stream.updates[-1].codec is Codec.PCMA


def test_reinvite_while_our_offer_is_outstanding_is_491_rfc3261_s14_2() -> None:
    h = Harness(_ann())
    h.answered()
    h.in_dialog("INVITE")
    assert _statuses(h.in_dialog("INVITE", body=HOLD)) == [491]


def test_reinvite_with_unusable_offer_is_488_and_the_session_goes_on() -> None:
    h = Harness(_ann())
    h.answered()
    assert _statuses(h.in_dialog("INVITE", body=NO_CODEC)) == [488]
    assert h.call_state is CallState.PLAYING
    assert h.stream.updates == []


def test_update_without_sdp_is_a_refresh_rfc3311() -> None:
    h = Harness(_ann())
    h.answered()
    assert _statuses(h.in_dialog("UPDATE", extra="Session-Expires: 120\r\n")) == [200]


def test_out_of_order_cseq_is_500_rfc3261_s12_2_2() -> None:
    h = Harness(_ann())
    h.answered()
    h.in_dialog("OPTIONS", cseq=10)
    assert _statuses(h.in_dialog("OPTIONS", cseq=5)) == [500]


def test_in_dialog_options_and_info_get_200() -> None:
    h = Harness(_ann())
    h.answered()
    assert _statuses(h.in_dialog("OPTIONS")) == [200]
    assert _statuses(h.in_dialog("INFO")) == [200]


def test_refer_from_the_caller_is_405_nobody_transfers_vacant() -> None:
    h = Harness(_ann())
    h.answered()
    sent = h.in_dialog("REFER", extra="Refer-To: <sip:x@example.com>\r\n")
    assert _statuses(sent) == [405]


def test_request_for_unknown_dialog_is_481_rfc3261_s12_2_2() -> None:
    h = Harness(_ann())
    h.to_tag = "nope"
    assert _statuses(h.in_dialog("BYE")) == [481]


# --- session timers (RFC 4028) -------------------------------------------------------------------


def test_session_expires_below_min_se_with_timer_support_is_422_rfc4028_s6() -> None:
    h = Harness(_ann())
    final = _final(h.invite(extra="Supported: timer\r\nSession-Expires: 60\r\n"))
    assert (final.status, final.headers.get("min-se")) == (422, "90")
    assert h.record.outcome == "interval-too-small"


def test_session_expires_below_min_se_without_timer_is_raised_errata_1687() -> None:
    h = Harness(_ann())
    ok = _final(h.invite(extra="Session-Expires: 60\r\n"))
    assert ok.headers.get("session-expires") == "90;refresher=uas"
    assert ok.headers.get("require") is None


def test_caller_supporting_timer_refreshes_and_gets_require_timer_rfc4028_s9() -> None:
    h = Harness(_ann())
    ok = h.answered(extra="Supported: timer\r\nSession-Expires: 1800\r\n")
    assert ok.headers.get("session-expires") == "1800;refresher=uac"
    assert ok.headers.get("require") == "timer"


def test_refresher_chosen_by_the_caller_is_kept_rfc4028_s9() -> None:
    h = Harness(_ann())
    ok = h.answered(extra="Supported: timer\r\nSession-Expires: 1800;refresher=uas\r\n")
    assert ok.headers.get("session-expires") == "1800;refresher=uas"


def test_no_refresh_before_expiry_sends_bye_rfc4028_s10() -> None:
    h = Harness(_ann())
    h.answered(extra="Supported: timer\r\nSession-Expires: 90\r\n")
    assert h.advance(50) == []  # before 90 - min(32, 30) = 60 s
    sent = h.advance(11)
    assert _request(sent, "BYE")
    assert h.record.outcome == "session-expired"


def test_a_refresh_re_arms_the_session_timer_rfc4028_s10() -> None:
    h = Harness(_ann())
    h.answered(extra="Supported: timer\r\nSession-Expires: 90\r\n")
    h.advance(50)
    h.in_dialog("UPDATE", extra="Supported: timer\r\nSession-Expires: 90\r\n")
    assert [m for m in h.advance(20) if isinstance(m, Request)] == []
    assert h.call_state is CallState.PLAYING


def test_we_refresh_with_update_when_the_caller_allows_it_rfc4028_s10() -> None:
    h = Harness(_ann())
    h.answered(extra="Allow: INVITE, ACK, BYE, UPDATE\r\nSession-Expires: 120\r\n")
    sent = h.advance(61)
    update = _request(sent, "UPDATE")
    assert update.headers.get("session-expires") == "120;refresher=uas"
    h.respond(update, 200)
    assert h.call_state is CallState.PLAYING


def test_we_refresh_with_reinvite_and_ack_its_2xx_rfc3261_s13_2_2_4() -> None:
    h = Harness(_ann())
    h.answered(extra="Session-Expires: 120\r\n")
    invite = _request(h.advance(61), "INVITE")
    assert invite.content_type == "application/sdp"
    sent = h.respond(invite, 200, extra="Contact: <sip:caller@127.0.0.1:5070>\r\n")
    ack = _request(sent, "ACK")
    assert ack.cseq.number == invite.cseq.number
    assert h.call_state is CallState.PLAYING


def test_refresh_answered_481_ends_the_session_rfc4028_s10() -> None:
    h = Harness(_ann())
    h.answered(extra="Allow: UPDATE\r\nSession-Expires: 120\r\n")
    update = _request(h.advance(61), "UPDATE")
    sent = h.respond(update, 481)
    assert _request(sent, "BYE")
    assert h.record.outcome == "session-expired"


def test_reinvite_while_our_refresh_is_in_progress_is_491_rfc3261_s14_2() -> None:
    h = Harness(_ann())
    h.answered(extra="Allow: UPDATE\r\nSession-Expires: 120\r\n")
    h.advance(61)
    assert _statuses(h.in_dialog("INVITE", body=HOLD)) == [491]


def test_malformed_session_expires_is_400() -> None:
    h = Harness(_ann())
    assert _final(h.invite(extra="Session-Expires: soon\r\n")).status == 400


def test_reinvite_with_too_small_session_interval_is_422_rfc4028_s6() -> None:
    h = Harness(_ann())
    h.answered()
    sent = h.in_dialog("INVITE", body=HOLD, extra="Supported: timer\r\nSession-Expires: 30\r\n")
    assert _statuses(sent) == [422]
    assert _statuses(h.in_dialog("UPDATE", extra="Session-Expires: x\r\n")) == [400]
    sent = h.in_dialog("INVITE", body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag")
    assert _statuses(sent) == [415]
    assert h.call_state is CallState.PLAYING


def test_refresh_timing_out_ends_the_session_rfc4028_s10() -> None:
    h = Harness(_ann())
    h.answered(extra="Allow: UPDATE\r\nSession-Expires: 120\r\n")
    assert _request(h.advance(61), "UPDATE")
    sent = h.advance(33)  # Timer F: the UPDATE was never answered
    assert _request(sent, "BYE")
    assert h.record.outcome == "session-expired"


def test_our_refresh_waits_while_an_offer_is_outstanding() -> None:
    h = Harness(_ann())
    h.answered(extra="Session-Expires: 120\r\n")
    h.in_dialog("INVITE")  # our offer now awaits the ACK
    assert [m for m in h.advance(61) if isinstance(m, Request)] == []
    assert h.call_state is CallState.PLAYING


def test_in_dialog_requests_go_back_on_the_connection_over_tcp_rfc3261_s18() -> None:
    h = Harness(_ann())
    tcp = Address("127.0.0.1", 40123, "tcp")
    data = (
        f"INVITE sip:{NUMBER}@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-tcp\r\n"
        "From: <sip:caller@example.com>;tag=caller1\r\n"
        f"To: <sip:{NUMBER}@vacant.example.com>\r\nCall-ID: call-1\r\n"
        "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:caller@127.0.0.1:5070;transport=tcp>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(OFFER)}\r\n\r\n"
    )
    h.endpoint.receive(data.encode() + OFFER, tcp, h.now)
    sent = h.endpoint_pump()
    ok = _final([m for m, _ in sent])
    assert str(ok.contacts[0].uri).endswith(";transport=tcp")
    h.to_tag = ok.to.tag
    h.endpoint.receive(h.ack_bytes(), tcp, h.now)
    h.endpoint_pump()
    h.stream.finish()
    (bye,) = [(m, to) for m, to in h.endpoint_pump() if isinstance(m, Request)]
    assert bye[0].method == "BYE"
    assert bye[1] == tcp


def test_in_dialog_requests_go_to_the_source_when_the_contact_is_a_name() -> None:
    h = Harness(_ann())
    h.invite(extra="")
    h.ack()
    (call,) = h.handler.announcing
    assert call.dialog is not None
    call.dialog.remote_target = parse_uri("sip:caller@phone.example.com")
    h.stream.finish()
    (bye,) = [(m, to) for m, to in h.endpoint_pump() if isinstance(m, Request)]
    assert bye[1] == CALLER


def test_an_ended_call_leaves_no_reference_cycle() -> None:
    """``vacant serve`` almost never runs the oldest collection: a call must be freed by
    reference counting alone once the handler forgets it."""
    h = Harness(_ann())
    h.answered()
    (call,) = h.handler.announcing
    ref = weakref.ref(call)
    del call
    h.stream.finish()
    h.advance(40)  # Timer L ends the INVITE server transaction; the BYE's is done too
    h.timers.clear()
    h.engine.streams.clear()
    gc.disable()
    try:
        assert ref() is None
    finally:
        gc.enable()
