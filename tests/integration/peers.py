"""Real peers for the integration tests: a ``vacant serve`` subprocess and Debian's SIPp.

Both talk on 127.0.0.1 only, and every SIPp run is bounded in calls and time. A missing binary
fails the test (DESIGN.md §9: no skip hides a missing component; ``make test`` installs them).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from vacant.cli.main import main

LOCALHOST = "127.0.0.1"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on loopback (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind((LOCALHOST, 0))
            port: int = first.getsockname()[1]
            other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind((LOCALHOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def cli(db: str, *args: str) -> None:
    """Run a ``vacant --db DB ...`` command in this process; it must succeed."""
    assert main(["--db", db, *args]) == 0, args


def require(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary} is not installed (make test installs it)", pytrace=False)
    return found


@dataclass
class VacantServer:
    """A running ``vacant serve``; ``stop()`` sends SIGTERM and returns the exit code."""

    process: subprocess.Popen[str]
    sip_port: int
    http_port: int
    log: Path
    lines: list[str] = field(default_factory=list)
    #: The database it serves (tests read /metrics with a token they create there).
    db_url: str = ""

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    db_url: str,
    workdir: Path,
    *extra: str,
    ready: str = "listening",
    sip_port: int | None = None,
    http_port: int | None = None,
) -> VacantServer:
    """Start ``vacant serve`` on loopback ports (free ones unless given: a restarted instance
    keeps its addresses) and wait until it says it is listening."""
    sip_port = free_port() if sip_port is None else sip_port
    http_port = free_port(socket.SOCK_STREAM) if http_port is None else http_port
    log = workdir / f"vacant-{sip_port}-{time.monotonic_ns()}.log"
    argv = [
        sys.executable,
        "-m",
        "vacant",
        "--db",
        db_url,
        "-v",
        "serve",
        "--sip",
        f"udp:{LOCALHOST}:{sip_port}",
        "--sip",
        f"tcp:{LOCALHOST}:{sip_port}",
        "--http",
        f"{LOCALHOST}:{http_port}",
        *extra,
    ]
    handle = log.open("w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        argv, stdout=handle, stderr=subprocess.STDOUT, text=True, cwd=workdir, env=env
    )
    handle.close()
    server = VacantServer(process, sip_port, http_port, log, db_url=db_url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready in server.output():
            return server
        if process.poll() is not None:
            pytest.fail(f"vacant serve exited {process.returncode}:\n{server.output()}")
        time.sleep(0.05)
    server.stop()
    pytest.fail(f"vacant serve did not become ready:\n{server.output()}")


# --- SIPp ------------------------------------------------------------------------------------

INVITE = """\
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
"""

# RFC 3261 §17.1.1.3: the ACK for a non-2xx final response has the INVITE's branch.
ACK = """\
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

"""

# §9.1: a CANCEL has its INVITE's Request-URI, Call-ID, To, From, CSeq number and top Via.
CANCEL = """\
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0

"""


def send(message: str, retrans: bool = True, start_rtd: bool = False) -> str:
    """A SIPp <send> step; ``retrans`` (ms) for requests over UDP, off for ACKs and responses."""
    attrs = ' retrans="500"' if retrans else ""
    attrs += ' start_rtd="true"' if start_rtd else ""
    return f"  <send{attrs}><![CDATA[\n{message}\n]]></send>\n"


def _checks(checks: dict[str, str]) -> tuple[str, str]:
    """SIPp actions that fail the call unless each header matches, and the variable uses that
    SIPp requires (an unused variable is a fatal scenario error)."""
    if not checks:
        return "", ""
    body = "".join(
        f'      <ereg regexp="{escape(regexp)}" search_in="hdr" header="{escape(header)}"'
        f' check_it="true" assign_to="dummy{i}"/>\n'
        for i, (header, regexp) in enumerate(checks.items())
    )
    uses = "".join(f'  <Reference variables="dummy{i}"/>\n' for i in range(len(checks)))
    return f"    <action>\n{body}    </action>\n", uses


#: The header checks for scenarios built in other modules (the announcement scenarios).
header_checks = _checks


def invite_scenario(status: int, checks: dict[str, str] | None = None) -> str:
    """INVITE, optional 100, the final ``status`` (headers checked by regexp), then ACK."""
    action, uses = _checks(checks or {})
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="invite">\n'
        + send(INVITE, start_rtd=True)
        + '  <recv response="100" optional="true"/>\n'
        + f'  <recv response="{status}" rtd="true">\n{action}  </recv>\n'
        + send(ACK, retrans=False)
        + uses
        + "</scenario>\n"
    )


def options_scenario(checks: dict[str, str]) -> str:
    message = """\
OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Accept: application/sdp
Content-Length: 0
"""
    action, uses = _checks(checks)
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="options">\n'
        + send(message)
        + f'  <recv response="200">\n{action}  </recv>\n'
        + uses
        + "</scenario>\n"
    )


@dataclass(frozen=True)
class SippResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_sipp(
    scenario: str,
    server: VacantServer,
    workdir: Path,
    *,
    number: str,
    transport: str = "u1",
    calls: int = 1,
    rate: int = 10,
    timeout: float = 30.0,
    host: str = LOCALHOST,
    local: str = LOCALHOST,
    extra: tuple[str, ...] = (),
) -> SippResult:
    """Run SIPp with ``scenario`` against the server; bounded in calls and time."""
    sipp = require("sipp")
    path = workdir / f"scenario-{time.monotonic_ns()}.xml"
    path.write_text(scenario)
    argv = [
        sipp, f"{host}:{server.sip_port}", "-sf", str(path), "-s", number,
        "-i", local, "-mi", local, "-p", "0", "-t", transport,
        "-m", str(calls), "-r", str(rate), "-nostdin", "-timeout", f"{int(timeout)}s",
        "-timeout_error", "-recv_timeout", "5000", *extra,
    ]  # fmt: skip
    result = subprocess.run(
        argv, capture_output=True, text=True, cwd=workdir, timeout=timeout + 15, check=False
    )
    return SippResult(result.returncode, result.stdout + result.stderr)


# --- SIPp as a user agent in a dialog ----------------------------------------------------------

_DIALOG_HEAD = """\
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>{to_tag}
Call-ID: [call_id]
CSeq: {cseq} {method}
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
"""


def sipp_request(
    method: str, cseq: int, *, body: str = "", ctype: str = "", extra: str = ""
) -> str:
    """A request from SIPp; in the dialog (``[next_url]``, the route set, the peer's tag) unless
    it is the first INVITE."""
    initial = method == "INVITE" and cseq == 1
    uri = "sip:[service]@[remote_ip]:[remote_port]" if initial else "[next_url]"
    to_tag = "" if initial else "[peer_tag_param]"
    head = _DIALOG_HEAD.format(to_tag=to_tag, cseq=cseq, method=method)
    routes = "" if initial else "[routes]\n"
    typed = f"Content-Type: {ctype}\n" if body else ""
    return f"{method} {uri} SIP/2.0\n{head}{routes}{extra}{typed}Content-Length: [len]\n\n{body}"


def sipp_reply(status: str) -> str:
    """SIPp's response to the request it received last (REFER, NOTIFY, BYE, ...)."""
    return f"""\
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
"""


# --- RTP: a receiver for what vacant plays ----------------------------------------------------


@dataclass
class RtpSink:
    """A UDP socket counting the RTP packets sent to it, checking their headers."""

    sock: socket.socket
    packets: list[tuple[int, int, int, int, bool]] = field(default_factory=list)
    others: int = 0

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    def run(self, stop: threading.Event) -> None:
        self.sock.settimeout(0.05)
        while not stop.is_set():
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                self.others += 1
                continue
            marker_pt, seq, timestamp, ssrc = struct.unpack("!xBHII", data[:12])
            self.packets.append((marker_pt & 0x7F, seq, timestamp, ssrc, bool(marker_pt & 0x80)))

    @property
    def ssrcs(self) -> set[int]:
        """One per stream (call)."""
        return {p[3] for p in self.packets}

    def check(self, payload_type: int, at_least: int) -> None:
        """RFC 3550 §5.1: version 2, the negotiated PT, one SSRC, seq + 1, timestamp + 160."""
        packets = self.packets
        assert len(packets) >= at_least, f"{len(packets)} RTP packets"
        assert {p[0] for p in packets} == {payload_type}
        assert len({p[3] for p in packets}) == 1
        assert packets[0][4], "RFC 3551 §4.1: the first packet of a talkspurt has the marker"
        for (_, seq, ts, _, _), (_, seq2, ts2, _, _) in itertools.pairwise(packets):
            assert seq2 == (seq + 1) & 0xFFFF
            assert ts2 == (ts + 160) & 0xFFFFFFFF


@contextmanager
def rtp_sink() -> Iterator[RtpSink]:
    """An RtpSink on a free loopback port, read by a thread until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOCALHOST, 0))
    found = RtpSink(sock)
    stop = threading.Event()
    thread = threading.Thread(target=found.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(2)
        sock.close()
