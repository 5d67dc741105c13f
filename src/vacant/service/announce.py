"""One announcement call: answer, play the prompt, then transfer by REFER or hang up.

The call handler (:mod:`vacant.service.call`) creates an ``AnnouncementCall`` for an INVITE
whose decision is an announcement with something to do (a prompt, or a target), and hands it
the events of its dialog. The call acts on the SIP endpoint, the media engine and a timer
service given by its ``CallHost``; it never does I/O itself.

States (``CallState``) and what moves them::

    OFFERED ──200 (SDP answer, or our offer)──▶ ANSWERED ──ACK──▶ PLAYING ──prompt done──▶ ┐
       │ early_media: 183 + SDP                     │ Timer H: BYE (§13.3.1.4)               │
       ▼                                            ▼                                       │
     EARLY ──prompt done──▶ 302 target / early_status      target? ──no──▶ BYE "completed" ◀┘
                                                             │ yes
                                                             ▼
                          REFERRING ──2xx──▶ TRANSFERRING ──NOTIFY sipfrag 2xx──▶ BYE "transferred"
                             │ >= 300 / timeout                 │ sipfrag >= 300, or terminated
                             ▼                                  ▼
                          BYE "transfer-rejected"            BYE "transfer-failed"

In any state: the caller's BYE → 200, "caller-hung-up" (or "transferred" once the REFER was
accepted: the transferee leaves when it has the target); CANCEL before the final response →
487, "cancelled"; no RTP for the engine's timeout → BYE (or the final response when early),
"no-media"; a session timer that runs out → BYE, "session-expired" (RFC 4028 §10).

Rules, each named where it is applied:

- RFC 3264 §6 / §7: the answer to the caller's offer, or our offer in the 200 and the answer in
  the ACK; an offer or answer we cannot use is 488 (with a Warning, RFC 3261 §20.43) or BYE.
- RFC 3261 §14.2: a re-INVITE (hold, unhold, refresh) is answered with a fresh answer (o=
  version + 1); one that arrives while our own offer is outstanding or our refresh is in progress
  gets 491; an offer we cannot use gets 488 and the session goes on as it was.
- RFC 3515 §2.4.1, RFC 3892: REFER with Refer-To = the configured target (never anything from a
  request: no toll fraud) and Referred-By = our URI; §2.4.4: NOTIFYs answered 200, their
  ``message/sipfrag`` status followed; §2.4.7: ``Subscription-State: terminated`` ends it.
- RFC 4028 §9: Session-Expires honoured (422 with Min-SE when below ours and the caller
  supports ``timer``; raised to our minimum when it does not, errata 1687), refresher chosen,
  Require: timer when the caller supports it; §10: we refresh at half the interval when we are
  the refresher, and send BYE when no refresh came before the interval's end less
  min(32, interval/3).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from vacant.errors import LocalProtocolError, MediaError, ParseError
from vacant.media import offer_answer
from vacant.media.offer_answer import Codec, LocalMedia, Negotiated
from vacant.routing.policy import AnnouncementDecision
from vacant.sip.dialog import Dialog
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address, TxId
from vacant.sip.extensions import (
    EventHeader,
    SessionExpires,
    option_tags,
    parse_min_se,
    sipfrag_status,
    subscription_state,
)
from vacant.sip.message import Request, Response
from vacant.sip.uri import SipUri, Uri, is_ipv4, is_ipv6

log = logging.getLogger(__name__)

#: RFC 4028 §5: the smallest session interval we accept ("MUST NOT be less than 90 seconds").
MIN_SE: Final = 90
#: How long we wait for the NOTIFY that ends a transfer after the REFER was accepted.
TRANSFER_TIMEOUT: Final = 60.0
#: RFC 3261 §20.43 warn-code 305: "Incompatible media format".
_WARN_MEDIA: Final = 305
_SDP: Final = "application/sdp"
#: §18.2.2 / §19.1.2: the port of a sip: URI without one.
_DEFAULT_PORT: Final = 5060


class CallState(StrEnum):
    OFFERED = "offered"
    EARLY = "early"
    ANSWERED = "answered"
    PLAYING = "playing"
    REFERRING = "referring"
    TRANSFERRING = "transferring"
    ENDED = "ended"


class Outcome(StrEnum):
    """What became of an announcement call (the call record's ``outcome``)."""

    TRANSFERRED = "transferred"
    TRANSFER_REJECTED = "transfer-rejected"
    TRANSFER_FAILED = "transfer-failed"
    COMPLETED = "completed"
    CALLER_HUNG_UP = "caller-hung-up"
    CANCELLED = "cancelled"
    NO_MEDIA = "no-media"
    REDIRECTED = "redirected"
    EARLY_MEDIA = "early-media"
    #: Not in the contract's list, but distinct ends a call can have.
    NOT_ACCEPTABLE = "not-acceptable"
    NO_ACK = "no-ack"
    SESSION_EXPIRED = "session-expired"
    INTERVAL_TOO_SMALL = "interval-too-small"
    NO_PORT = "no-port"
    STOPPED = "stopped"


class Stream(Protocol):
    """What a call needs of ``vacant.media.engine.Stream`` (a seam for unit tests)."""

    @property
    def port(self) -> int: ...

    def play(
        self,
        negotiated: Negotiated,
        frames: Sequence[bytes],
        *,
        repeat: int = 1,
        on_done: Callable[[], None],
    ) -> None: ...

    def update(self, negotiated: Negotiated) -> None: ...

    @property
    def seconds_played(self) -> float: ...

    def close(self) -> None: ...


class Engine(Protocol):
    """What a call needs of ``vacant.media.engine.MediaEngine``."""

    def open(self, on_timeout: Callable[[], None]) -> Stream: ...


class Handle(Protocol):
    def cancel(self) -> None: ...


class Prompt(Protocol):
    """A prompt's frames per codec (:class:`vacant.service.prompt_cache.Prompt`)."""

    def frames(self, codec: Codec) -> tuple[bytes, ...]: ...


class CallHost(Protocol):
    """What the call handler gives a call."""

    endpoint: SipEndpoint
    rng: random.Random

    def now(self) -> float: ...

    def later(self, delay: float, callback: Callable[[], None]) -> Handle: ...

    def wake(self) -> None:
        """Flush what the endpoint queued (after acting outside an endpoint event)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def media_address(self) -> str: ...

    def contact(self, transport: str) -> Uri: ...

    def track(self, tx_id: TxId, call: AnnouncementCall) -> None: ...

    def finished(self, call: AnnouncementCall) -> None: ...


@dataclass(frozen=True, slots=True)
class _Timer:
    refresh: Handle | None = None
    expire: Handle | None = None


class AnnouncementCall:
    """The state machine of one announcement call (see the module docstring)."""

    def __init__(
        self,
        host: CallHost,
        tx_id: TxId,
        request: Request,
        source: Address,
        decision: AnnouncementDecision,
        prompt: Prompt | None,
        *,
        started: float,
        wall: datetime,
    ) -> None:
        self.host = host
        self.invite_tx = tx_id
        self.request = request
        self.source = source
        self.decision = decision
        self.announcement = decision.announcement
        self.prompt = prompt
        self.started = started
        self.wall = wall
        self.state = CallState.OFFERED
        self.dialog: Dialog | None = None
        self.stream: Stream | None = None
        self.negotiated: Negotiated | None = None
        self.session_id = host.rng.randrange(1, 2**31)
        self.version = self.session_id
        #: Our offer awaiting its answer in an ACK (RFC 3264 §5: late offer, initial or re-INVITE).
        self.offer: bytes | None = None
        #: Our session refresh (UPDATE or re-INVITE) in progress, and its method.
        self.refresh_tx: TxId | None = None
        self.refresh_invite: Request | None = None
        self.refer_tx: TxId | None = None
        self.refer_accepted = False
        self.status = 0
        self.outcome: Outcome | None = None
        self.ended: float | None = None
        self.prompt_seconds = 0.0
        self.transfer_target: str | None = None
        self.session: SessionExpires | None = None
        self.caller_timer = False
        self._timers = _Timer()
        self._transfer_timer: Handle | None = None

    # --- the INVITE ---------------------------------------------------------------------------

    def start(self) -> None:
        """Answer the INVITE: 100, then 422, 488, 503, 183 or 200 (see the module docstring)."""
        host, request = self.host, self.request
        endpoint = host.endpoint
        endpoint.reply(self.invite_tx, 100, host.now())
        try:
            self.caller_timer = "timer" in option_tags(request, "supported")
            session = self._session_interval(request)
        except ParseError as exc:
            self._reject(400, Outcome.NOT_ACCEPTABLE, reason=f"Bad Request ({exc})")
            return
        if isinstance(session, int):
            # RFC 4028 §6: 422 Session Interval Too Small, with our Min-SE.
            self._reject(422, Outcome.INTERVAL_TOO_SMALL, headers=(("Min-SE", str(session)),))
            return
        self.session = session
        body = request.body
        if body and request.content_type != _SDP:
            # RFC 3261 §8.2.3: a body we do not process.
            self._reject(415, Outcome.NOT_ACCEPTABLE, headers=(("Accept", _SDP),))
            return
        if not body and self.announcement.early_media:
            # No offer to answer in a 183 (an offer in a reliable 183 needs RFC 3262, which we do
            # not do): the caller gets the final response at once, still without being answered.
            self._early_final()
            return
        try:
            self.stream = host.engine.open(self._outside(self._no_media))
        except MediaError as exc:
            log.warning("%s: no RTP port: %s", request.call_id, exc)
            self._reject(503, Outcome.NO_PORT, headers=(("Retry-After", "5"),))
            return
        local = self._local()
        if body:
            try:
                self.negotiated, sdp = offer_answer.answer(body, local, host.rng)
            except MediaError as exc:
                self._not_acceptable(exc)
                return
        else:
            self.offer = sdp = offer_answer.make_offer(local, host.rng)
        if self.announcement.early_media:
            # RFC 3960 §3: early media in a 183 Session Progress with the answer.
            endpoint.reply(self.invite_tx, 183, host.now(), headers=self._contact(), body=sdp)
            self._set(CallState.EARLY)
            self._play()
            return
        self._answer(sdp)

    def _session_interval(self, request: Request) -> SessionExpires | int | None:
        """RFC 4028 §9: the session interval to answer with, the Min-SE to send in a 422 (an
        int), or ``None`` (no session timer asked for)."""
        text = request.headers.get("session-expires")
        if text is None:
            return None
        asked = SessionExpires.parse(text)
        min_text = request.headers.get("min-se")
        minimum = max(MIN_SE, parse_min_se(min_text) if min_text is not None else 0)
        interval = asked.interval
        if interval < minimum:
            if self.caller_timer:
                return minimum  # §9: "the UAS MUST reject it with a 422"
            interval = minimum  # errata 1687: a UAC without timer cannot usefully be refused
        # §9: a refresher the request chose is kept; otherwise we pick the caller when it
        # supports timer, and ourselves when it does not.
        refresher = asked.refresher or ("uac" if self.caller_timer else "uas")
        return SessionExpires(interval, refresher)

    def _answer(self, sdp: bytes) -> None:
        """The 200 OK with our SDP and Contact; the dialog it creates (§12.1.1)."""
        host, request = self.host, self.request
        endpoint = host.endpoint
        try:
            self.dialog = Dialog.for_uas(
                request,
                local_tag=endpoint.local_tag(self.invite_tx),
                local_contact=host.contact(self.source.transport),
                source=self.source,
                rng=host.rng,
            )
        except ParseError as exc:
            self._reject(400, Outcome.NOT_ACCEPTABLE, reason=f"Bad Request ({exc})")
            return
        self.status = 200
        headers = [*self._contact(), *self._session_headers()]
        endpoint.reply(self.invite_tx, 200, host.now(), headers=headers, body=sdp)
        self._set(CallState.ANSWERED)
        self._arm_session()

    def _contact(self) -> tuple[tuple[str, str], ...]:
        """The fields of the 183 or 200 that makes the dialog: the request's Record-Route values,
        in order (RFC 3261 §12.1.1: the UAS "MUST copy all Record-Route header field values from
        the request into the response"), so a proxy that record-routes stays on the path."""
        uri = self.host.contact(self.source.transport)
        routes = tuple(("Record-Route", v) for v in self.request.headers.get_all("record-route"))
        return (*routes, ("Contact", f"<{uri}>"), ("Content-Type", _SDP))

    def _session_headers(self) -> list[tuple[str, str]]:
        """§13.3.1.4: a 2xx to INVITE "SHOULD contain the Allow and Supported header fields";
        then the session timer (RFC 4028 §9)."""
        caps = self.host.endpoint.capabilities
        headers = [("Allow", caps.allow)]
        if caps.extensions:
            headers.append(("Supported", ", ".join(sorted(caps.extensions))))
        if self.session is None:
            return headers
        headers.append(("Session-Expires", str(self.session)))
        if self.caller_timer:
            # RFC 4028 §9: Require: timer in a 2xx with a Session-Expires the caller understands.
            headers.append(("Require", "timer"))
        return headers

    def _local(self) -> LocalMedia:
        assert self.stream is not None
        return LocalMedia(self.host.media_address, self.stream.port, self.session_id, self.version)

    def _reject(
        self,
        status: int,
        outcome: Outcome,
        *,
        reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.host.endpoint.reply(
            self.invite_tx, status, self.host.now(), reason=reason, headers=headers
        )
        self.status = status
        self._finish(outcome)

    def _not_acceptable(self, exc: MediaError) -> None:
        status = getattr(exc, "status_hint", 488)
        status = status if isinstance(status, int) else 488
        # RFC 3264 §6 / RFC 3261 §21.4.26: 488 Not Acceptable Here, with a Warning saying why.
        warning = f'{_WARN_MEDIA} vacant "{_quoted(str(exc))}"'
        self._reject(status, Outcome.NOT_ACCEPTABLE, headers=(("Warning", warning),))

    # --- events -------------------------------------------------------------------------------

    def cancel(self) -> None:
        """§9.2: the endpoint answered the CANCEL; before our final response, 487."""
        if self.state in (CallState.OFFERED, CallState.EARLY):
            self._reject(487, Outcome.CANCELLED)

    def ack(self, ack: Request) -> None:
        """The ACK of a 2xx (§13.3.1.4): the session is confirmed, the prompt starts; a late
        offer's answer is in it (RFC 3264 §5)."""
        if self.dialog is None or self.dialog.receive_request(ack) is not None:
            return
        if self.offer is not None:
            offer, self.offer = self.offer, None
            try:
                negotiated = offer_answer.accept_answer(offer, ack.body)
            except MediaError as exc:
                log.info("%s: unusable answer in the ACK: %s", self.request.call_id, exc)
                self._bye(Outcome.NOT_ACCEPTABLE)
                return
            if self.negotiated is not None and self.stream is not None:
                self.stream.update(negotiated)
            self.negotiated = negotiated
        if self.state is CallState.ANSWERED:
            self._set(CallState.PLAYING)
            self._play()

    def request_in_dialog(self, tx_id: TxId, request: Request) -> None:
        """A request inside the dialog (§12.2.2): BYE, re-INVITE, UPDATE, NOTIFY, OPTIONS..."""
        host = self.host
        endpoint = host.endpoint
        assert self.dialog is not None
        rejected = self.dialog.receive_request(request)
        if rejected is not None:
            endpoint.reply(tx_id, rejected, host.now())  # §12.2.2: out-of-order CSeq, 500
            return
        match request.method:
            case "BYE":
                endpoint.reply(tx_id, 200, host.now())  # §15.1.2
                outcome = Outcome.TRANSFERRED if self.refer_accepted else Outcome.CALLER_HUNG_UP
                self._finish(outcome)
            case "INVITE" | "UPDATE":
                self._refresh_received(tx_id, request)
            case "NOTIFY":
                self._notify(tx_id, request)
            case _:
                # OPTIONS (§11), INFO without a package (RFC 6086 §2, legacy use) and what the
                # endpoint let through: accepted, nothing to do.
                endpoint.reply(tx_id, 200, host.now())

    def response(self, tx_id: TxId, response: Response) -> None:
        """A response to our REFER, BYE or session refresh."""
        status = response.status
        if tx_id == self.refer_tx:
            if status < 200:
                return
            self.refer_tx = None
            if status >= 300:
                self._bye(Outcome.TRANSFER_REJECTED)  # RFC 3515 §2.4.2: REFER refused
            elif self.state is CallState.REFERRING:
                self.refer_accepted = True
                self._set(CallState.TRANSFERRING)
                self._transfer_timer = self.host.later(
                    TRANSFER_TIMEOUT, self._outside(self._transfer_timeout)
                )
        elif tx_id == self.refresh_tx and status >= 200:
            self.refresh_tx = None
            if self.refresh_invite is not None and 200 <= status < 300:
                self._ack_refresh()
            if status in (408, 481):
                # RFC 4028 §10: a refresh that gets 408 or 481 ends the session.
                self._bye(Outcome.SESSION_EXPIRED)
            elif 200 <= status < 300:
                self._arm_session()

    def timed_out(self, tx_id: TxId) -> None:
        """Timer B/F (no answer, treated as 408, §8.1.3.1) or Timer H (no ACK, §13.3.1.4)."""
        if tx_id == self.invite_tx:
            if self.state is CallState.ANSWERED:
                self._bye(Outcome.NO_ACK)  # §13.3.1.4: "the UAS core SHOULD ... send a BYE"
        elif tx_id == self.refer_tx:
            self.refer_tx = None
            self._bye(Outcome.TRANSFER_REJECTED)
        elif tx_id == self.refresh_tx:
            self.refresh_tx = None
            self._bye(Outcome.SESSION_EXPIRED)  # RFC 4028 §10: 408 ends the session

    def stop(self) -> None:
        """The server is stopping: end the call now (BYE, or the early final response)."""
        match self.state:
            case CallState.OFFERED:
                self._reject(503, Outcome.STOPPED)
            case CallState.EARLY:
                self._early_final(Outcome.STOPPED)
            case CallState.ENDED:
                pass
            case _:
                self._bye(Outcome.STOPPED)

    # --- prompt and transfer ------------------------------------------------------------------

    def _play(self) -> None:
        stream, negotiated = self.stream, self.negotiated
        assert stream is not None
        if self.prompt is None or negotiated is None:
            self._prompt_done()
            return
        try:
            stream.play(
                negotiated,
                self.prompt.frames(negotiated.codec),
                repeat=self.announcement.repeat,
                on_done=self._outside(self._prompt_done),
            )
        except MediaError as exc:  # a prompt the engine refuses: go on as if it had played
            log.warning("%s: prompt not played: %s", self.request.call_id, exc)
            self._prompt_done()

    def _prompt_done(self) -> None:
        if self.stream is not None:
            self.prompt_seconds = self.stream.seconds_played
        target = self.announcement.target
        if self.state is CallState.EARLY:
            self._early_final()
        elif self.state is CallState.PLAYING and target:
            self._refer(target)
        elif self.state is CallState.PLAYING:
            self._bye(Outcome.COMPLETED)

    def _early_final(self, outcome: Outcome | None = None) -> None:
        """The final response after early media: 302 to the target, else ``early_status``."""
        ann = self.announcement
        if ann.target:
            self.transfer_target = ann.target
            headers: tuple[tuple[str, str], ...] = (("Contact", _angle(ann.target)),)
            self._reject(302, outcome or Outcome.REDIRECTED, headers=headers)
            return
        status = ann.early_status
        # RFC 3326: the 404 of an unassigned number carries Q.850 cause 1.
        headers = (_UNALLOCATED,) if status == 404 else ()
        self._reject(status, outcome or Outcome.EARLY_MEDIA, headers=headers)

    def _refer(self, target: str) -> None:
        """RFC 3515 §2.4.1 blind transfer: Refer-To is the configured target, and only that."""
        assert self.dialog is not None
        self.transfer_target = target
        referred_by = f"<{self.dialog.local_uri.uri}>"
        headers = (("Refer-To", _angle(target)), ("Referred-By", referred_by))
        self.refer_tx = self._send("REFER", headers)
        self._set(CallState.REFERRING)

    def _notify(self, tx_id: TxId, request: Request) -> None:
        """RFC 3515 §2.4.4 / §2.4.5: the progress of the referred request, as sipfrag."""
        host = self.host
        endpoint = host.endpoint
        try:
            event = EventHeader.parse(request.headers.get("event") or "")
        except ParseError:
            event = None
        if event is None or event.package != "refer":
            endpoint.reply(tx_id, 489, host.now())  # RFC 6665 §8.2.1: not an event we know
            return
        if self.state not in (CallState.REFERRING, CallState.TRANSFERRING):
            endpoint.reply(tx_id, 481, host.now())  # RFC 6665 §4.1.3: no such subscription
            return
        try:
            status = sipfrag_status(request.body)
        except ParseError as exc:
            endpoint.reply(tx_id, 400, host.now(), reason=f"Bad Request ({exc})")
            return
        endpoint.reply(tx_id, 200, host.now())
        # A NOTIFY may overtake the 202 of its REFER (RFC 3515 §2.4.4): it accepts it too.
        self.refer_accepted = True
        try:
            state_text = request.headers.get("subscription-state") or "active"
            terminated = subscription_state(state_text) == "terminated"
        except ParseError:
            terminated = False
        if 200 <= status < 300:
            self._bye(Outcome.TRANSFERRED)
        elif status >= 300 or terminated:
            self._bye(Outcome.TRANSFER_FAILED)

    def _transfer_timeout(self) -> None:
        if self.state in (CallState.REFERRING, CallState.TRANSFERRING):
            self._bye(Outcome.TRANSFER_FAILED)

    def _no_media(self) -> None:
        log.info("%s: no RTP from the caller: hanging up", self.request.call_id)
        if self.state is CallState.EARLY:
            self._early_final(Outcome.NO_MEDIA)
        elif self.state is not CallState.ENDED:
            self._bye(Outcome.NO_MEDIA)

    # --- re-INVITE, UPDATE, session timers ----------------------------------------------------

    def _refresh_received(self, tx_id: TxId, request: Request) -> None:
        """A re-INVITE or UPDATE: new SDP (hold, unhold) and/or a session refresh."""
        host = self.host
        endpoint = host.endpoint
        now = host.now()
        if self.offer is not None or self.refresh_tx is not None:
            # RFC 3261 §14.2 / RFC 3311 §5.2: our own offer or refresh is in progress.
            endpoint.reply(tx_id, 491, now)
            return
        try:
            self.caller_timer = "timer" in option_tags(request, "supported")
            session = self._session_interval(request)
        except ParseError as exc:
            endpoint.reply(tx_id, 400, now, reason=f"Bad Request ({exc})")
            return
        if isinstance(session, int):
            endpoint.reply(tx_id, 422, now, headers=(("Min-SE", str(session)),))
            return
        body = request.body
        sdp = b""
        assert self.stream is not None
        if body:
            if request.content_type != _SDP:
                endpoint.reply(tx_id, 415, now, headers=(("Accept", _SDP),))
                return
            self.version += 1
            try:
                negotiated, sdp = offer_answer.answer(body, self._local(), host.rng,
                                                      previous=self.negotiated)  # fmt: skip
            except MediaError as exc:
                # RFC 3261 §14.2: the session goes on with its old parameters.
                self.version -= 1
                warning = f'{_WARN_MEDIA} vacant "{_quoted(str(exc))}"'
                endpoint.reply(tx_id, 488, now, headers=(("Warning", warning),))
                return
            self.negotiated = negotiated
            self.stream.update(negotiated)
        elif request.method == "INVITE":
            # RFC 3264 §5 via §14.2: a re-INVITE without SDP gets our offer; the ACK answers.
            self.version += 1
            self.offer = sdp = offer_answer.make_offer(self._local(), host.rng)
        if session is not None or self.session is not None:
            self.session = session
        headers: list[tuple[str, str]] = [("Contact", f"<{host.contact(self.source.transport)}>")]
        if sdp:
            headers.append(("Content-Type", _SDP))
        headers += self._session_headers()
        endpoint.reply(tx_id, 200, now, headers=headers, body=sdp)
        self._arm_session()

    def _arm_session(self) -> None:
        """RFC 4028 §10: refresh at half the interval when we refresh; BYE at the interval
        less min(32, interval/3) when the caller refreshes and has not."""
        timers = self._timers
        for handle in (timers.refresh, timers.expire):
            if handle is not None:
                handle.cancel()
        self._timers = _Timer()
        session = self.session
        if session is None or self.state is CallState.ENDED:
            return
        interval = session.interval
        if session.refresher == "uas":
            refresh = self.host.later(interval / 2, self._outside(self._send_refresh))
            self._timers = _Timer(refresh=refresh)
        else:
            deadline = interval - min(32.0, interval / 3)
            expire = self.host.later(deadline, self._outside(self._expired))
            self._timers = _Timer(expire=expire)

    def _expired(self) -> None:
        if self.state is not CallState.ENDED:
            self._bye(Outcome.SESSION_EXPIRED)

    def _send_refresh(self) -> None:
        """RFC 4028 §7.4 / §10: our refresh, UPDATE without a body when the caller allows
        UPDATE (RFC 3311), else a re-INVITE with our last SDP."""
        if self.state is CallState.ENDED or self.dialog is None or self.session is None:
            return
        if self.offer is not None or self.refresh_tx is not None:
            self._arm_session()  # an exchange is in progress: try at the next half interval
            return
        headers = [("Session-Expires", str(self.session)), ("Supported", "timer")]
        try:
            allow = option_tags(self.request, "allow")
        except ParseError:
            allow = frozenset()
        if "update" in allow:
            self.refresh_tx = self._send("UPDATE", tuple(headers))
            return
        self.version += 1
        sdp = self._current_sdp()
        headers.append(("Content-Type", _SDP))
        request = self.dialog.create_request("INVITE", headers=tuple(headers), body=sdp)
        self.refresh_invite = request
        self.refresh_tx = self.host.endpoint.send_request(request, self._destination(),
                                                          self.host.now())  # fmt: skip
        self.host.track(self.refresh_tx, self)

    def _current_sdp(self) -> bytes:
        """Our session as an offer for a refresh re-INVITE (RFC 3264 §8: same streams)."""
        return offer_answer.make_offer(self._local(), self.host.rng)

    def _ack_refresh(self) -> None:
        """§13.2.2.4: the ACK of the 2xx to our re-INVITE (its answer is not used: the
        refresh only keeps the session alive)."""
        invite = self.refresh_invite
        assert invite is not None
        self.refresh_invite = None
        fields = [(n, v) for n, v in invite.headers if n.lower() in _ACK_FIELDS]
        fields.append(("CSeq", f"{invite.cseq.number} ACK"))
        ack = Request("ACK", invite.uri, fields)
        self.host.endpoint.send_ack(ack, self._destination(), self.host.now())

    # --- helpers ------------------------------------------------------------------------------

    def _send(self, method: str, headers: tuple[tuple[str, str], ...] = ()) -> TxId:
        assert self.dialog is not None
        request = self.dialog.create_request(method, headers=headers)
        tx_id = self.host.endpoint.send_request(request, self._destination(), self.host.now())
        self.host.track(tx_id, self)
        return tx_id

    def _destination(self) -> Address:
        """Where requests in the dialog go: over TCP/TLS the connection the INVITE came on
        (the peer's listening port is not reachable through it); over UDP the next hop
        (§12.2.1.1, §8.1.2) when it is an IP literal, else the INVITE's source."""
        source = self.source
        if source.reliable or self.dialog is None:
            return source
        hop = self.dialog.next_hop
        if isinstance(hop, SipUri) and (is_ipv4(hop.host) or is_ipv6(hop.host.strip("[]"))):
            return Address(hop.host.strip("[]"), hop.port or _DEFAULT_PORT, "udp")
        return source

    def _bye(self, outcome: Outcome) -> None:
        """End the session with BYE (§15.1.1) and finish."""
        if self.state is CallState.ENDED:
            return
        if self.dialog is not None:
            try:
                self._send("BYE")
            except LocalProtocolError as exc:  # no local address for the transport
                log.warning("%s: cannot send BYE: %s", self.request.call_id, exc)
        self._finish(outcome)

    def _finish(self, outcome: Outcome) -> None:
        if self.state is CallState.ENDED:
            return
        if self.stream is not None:
            self.prompt_seconds = max(self.prompt_seconds, self.stream.seconds_played)
            self.stream.close()
            # The stream holds callbacks bound to this call: dropping it leaves no reference
            # cycle, so the call is freed by reference counting (the server keeps the cyclic
            # collector's oldest generation almost idle: see ``vacant serve``).
            self.stream = None
        for handle in (self._timers.refresh, self._timers.expire, self._transfer_timer):
            if handle is not None:
                handle.cancel()
        self._timers = _Timer()
        self._transfer_timer = None
        self.outcome = outcome
        self.ended = self.host.now()
        self._set(CallState.ENDED)
        self.host.finished(self)

    def _set(self, state: CallState) -> None:
        log.debug("%s: %s -> %s", self.request.call_id, self.state, state)
        self.state = state

    def _outside(self, action: Callable[[], None]) -> Callable[[], None]:
        """``action`` run from a timer or the media engine: the endpoint's output is then
        flushed (inside an endpoint event the runner does that)."""

        def run() -> None:
            action()
            self.host.wake()

        return run


#: RFC 3326: the Reason of a 404 for an unassigned number (ITU-T Q.850 cause 1).
_UNALLOCATED: Final = ("Reason", 'Q.850;cause=1;text="Unallocated (unassigned) number"')
#: §13.2.2.4 / §17.1.1.3: what the ACK of a 2xx copies from its INVITE.
_ACK_FIELDS: Final = frozenset({"route", "max-forwards", "from", "to", "call-id"})


def _angle(uri: str) -> str:
    return uri if uri.startswith("<") else f"<{uri}>"


def _quoted(text: str) -> str:
    """Text fit for a quoted-string (§25.1): no quotes, backslashes or controls, bounded."""
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:120]
