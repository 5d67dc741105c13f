"""Announcement calls against a real ``vacant serve`` (real media engine) driven by Debian's SIPp.

The prompt is a generated one-second two-tone WAV imported with ``vacant announcement
import-file``. SIPp's SDP names the port of a UDP socket the test opens, so the test counts the
RTP packets vacant sends there and checks their headers (RFC 3550 §5.1: version 2, the
negotiated payload type, one SSRC, sequence numbers +1 and timestamps +160 per 20 ms frame).

Ranges (one server for the module):

- +1425555 1xxx: the prompt, then REFER to ``sip:operator@example.com``
- +1425555 2xxx: the prompt, then BYE
- +1425555 3xxx: the prompt as early media (183), then 404
- +1425555 4xxx: the prompt as early media, then 302 to the target
- +1425555 5xxx: no prompt, a target: REFER right after the ACK
- +1425555 6xxx: no prompt, a target, ``--redirect-without-answer``: 302
"""

from __future__ import annotations

import math
import struct
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.peers import (
    ACK,
    CANCEL,
    RtpSink,
    VacantServer,
    cli,
    header_checks,
    rtp_sink,
    run_sipp,
    send,
    sipp_reply,
    sipp_request,
    start_server,
)
from vacant.store.calls import CallRecord, list_calls
from vacant.store.engine import make_engine, session_scope

POOL = "pool1.example.com"
TARGET = "sip:operator@example.com"
PROMPT_SECONDS = 1.0
FRAMES = 50

_SDP = """\
v=0
o=sipp 1 {version} IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio {port} RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
{direction}
"""


def _recv(what: str, checks: dict[str, str] | None = None, extra: str = "") -> str:
    action, _ = header_checks(checks or {})
    return f"  <recv {what}{extra}>\n{action}  </recv>\n"


def _scenario(*steps: str, checks: int = 0) -> str:
    uses = "".join(f'  <Reference variables="dummy{i}"/>\n' for i in range(checks))
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="announcement">\n'
        + "".join(steps)
        + uses
        + "</scenario>\n"
    )


def _sdp(port: int, *, version: int = 1, direction: str = "a=sendrecv") -> str:
    return _SDP.format(port=port, version=version, direction=direction)


def _invite(port: int | None) -> str:
    if port is None:
        return send(sipp_request("INVITE", 1))
    return send(sipp_request("INVITE", 1, body=_sdp(port), ctype="application/sdp"))


def _answered(port: int | None, *, ack_body: str = "") -> list[str]:
    """INVITE, 200 OK (with our SDP in it), ACK: the prompt starts."""
    ack = sipp_request("ACK", 1, body=ack_body, ctype="application/sdp")
    return [
        _invite(port),
        '  <recv response="100" optional="true"/>\n',
        _recv('response="200"', extra=' rrs="true"'),
        send(ack, retrans=False),
    ]


# --- the server --------------------------------------------------------------------------------


def _write_prompt(path: Path) -> None:
    rate = 16000
    tones = (440, 1000)
    samples = [
        int(sum(6000 * math.sin(2 * math.pi * f * n / rate) for f in tones))
        for n in range(int(rate * PROMPT_SECONDS))
    ]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


@dataclass
class Served:
    server: VacantServer
    db_url: str
    workdir: Path

    def records(self) -> list[CallRecord]:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as s:
                return list_calls(s, limit=1000)
        finally:
            engine.dispose()

    def record(self, number: str, timeout: float = 5.0) -> CallRecord:
        """The call record of the call to ``number`` (written in batches: wait for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.records() if r.dialled.startswith(f"sip:{number}@")]
            if found:
                return found[0]
            time.sleep(0.1)
        pytest.fail(f"no call record for {number}:\n{self.server.output()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("announce")
    db_url = f"sqlite:///{workdir / 'vacant.db'}"
    cli(db_url, "db", "upgrade")
    cli(db_url, "pool", "add", POOL)
    prompt = workdir / "prompt.wav"
    _write_prompt(prompt)
    cli(db_url, "announcement", "import-file", "--pool", POOL, str(prompt))
    prompted = ("--audio-file", "prompt.wav")
    announcements = {
        "Transfer": (*prompted, "--target", TARGET),
        "Hangup": prompted,
        "Early": (*prompted, "--early-media"),
        "EarlyTarget": (*prompted, "--early-media", "--target", TARGET),
        "TransferNow": ("--target", TARGET),
        "Redirect": ("--target", TARGET, "--redirect-without-answer"),
    }
    for name, extra in announcements.items():
        cli(db_url, "announcement", "add", name, "--pool", POOL, *extra)
    for block, name in enumerate(announcements, start=1):
        cli(db_url, "range", "add", name, "--start", f"+1425555{block}000",
             "--end", f"+1425555{block}999", "--announcement", name, "--pool", POOL)  # fmt: skip
    server = start_server(db_url, workdir, "--rtp-ports", "31000-31199", "--no-media-timeout", "30")
    yield Served(server, db_url, workdir)
    assert server.stop() == 0, server.output()


@pytest.fixture
def sink() -> Iterator[RtpSink]:
    with rtp_sink() as found:
        yield found


def _run(served: Served, scenario: str, number: str) -> None:
    result = run_sipp(scenario, served.server, served.workdir, number=number, timeout=20)
    assert result.ok, result.output + served.server.output()[-4000:]


# --- the scenarios -----------------------------------------------------------------------------


def test_prompt_then_refer_202_notify_200_then_bye_rfc3515(served: Served, sink: RtpSink) -> None:
    notify = sipp_request(
        "NOTIFY",
        2,
        body="SIP/2.0 200 OK\n",
        ctype="message/sipfrag",
        extra="Event: refer\nSubscription-State: terminated;reason=noresource\n",
    )
    scenario = _scenario(
        *_answered(sink.port),
        _recv('request="REFER"', {"Refer-To:": f"<{TARGET}>", "Referred-By:": "<sip:"}),
        send(sipp_reply("202 Accepted"), retrans=False),
        send(notify),
        _recv('response="200"'),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
        checks=2,
    )
    _run(served, scenario, "+14255551001")
    sink.check(0, FRAMES - 2)  # PCMU: the first of the offer
    record = served.record("+14255551001")
    assert (record.status, record.outcome, record.transfer_target) == (200, "transferred", TARGET)
    assert record.prompt_seconds == pytest.approx(PROMPT_SECONDS, abs=0.1)


def test_refer_rejected_603_then_bye(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        *_answered(sink.port),
        _recv('request="REFER"'),
        send(sipp_reply("603 Decline"), retrans=False),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
    )
    _run(served, scenario, "+14255551002")
    assert served.record("+14255551002").outcome == "transfer-rejected"


def test_caller_bye_during_the_prompt_stops_playout(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        *_answered(sink.port),
        '  <pause milliseconds="300"/>\n',
        send(sipp_request("BYE", 2)),
        _recv('response="200"'),
    )
    _run(served, scenario, "+14255552001")
    time.sleep(0.3)
    count = len(sink.packets)
    time.sleep(0.3)
    assert len(sink.packets) == count, "RTP went on after the BYE"
    assert count < FRAMES - 10
    record = served.record("+14255552001")
    assert record.outcome == "caller-hung-up"
    assert record.prompt_seconds is not None
    assert record.prompt_seconds < 0.8


def test_late_offer_answer_in_ack_then_prompt_then_bye_rfc3264_s5(
    served: Served, sink: RtpSink
) -> None:
    answer = _SDP.format(port=sink.port, version=1, direction="a=sendrecv").replace(
        "RTP/AVP 0 8 101", "RTP/AVP 8 101"
    )
    scenario = _scenario(
        *_answered(None, ack_body=answer),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
    )
    _run(served, scenario, "+14255552002")
    sink.check(8, FRAMES - 2)  # PCMA, as the ACK's answer chose
    assert served.record("+14255552002").outcome == "completed"


def test_reinvite_hold_answered_recvonly_then_bye_rfc3261_s14_2(
    served: Served, sink: RtpSink
) -> None:
    hold = sipp_request(
        "INVITE",
        2,
        body=_sdp(sink.port, version=2, direction="a=sendonly"),
        ctype="application/sdp",
    )
    ack = sipp_request("ACK", 2)
    scenario = _scenario(
        *_answered(sink.port),
        '  <pause milliseconds="200"/>\n',
        send(hold),
        '  <recv response="100" optional="true"/>\n',
        '  <recv response="200">\n    <action>\n'
        '      <ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="dummy0"/>\n'
        "    </action>\n  </recv>\n",
        send(ack, retrans=False),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
        checks=1,
    )
    _run(served, scenario, "+14255552003")
    assert 5 <= len(sink.packets) < FRAMES - 5, "RTP went on while on hold"
    assert served.record("+14255552003").outcome == "completed"


def test_early_media_183_with_sdp_then_404(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        _invite(sink.port),
        '  <recv response="100" optional="true"/>\n',
        '  <recv response="183">\n    <action>\n'
        '      <ereg regexp="m=audio [0-9]+ RTP/AVP 0" search_in="body" check_it="true"'
        ' assign_to="dummy0"/>\n    </action>\n  </recv>\n',
        _recv('response="404"', {"Reason:": "Q.850;cause=1"}, extra="").replace("dummy0", "dummy1"),
        send(ACK, retrans=False),
        checks=2,
    )
    _run(served, scenario, "+14255553001")
    sink.check(0, FRAMES - 2)
    record = served.record("+14255553001")
    assert (record.status, record.outcome) == (404, "early-media")


def test_early_media_then_302_to_the_target(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        _invite(sink.port),
        '  <recv response="100" optional="true"/>\n',
        '  <recv response="183"/>\n',
        _recv('response="302"', {"Contact:": f"<{TARGET}>"}),
        send(ACK, retrans=False),
        checks=1,
    )
    _run(served, scenario, "+14255554001")
    assert served.record("+14255554001").outcome == "redirected"


def test_cancel_before_the_final_response_early_media(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        _invite(sink.port),
        '  <recv response="100" optional="true"/>\n',
        '  <recv response="183"/>\n',
        '  <pause milliseconds="300"/>\n',
        send(CANCEL),
        '  <recv response="200"/>\n',
        '  <recv response="487"/>\n',
        send(ACK, retrans=False),
    )
    _run(served, scenario, "+14255553002")
    time.sleep(0.3)
    count = len(sink.packets)
    assert count < FRAMES - 10
    record = served.record("+14255553002")
    assert (record.status, record.outcome) == (487, "cancelled")


def test_stopping_the_server_ends_announcement_calls_with_bye(
    served: Served, sink: RtpSink
) -> None:
    server = start_server(served.db_url, served.workdir, "--rtp-ports", "31200-31299")
    scenario = _scenario(
        *_answered(sink.port),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
    )
    results: list[bool] = []

    def call() -> None:
        result = run_sipp(scenario, server, served.workdir, number="+14255552004", timeout=20)
        results.append(result.ok)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 10
    while len(sink.packets) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.stop() == 0, server.output()
    thread.join(30)
    assert results == [True], server.output()
    record = served.record("+14255552004")
    assert record.outcome == "stopped"
    assert record.prompt_seconds is not None
    assert record.prompt_seconds < PROMPT_SECONDS


def test_no_prompt_refers_right_after_the_ack(served: Served, sink: RtpSink) -> None:
    scenario = _scenario(
        *_answered(sink.port),
        _recv('request="REFER"', {"Refer-To:": f"<{TARGET}>"}),
        send(sipp_reply("202 Accepted"), retrans=False),
        send(
            sipp_request(
                "NOTIFY",
                2,
                body="SIP/2.0 200 OK\n",
                ctype="message/sipfrag",
                extra="Event: refer\nSubscription-State: terminated;reason=noresource\n",
            )
        ),
        _recv('response="200"'),
        _recv('request="BYE"'),
        send(sipp_reply("200 OK"), retrans=False),
        checks=1,
    )
    _run(served, scenario, "+14255555001")
    record = served.record("+14255555001")
    assert (record.outcome, record.prompt_seconds) == ("transferred", 0.0)


def test_no_prompt_redirect_without_answer_is_302(served: Served) -> None:
    scenario = _scenario(
        _invite(None),
        '  <recv response="100" optional="true"/>\n',
        _recv('response="302"', {"Contact:": f"<{TARGET}>"}),
        send(ACK, retrans=False),
        checks=1,
    )
    _run(served, scenario, "+14255556001")
    record = served.record("+14255556001")
    assert (record.status, record.outcome, record.transfer_target) == (302, "redirected", TARGET)


def test_session_interval_below_min_se_is_422_rfc4028_s6(served: Served, sink: RtpSink) -> None:
    invite = sipp_request(
        "INVITE",
        1,
        body=_sdp(sink.port),
        ctype="application/sdp",
        extra="Supported: timer\nSession-Expires: 30\n",
    )
    scenario = _scenario(
        send(invite),
        '  <recv response="100" optional="true"/>\n',
        _recv('response="422"', {"Min-SE:": "^ *90"}),
        send(ACK, retrans=False),
        checks=1,
    )
    _run(served, scenario, "+14255552005")
    assert served.record("+14255552005").outcome == "interval-too-small"
