"""Debian's Kamailio, with ``deploy/kamailio/kamailio.cfg``, in front of two pools (issue 5).

Two ``vacant serve`` instances of pool A (automatic failover to B, down after 2 s) and one of its
backup pool B, on loopback ports of their own and one database of the private PostgreSQL
cluster; Kamailio's dispatcher has A's instances in set 1 and B's in set 2. SIPp calls a number
of A's range through Kamailio at a steady rate; each call is the whole announcement: 200 OK,
the prompt as RTP to a socket this test counts, REFER to A's announcement's target (checked on
every call: the right announcement), NOTIFY, BYE, all of it across Kamailio (Record-Route).

Under load both instances of A are killed with SIGKILL: the calls in flight on them are lost, and
calls made while Kamailio and vacant detect it (OPTIONS probes, A's heartbeats) may fail; all are
counted and bounded. Then B answers A's calls with A's announcement (its call records say pool
B). A's instances restart on their old addresses: Kamailio's probes find them, and A's calls
return to A (call records of pool A again). SIPp logs each call's start and success with a
wall-clock time, so the failures are placed on the same time line as the kill and the restart.
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.peers import (
    LOCALHOST,
    RtpSink,
    VacantServer,
    cli,
    free_port,
    header_checks,
    require,
    rtp_sink,
    send,
    sipp_reply,
    sipp_request,
    start_server,
)
from vacant.store.calls import CallRecord, list_calls
from vacant.store.engine import make_engine, session_scope

A, B = "a.example.com", "b.example.com"
NUMBER = "+14255550001"
TARGET_A = "sip:moved-a@example.com"
TARGET_B = "sip:closed-b@example.com"
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "kamailio.cfg"
#: Automatic failover of pool A, shortened for the test (docs/pools.md).
DOWN_AFTER, FAILBACK_AFTER, HEARTBEAT = 2.0, 2.0, 0.5
PROMPT_SECONDS = 0.5
#: The load: calls per second, and when (seconds after the first call) A dies and comes back.
RATE, CALLS = 10, 260
KILL_AT, RESTART_AT = 5.0, 12.0
#: A call waits this long for each message (a call on a killed instance fails after it).
RECV_TIMEOUT = 6.0
#: Calls allowed to fail: those in flight on the killed instances (RATE calls/s x a call's
#: ~0.6 s), and those made while the death is detected (Kamailio's probes and A's down_after).
MAX_FAILED = 2 * RATE


def _write_prompt(path: Path) -> None:
    rate = 8000
    samples = [
        int(8000 * math.sin(2 * math.pi * 440 * n / rate))
        for n in range(int(rate * PROMPT_SECONDS))
    ]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def _two_pools(db: str, workdir: Path) -> None:
    """Pool A (automatic failover to B) answers +1425555 0xxx with a prompt, then REFER to
    TARGET_A; pool B has an announcement of its own (another target) for another range."""
    cli(db, "pool", "add", B)
    cli(db, "pool", "add", A, "--backup", B, "--auto-failover",
         "--down-after", str(DOWN_AFTER), "--failback-after", str(FAILBACK_AFTER))  # fmt: skip
    prompt = workdir / "moved.wav"
    _write_prompt(prompt)
    cli(db, "announcement", "import-file", "--pool", A, str(prompt))
    cli(db, "announcement", "add", "Moved", "--pool", A, "--audio-file", "moved.wav",
         "--target", TARGET_A)  # fmt: skip
    cli(db, "announcement", "add", "Closed", "--pool", B, "--target", TARGET_B)
    cli(db, "range", "add", "RA", "--start", "+14255550000", "--end", "+14255550999",
         "--announcement", "Moved", "--pool", A)  # fmt: skip
    cli(db, "range", "add", "RB", "--start", "+14255560000", "--end", "+14255560999",
         "--announcement", "Closed", "--pool", B)  # fmt: skip


def _records(db: str) -> list[CallRecord]:
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            return list_calls(s, limit=1000)
    finally:
        engine.dispose()


def _epoch(when: datetime) -> float:
    return when.timestamp()


# --- Kamailio ----------------------------------------------------------------------------------


@dataclass
class Kamailio:
    """Debian's ``kamailio`` in the foreground with the deployment's configuration."""

    process: subprocess.Popen[str]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _options(port: int) -> bool:
    """Kamailio answers an OPTIONS to itself (no user part) with 200."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        sock.settimeout(0.2)
        local = sock.getsockname()[1]
        sock.sendto(
            (
                f"OPTIONS sip:{LOCALHOST}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {LOCALHOST}:{local};branch=z9hG4bK{time.monotonic_ns()}\r\n"
                f"From: <sip:test@{LOCALHOST}>;tag=1\r\nTo: <sip:{LOCALHOST}:{port}>\r\n"
                f"Call-ID: {time.monotonic_ns()}@test\r\nCSeq: 1 OPTIONS\r\n"
                "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            (LOCALHOST, port),
        )
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 200")
        except TimeoutError:
            return False


def start_kamailio(workdir: Path, pools: dict[int, list[VacantServer]]) -> Kamailio:
    """Kamailio on a free loopback port, dispatcher set N = the SIP addresses of pools[N]."""
    # Debian installs it in /usr/sbin, which a user's PATH may lack.
    kamailio = shutil.which("kamailio", path="/usr/sbin") or require("kamailio")
    listed = workdir / "dispatcher.list"
    listed.write_text(
        "".join(
            f"{setid} sip:{LOCALHOST}:{server.sip_port} 0 0\n"
            for setid, servers in pools.items()
            for server in servers
        )
    )
    port = free_port()
    log = workdir / "kamailio.log"
    argv = [
        kamailio, "-DD", "-E", "-x", "tlsf", "-m", "64", "-M", "8",
        "-l", f"udp:{LOCALHOST}:{port}", "-f", str(CONFIG),
        "-A", f'DISPATCHER_LIST="{listed}"', "-A", "DS_PING_INTERVAL=1",
    ]  # fmt: skip
    handle = log.open("w")
    process = subprocess.Popen(
        argv, stdout=handle, stderr=subprocess.STDOUT, text=True, cwd=workdir
    )
    handle.close()
    found = Kamailio(process, port, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _options(port):
            return found
        if process.poll() is not None:
            pytest.fail(f"kamailio exited {process.returncode}:\n{found.output()}")
    found.stop()
    pytest.fail(f"kamailio did not answer OPTIONS:\n{found.output()}")


# --- the caller: SIPp, through Kamailio --------------------------------------------------------

_SDP = """\
v=0
o=sipp 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio {port} RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
"""


def _log(what: str, *, in_recv: bool = False) -> str:
    """A line in SIPp's log: ``what``, the call number, the time (epoch seconds last); in a
    ``nop`` of its own, or in the action of a ``recv`` (a ``nop`` between a send and its
    responses, or after the last recv, makes a message arriving then unexpected)."""
    action = f'    <action><log message="{what} [call_number] [timestamp]"/></action>\n'
    return action if in_recv else f"  <nop>\n{action}  </nop>\n"


def call_scenario(rtp_port: int) -> str:
    """The whole announcement call of RFC 3515 §2.4.4 through the proxy: INVITE, 200 (its
    Record-Route makes the route set, RFC 3261 §12.1.2), ACK, the prompt, REFER to pool A's
    announcement's target (checked: the right announcement), 202, NOTIFY, BYE from vacant."""
    action, uses = header_checks({"Refer-To:": f"<{TARGET_A}>"})
    notify = sipp_request(
        "NOTIFY",
        2,
        body="SIP/2.0 200 OK\n",
        ctype="message/sipfrag",
        extra="Event: refer\nSubscription-State: terminated;reason=noresource\n",
    )
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="failover">\n'
        + _log("start")
        + send(sipp_request("INVITE", 1, body=_SDP.format(port=rtp_port), ctype="application/sdp"))
        + '  <recv response="100" optional="true"/>\n'
        + '  <recv response="180" optional="true"/>\n'
        + '  <recv response="200" rrs="true"/>\n'
        + send(sipp_request("ACK", 1), retrans=False)
        + f'  <recv request="REFER">\n{action}  </recv>\n'
        + send(sipp_reply("202 Accepted"), retrans=False)
        + send(notify)
        # vacant hangs up when the NOTIFY arrives: its BYE may overtake the 200 in the proxy.
        + '  <recv response="200" optional="true"/>\n'
        + '  <recv request="BYE">\n'
        + _log("ok", in_recv=True)
        + "  </recv>\n"
        + send(sipp_reply("200 OK"), retrans=False)
        + uses
        + "</scenario>\n"
    )


@dataclass(frozen=True)
class CallLog:
    """When each call started and whether it completed, by SIPp's wall clock (epoch seconds)."""

    started: dict[int, float]
    completed: dict[int, float]

    @classmethod
    def read(cls, path: Path) -> CallLog:
        started: dict[int, float] = {}
        completed: dict[int, float] = {}
        for line in path.read_text().splitlines():
            # "start 12 2026-11-26\t21:23:38.851893\t1795728218.851893"
            found = re.fullmatch(r"(start|ok) (\d+) \S+\t\S+\t(\d+\.\d+)", line.strip())
            assert found, line
            kind, number, when = found.group(1), int(found.group(2)), float(found.group(3))
            (started if kind == "start" else completed)[number] = when
        return cls(started, completed)

    @property
    def failed(self) -> list[float]:
        """The start times of the calls that did not complete."""
        return sorted(t for n, t in self.started.items() if n not in self.completed)


# --- RTP: every answered call sends its prompt here ---------------------------------------------


@pytest.fixture
def rtp() -> Iterator[RtpSink]:
    with rtp_sink() as found:
        yield found


# --- the test ----------------------------------------------------------------------------------


@dataclass
class Instances:
    """The vacant instances of the test; every one started is stopped at the end."""

    db: str
    workdir: Path
    started: list[VacantServer] = field(default_factory=list)

    def _serve(self, pool: str, rtp_ports: str, ports: tuple[int, int] | None) -> VacantServer:
        sip_port, http_port = ports if ports is not None else (None, None)
        return start_server(self.db, self.workdir, "--pool", pool, "--heartbeat-interval",
                            str(HEARTBEAT), "--rtp-ports", rtp_ports, sip_port=sip_port,
                            http_port=http_port)  # fmt: skip

    def start(self, *wanted: tuple[str, str, tuple[int, int] | None]) -> list[VacantServer]:
        """Start instances side by side, each ``(pool, RTP ports, (SIP, HTTP port) or None)``:
        one takes seconds to start on a loaded machine."""
        with ThreadPoolExecutor(len(wanted)) as workers:
            futures = [workers.submit(self._serve, *each) for each in wanted]
        self.started += [f.result() for f in futures if f.exception() is None]
        for future in futures:
            future.result()  # raises what failed
        return [f.result() for f in futures]

    @staticmethod
    def kill(servers: list[VacantServer]) -> None:
        for server in servers:
            server.process.send_signal(signal.SIGKILL)
        for server in servers:
            server.process.wait(5)

    def stop(self) -> None:
        for server in self.started:
            if server.process.poll() is None:
                server.stop()


def _sipp(workdir: Path, port: int, scenario: str) -> subprocess.Popen[str]:
    path = workdir / "failover.xml"
    path.write_text(scenario)
    argv = [
        require("sipp"), f"{LOCALHOST}:{port}", "-sf", str(path), "-s", NUMBER,
        "-i", LOCALHOST, "-mi", LOCALHOST, "-p", "0", "-t", "u1",
        "-m", str(CALLS), "-r", str(RATE), "-nostdin",
        "-recv_timeout", f"{int(RECV_TIMEOUT * 1000)}", "-timeout", "60s",
        "-trace_logs", "-log_file", str(workdir / "calls.log"),
        "-trace_err", "-error_file", str(workdir / "errors.log"),
    ]  # fmt: skip
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=workdir
    )


@pytest.mark.postgres
def test_kamailio_sends_a_dead_pools_calls_to_its_backup_and_back_when_it_returns(
    pg_url: str, tmp_path: Path, rtp: RtpSink
) -> None:
    """Every call crosses Kamailio both ways: vacant copies the INVITE's Record-Route into its
    200 (RFC 3261 §12.1.1), so the caller's ACK and NOTIFY and vacant's REFER and BYE follow
    the route set through the proxy; without it no call of this test completes."""
    _two_pools(pg_url, tmp_path)
    servers = Instances(pg_url, tmp_path)
    kamailio: Kamailio | None = None
    sipp: subprocess.Popen[str] | None = None
    try:
        *a, b = servers.start((A, "31000-31199", None), (A, "32000-32199", None),
                              (B, "33000-33199", None))  # fmt: skip
        kamailio = start_kamailio(tmp_path, {1: a, 2: [b]})
        sipp = _sipp(tmp_path, kamailio.port, call_scenario(rtp.port))
        time.sleep(KILL_AT)
        killed = time.time()
        servers.kill(a)
        time.sleep(RESTART_AT - KILL_AT)
        restarted = time.time()
        a = servers.start(*((A, f"3{n}000-3{n}199", (old.sip_port, old.http_port))
                            for n, old in enumerate(a, start=1)))  # fmt: skip
        listening = time.time()
        _, errors = sipp.communicate(timeout=CALLS / RATE + 3 * RECV_TIMEOUT + 30)
        time.sleep(1.0)  # call records are written in batches
        records = sorted(_records(pg_url), key=lambda r: r.started)
        outputs = [server.output() for server in a]
    finally:
        if sipp is not None and sipp.poll() is None:
            sipp.kill()
            sipp.communicate()
        if kamailio is not None:
            kamailio.stop()
        servers.stop()
    calls = CallLog.read(tmp_path / "calls.log")
    detail = f"{errors}\n{kamailio.output()[-3000:] if kamailio else ''}"
    failed = calls.failed
    answered = [r for r in records if r.status == 200]
    by_b = [r for r in answered if r.pool == B]
    back = [r for r in answered if r.pool == A and _epoch(r.started) > restarted]
    slowest = max(calls.completed[n] - t for n, t in calls.started.items() if n in calls.completed)
    first_by_b = min((_epoch(r.started) for r in by_b), default=math.inf)
    first_back = min((_epoch(r.started) for r in back), default=math.inf)
    print(
        f"\nkamailio failover: {len(calls.started)} calls at {RATE}/s, {len(calls.completed)}"
        f" completed, {len(failed)} failed (started {[round(t - killed, 2) for t in failed]} s"
        f" from the kill); pool B answered {len(by_b)}, the first {first_by_b - killed:.2f} s"
        f" after the kill; pool A answered again {first_back - restarted:.2f} s after its restart"
        f" began ({len(back)} calls; both instances listening after {listening - restarted:.2f}"
        f" s); slowest call {slowest:.2f} s; {len(rtp.ssrcs)} RTP streams"
    )
    assert len(calls.started) == CALLS, detail
    # Until the kill every call completed, on pool A.
    assert all(r.pool == A for r in answered if _epoch(r.started) < killed)
    # The losses: bounded, and only around the kill: the calls in flight on the killed instances,
    # and those made while Kamailio and pool B find out.
    assert len(failed) <= MAX_FAILED, detail
    assert all(killed - PROMPT_SECONDS - 1.0 < t < killed + DOWN_AFTER + 2.0 for t in failed), (
        detail
    )
    # Pool B answered pool A's calls with A's announcement (SIPp checked every Refer-To), within
    # A's detection time + 2 s, and then every call until A came back.
    assert first_by_b - killed <= DOWN_AFTER + 2.0
    assert len(by_b) >= RATE * (RESTART_AT - KILL_AT - DOWN_AFTER - 2.0)
    assert all(r.range_name == "RA" and r.outcome == "transferred" for r in by_b)
    assert all(r.transfer_target == TARGET_A for r in answered)
    # A came back: Kamailio's probes found both instances again and the calls returned to them;
    # the last second of calls is all pool A's.
    last = max(calls.started.values())
    assert last - listening >= 3.0, "the restart took too long to see the calls come back"
    assert first_back - listening <= 3.0
    assert all(" -> 200 transferred" in output for output in outputs)
    assert all(r.pool == A for r in answered if _epoch(r.started) > last - 1.0)
    # Every completed call played its prompt: one RTP stream (SSRC) each.
    assert len(rtp.ssrcs) >= len(calls.completed)
