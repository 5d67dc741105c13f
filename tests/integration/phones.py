"""Real phones for the announcement tests: Debian's baresip and linphonec, and SIPp as the far end.

- :class:`Baresip` calls a URI with one codec (PCMU, PCMA or G.722) and records what it hears:
  its ``sndfile`` module writes ``dump-<time>-dec.wav`` per call (a transfer's second call makes a
  second file). It answers a REFER with 202, NOTIFY 100 then 200, and dials the Refer-To target.
- :class:`Linphone` drives ``linphonec`` over its standard input (its own process, SIP and RTP
  ports, HOME and recording file). On a REFER it puts the call on hold with a re-INVITE
  (``a=sendonly``) before it dials the target.
- :class:`SippUas` runs one SIPp user agent server in the background with a scenario from
  :func:`answer_scenario` (a transfer target) or :func:`announcer_scenario` (vacant's announcement
  flow played by SIPp, for the harness's own tests), and reports the messages it received.

Everything listens on 127.0.0.1 only, on free ports, in the test's directory; every process is
bounded in time and killed when its ``with`` block ends (peers.md has the facts these rely on).
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.integration.peers import LOCALHOST, free_port, require

#: Static payload types of the codecs the phones are set up with (RFC 3551 §6).
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8, "G722": 9}
#: baresip's names for them in an account's ``audio_codecs`` (a bare "G722" means G722/8000,
#: which baresip does not have: it then offers every codec it has).
_BARESIP_CODECS = {"PCMU": "PCMU/8000/1", "PCMA": "PCMA/8000/1", "G722": "G722/16000/1"}


#: Where the phones' and SIPp's RTP ports come from: below Linux's ephemeral range (32768 and
#: up), where a load test's thousands of sockets would take a block between our check and the
#: phone's bind, and below ``vacant serve``'s default 20000-29999.
MEDIA_PORTS = (10000, 19999)


def free_udp_ports(count: int, *, within: tuple[int, int] = MEDIA_PORTS) -> int:
    """The first (even, RTP's convention) of ``count`` consecutive free UDP ports on loopback,
    picked at random ``within`` an inclusive range."""
    rng = random.Random()
    for _ in range(200):
        first = rng.randrange(within[0], within[1] - count + 1)
        first += first % 2
        if _bindable([(socket.SOCK_DGRAM, port) for port in range(first, first + count)]):
            return first
    raise RuntimeError(f"no {count} consecutive free UDP ports in {within[0]}-{within[1]}")


def _bindable(wanted: list[tuple[int, int]]) -> bool:
    """Whether every (socket kind, port) can be bound on loopback now (they are let go after)."""
    held: list[socket.socket] = []
    try:
        for kind, port in wanted:
            sock = socket.socket(socket.AF_INET, kind)
            held.append(sock)
            sock.bind((LOCALHOST, port))
    except OSError:
        return False
    finally:
        for sock in held:
            sock.close()
    return True


#: Where baresip's SIP ports come from: below the ephemeral range too (an outgoing connection of
#: any test could take a port there between our check and baresip's bind), apart from the above.
SIP_PORTS = (5100, 9999)


def free_baresip_port() -> int:
    """A port for baresip's ``sip_listen``: free on loopback for UDP and TCP, and the next one
    for TCP (baresip listens for SIP over TLS on the port after it)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(SIP_PORTS[0], SIP_PORTS[1])
        tcp = socket.SOCK_STREAM
        if _bindable([(socket.SOCK_DGRAM, port), (tcp, port), (tcp, port + 1)]):
            return port
    raise RuntimeError(f"no free SIP port pair in {SIP_PORTS[0]}-{SIP_PORTS[1]}")


def _udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((LOCALHOST, port))
        except OSError:
            return True
    return False


#: The log of the party a phone talks to (``VacantServer.output``), shown when a wait fails.
FarEnd = Callable[[], str]


class _Output:
    """A child's merged stdout/stderr, read by a thread into memory and a log file."""

    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._log = log
        self._process = process
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with self._log.open("w") as log:
            for line in process.stdout:
                with self._lock:
                    self._lines.append(line)
                log.write(line)
                log.flush()

    def text(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for(
        self, pattern: str, timeout: float, *, what: str, far_end: FarEnd | None = None
    ) -> re.Match[str]:
        """The first match of ``pattern`` in the output; fails the test after ``timeout``, with
        the ends of the output and of the far end's log in the message."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = compiled.search(self.text())
            if found:
                return found
            if time.monotonic() > deadline:
                far = f"\n--- far end:\n{far_end()[-8000:]}" if far_end else ""
                raise AssertionError(
                    f"{what}: {pattern!r} not seen within {timeout:g} s; output (the last"
                    f" 12,000 characters):\n{self.text()[-12000:]}{far}"
                )
            time.sleep(0.05)

    def close(self, timeout: float = 5.0) -> None:
        """After the process ended: read the rest and close the pipe."""
        self._thread.join(timeout)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _stop(process: subprocess.Popen[str], *, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- baresip ---------------------------------------------------------------------------------


#: One message of baresip's SIP trace: "#", "UDP source -> destination", the message, reset.
_BARESIP_TRACE = re.compile(r"#\n(?:UDP|TCP) (\S+) -> (\S+)\n(.*?)\x1b\[;m", re.DOTALL)


def _baresip_modules() -> Path:
    """Where Debian puts baresip's modules (multiarch or not)."""
    for candidate in [
        Path("/usr/lib/baresip/modules"),
        *Path("/usr/lib").glob("*/baresip/modules"),
    ]:
        if (candidate / "g722.so").exists():
            return candidate
    pytest.fail("baresip's modules (g711.so, g722.so, sndfile.so) are not installed", pytrace=False)


class Baresip:
    """Debian's baresip as a caller with one audio codec, recording what it hears.

    ``with Baresip(tmp_path, codec="G722") as phone: phone.dial(uri, seconds=10)``, then
    ``phone.wait_for(...)`` on its output and ``phone.recordings()`` once the call is over.
    ``seconds`` bounds the run (baresip's ``-t``); the ``with`` block's end stops it for sure.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        codec: str = "PCMU",
        name: str = "baresip",
        far_end: FarEnd | None = None,
        srtp: bool = False,
    ) -> None:
        if codec not in PAYLOAD_TYPES:
            raise ValueError(f"codec {codec!r}: one of {sorted(PAYLOAD_TYPES)}")
        self.codec = codec
        self.far_end = far_end
        #: Offer RTP/SAVP with SDES keys only (baresip's srtp module, ``mediaenc=srtp-mand``).
        self.srtp = srtp
        self.directory = workdir / name
        self.sip_port = free_baresip_port()
        self._process: subprocess.Popen[str] | None = None
        self._output: _Output | None = None

    def __enter__(self) -> Self:
        require("baresip")
        self.directory.mkdir(parents=True, exist_ok=True)
        rtp = free_udp_ports(40)
        modules = _baresip_modules()
        (self.directory / "config").write_text(
            "poll_method epoll\n"
            f"sip_listen {LOCALHOST}:{self.sip_port}\n"
            f"net_interface {LOCALHOST}\n"
            "audio_player aubridge,bridge0\n"
            "audio_source aubridge,bridge0\n"
            "jitter_buffer_delay 1-4\n"
            f"rtp_ports {rtp}-{rtp + 39}\n"
            f"module_path {modules}\n"
            "module g711.so\n"
            "module g722.so\n"
            "module aubridge.so\n"
            "module sndfile.so\n"
            + ("module srtp.so\n" if self.srtp else "")
            + "module_app account.so\n"
            "module_app menu.so\n"
            f"snd_path {self.directory}\n"
        )
        (self.directory / "accounts").write_text(
            f"<sip:baresip@{LOCALHOST}>;regint=0;audio_codecs={_BARESIP_CODECS[self.codec]}"
            + (";mediaenc=srtp-mand" if self.srtp else "")
            + "\n"
        )
        (self.directory / "contacts").write_text("")
        return self

    def dial(self, uri: str, *, seconds: float) -> None:
        """Start baresip calling ``uri``; it hangs up and quits after ``seconds``."""
        assert self._process is None, "one dial per Baresip"
        argv = [
            require("baresip"), "-f", str(self.directory), "-s",  # -s: SIP trace on stdout
            "-e", f"/dial {uri}", "-t", str(max(1, round(seconds))),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd=self.directory,
        )
        self._output = _Output(self._process, self.directory / "baresip.log")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        assert self._output is not None, "dial first"
        return self._output.wait_for(pattern, timeout, what="baresip", far_end=self.far_end)

    def hang_up(self) -> None:
        """Stop baresip now (it hangs up its calls and closes its recordings on SIGTERM)."""
        if self._process is not None:
            _stop(self._process)

    @property
    def output(self) -> str:
        return "" if self._output is None else self._output.text()

    def sip_messages(self, peer: int | None = None) -> list[SipMessage]:
        """The SIP messages baresip sent and received so far (its ``-s`` trace), in order; only
        those exchanged with port ``peer`` of 127.0.0.1 when given."""
        mine = f"{LOCALHOST}:{self.sip_port}"
        found = []
        for source, destination, text in _BARESIP_TRACE.findall(self.output):
            other = destination if source == mine else source
            if mine in (source, destination) and peer in (None, int(other.rpartition(":")[2])):
                found.append(SipMessage(destination == mine, text.strip().replace("\r", "")))
        return found

    def received(self, method: str, peer: int | None = None) -> list[SipMessage]:
        """Requests of ``method`` baresip received (or responses starting with ``method``)."""
        return [
            m for m in self.sip_messages(peer) if m.received and m.first_line.startswith(method)
        ]

    def sent(self, method: str, peer: int | None = None) -> list[SipMessage]:
        """Requests of ``method`` baresip sent (or responses starting with ``method``)."""
        return [
            m for m in self.sip_messages(peer) if not m.received and m.first_line.startswith(method)
        ]

    def recordings(self) -> list[Path]:
        """What baresip heard, one WAV file per call, oldest first (named by the second the call
        started: a second call in the same second would share the name)."""
        return sorted(self.directory.glob("dump-*-dec.wav"))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            _stop(self._process)
        if self._output is not None:
            self._output.close()


# --- linphonec -------------------------------------------------------------------------------


class Linphone:
    """Debian's linphonec as a caller, driven over its standard input, recording what it hears.

    Each instance is its own ``linphonec`` process with its own rc file, SIP and RTP ports and
    HOME under ``workdir``: unlike ``linphonecsh``, whose daemon socket is one per user
    (``/tmp/linphonec-<uid>``), two test runs at once cannot take over each other's phone.
    The ``with`` block's end terminates all calls, quits and kills it if it lingers.
    """

    def __init__(
        self, workdir: Path, *, name: str = "linphone", far_end: FarEnd | None = None
    ) -> None:
        self.far_end = far_end
        self.directory = workdir / name
        self.sip_port = free_port()
        self.recording = self.directory / "heard.wav"
        self._process: subprocess.Popen[str] | None = None
        self._output: _Output | None = None

    def __enter__(self) -> Self:
        linphonec = require("linphonec")
        self.directory.mkdir(parents=True, exist_ok=True)
        rtp = free_udp_ports(8)
        rc = self.directory / "linphonerc"
        rc.write_text(
            "[sip]\n"
            f"sip_port={self.sip_port}\nsip_tcp_port=-1\nsip_tls_port=-1\nuse_ipv6=0\n"
            "[rtp]\n"
            f"bind_address={LOCALHOST}\naudio_rtp_port={rtp}\nvideo_rtp_port=-1\n"
            "[video]\nenabled=0\ncapture=0\ndisplay=0\n"
        )
        env = {**os.environ, "HOME": str(self.directory)}
        self._process = subprocess.Popen(
            [linphonec, "-c", str(rc), "-d", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd=self.directory,
            env=env,
        )
        self._output = _Output(self._process, self.directory / "linphonec.log")
        try:
            # linphonec 5.1 opens no SIP listening point without "ports sip" (peers.md).
            self.command(f"ports sip {self.sip_port}")
            self.wait_for(rf"Setting sip port to {self.sip_port}", 10)
            self.command("soundcard use files")
            self.wait_for("Using wav files instead of soundcard", 10)
            self.command(f"record {self.recording}")
        except BaseException:
            self._close()
            raise
        return self

    def command(self, line: str) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def dial(self, uri: str) -> None:
        self.command(f"call {uri}")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        assert self._output is not None
        return self._output.wait_for(pattern, timeout, what="linphonec", far_end=self.far_end)

    def terminate_all(self) -> None:
        self.command("terminate all")

    @property
    def output(self) -> str:
        return "" if self._output is None else self._output.text()

    def _close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.command("terminate all")
                self.command("quit")
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _stop(process, grace=3)
        if process.stdin is not None:
            process.stdin.close()
        if self._output is not None:
            self._output.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()


# --- SIPp user agent servers -----------------------------------------------------------------

_HEADER = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n'

_RESPONSE_200 = """\
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]{tag}
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{user}@[local_ip]:[local_port];transport=[transport]>
{body}"""

_NO_BODY = "Content-Length: 0\n\n"


def _sdp(codecs: Sequence[str], version: int = 1, direction: str = "sendrecv") -> str:
    payloads = " ".join(str(PAYLOAD_TYPES[c]) for c in codecs)
    rtpmaps = "".join(f"a=rtpmap:{PAYLOAD_TYPES[c]} {c}/8000\n" for c in codecs)
    return (
        "Content-Type: application/sdp\nContent-Length: [len]\n\n"
        f"v=0\no=sipp 1 {version} IN IP4 [media_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\n"
        f"m=audio [media_port] RTP/AVP {payloads}\n{rtpmaps}a={direction}\n"
    )


def _send(message: str, *, retrans: bool = False, extra: str = "") -> str:
    attrs = ' retrans="500"' if retrans else ""
    return f"  <send{attrs}{extra}><![CDATA[\n{message}\n]]></send>\n"


def _ok(*, user: str, tag: bool = False, body: str = _NO_BODY, extra: str = "") -> str:
    return _send(
        _RESPONSE_200.format(
            tag=";tag=[pid]SIPpTag01[call_number]" if tag else "", user=user, body=body
        ),
        extra=extra,
    )


def answer_scenario(codecs: Sequence[str] = ("PCMU", "PCMA", "G722")) -> str:
    """A transfer target: answers one INVITE with 200 + SDP (``codecs``), takes the ACK, then
    answers the caller's BYE. The INVITE must carry an SDP offer."""
    return (
        _HEADER.format(name="target")
        + '  <recv request="INVITE">\n'
        + '    <action><ereg regexp="m=audio" search_in="body" check_it="true"'
        + ' assign_to="offer"/></action>\n  </recv>\n'
        + _ok(user="target", tag=True, body=_sdp(codecs))
        + '  <recv request="ACK"/>\n'
        + '  <recv request="BYE"/>\n'
        + _ok(user="target")
        + '  <Reference variables="offer"/>\n'
        + "</scenario>\n"
    )


def announcer_scenario(
    *, codec: str, audio: Path, play_seconds: float, refer_to: str | None, notifies: int = 4
) -> str:
    """vacant's announcement flow played by SIPp, to prove the phones without vacant: answer
    with ``codec``, stream ``audio`` (raw codec bytes) once, then after ``play_seconds`` either
    BYE or a REFER to ``refer_to`` (RFC 3515 §2.4.1): 202, then NOTIFYs (each answered 200)
    until one carries ``SIP/2.0 200``, answering a hold re-INVITE when one comes; then BYE."""
    payload = PAYLOAD_TYPES[codec]
    head = (
        _HEADER.format(name="announcer")
        + '  <recv request="INVITE" rrs="true">\n    <action>\n'
        + '      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote"/>\n'
        + '      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="local"/>\n'
        + "    </action>\n  </recv>\n"
        + _ok(user="vacant", tag=True, body=_sdp([codec]))
        + '  <recv request="ACK"/>\n'
        + f'  <nop><action><exec rtp_stream="{audio},1,{payload}"/></action></nop>\n'
        + f'  <pause milliseconds="{round(play_seconds * 1000)}"/>\n'
    )
    bye = (
        '  <label id="done"/>\n'
        + _send(_in_dialog("BYE", 3), retrans=True)
        + '  <recv response="200"/>\n'
    )
    if refer_to is None:
        return head + bye + "</scenario>\n"
    refer = _in_dialog(
        "REFER", 2, f"Refer-To: <{refer_to}>\nReferred-By: <sip:vacant@[local_ip]:[local_port]>\n"
    )
    body = _send(refer, retrans=True, extra=' next="w0"')
    # The re-INVITE answers sit before the waits, out of the fall-through path.
    for n in range(notifies):
        body += (
            f'  <label id="r{n}"/>\n'
            + _ok(user="vacant", body=_sdp([codec], version=2, direction="recvonly"))
            + f'  <recv request="ACK" next="w{n}"/>\n'
        )
    # Unrolled waits: SIPp aborts on a message that arrives while it pauses or jumps, so each
    # NOTIFY that is not the final one falls through into the next wait.
    for n in range(notifies):
        body += (
            f'  <label id="w{n}"/>\n'
            + f'  <recv response="202" optional="true" next="w{n}"/>\n'
            + f'  <recv request="INVITE" optional="true" next="r{n}"/>\n'
            + '  <recv request="NOTIFY">\n'
            + '    <action><ereg regexp="SIP/2\\.0 200" search_in="body" check_it="false"'
            + f' assign_to="final{n}"/></action>\n  </recv>\n'
            + _ok(user="vacant", extra=f' next="done" test="final{n}"')
        )
    body += '  <recv request="NOTIFY" timeout="1000"/>\n'  # too many NOTIFYs: fails
    uses = "".join(f'  <Reference variables="final{n}"/>\n' for n in range(notifies))
    return head + body + bye + uses + "</scenario>\n"


def _in_dialog(method: str, cseq: int, headers: str = "") -> str:
    """A request inside the dialog the INVITE made (the UAS side: From is the INVITE's To)."""
    return (
        f"{method} [next_url] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "From: [$local];tag=[pid]SIPpTag01[call_number]\n"
        "To: [$remote]\n"
        "Call-ID: [call_id]\n"
        f"CSeq: {cseq} {method}\n"
        "Contact: <sip:vacant@[local_ip]:[local_port]>\n"
        "Max-Forwards: 70\n"
        f"{headers}"
        "Content-Length: 0\n"
    )


@dataclass(frozen=True)
class SipMessage:
    """A message SIPp logged, with the direction it travelled."""

    received: bool
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    def header(self, name: str) -> str | None:
        found = re.search(rf"^{re.escape(name)}:\s*(.*)$", self.text, re.MULTILINE | re.IGNORECASE)
        return found.group(1).strip() if found else None


class SippUas:
    """One SIPp user agent server in the background, answering one call with ``scenario``.

    ``uri(user)`` is where to reach it; ``wait()`` returns its exit code (0: the scenario
    completed); ``messages()`` lists what it sent and received. Bounded by ``timeout``."""

    def __init__(
        self, workdir: Path, scenario: str, *, name: str = "uas", timeout: float = 30.0
    ) -> None:
        self.directory = workdir / name
        self.scenario = scenario
        self.timeout = timeout
        self.sip_port = free_port()
        self.media_port = 0
        self._process: subprocess.Popen[str] | None = None
        self._output: _Output | None = None

    def __enter__(self) -> Self:
        sipp = require("sipp")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "scenario.xml"
        path.write_text(self.scenario)
        # SIPp binds the RTP port, +1 for RTCP and +2 for video: a free block keeps it off
        # other SIPp runs' default 6000.
        self.media_port = free_udp_ports(4)
        argv = [
            sipp, "-sf", str(path), "-i", LOCALHOST, "-mi", LOCALHOST,
            "-p", str(self.sip_port), "-mp", str(self.media_port), "-m", "1", "-nostdin",
            "-timeout", f"{round(self.timeout)}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.directory / "messages.log"),
            "-trace_err", "-error_file", str(self.directory / "errors.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd=self.directory,
        )
        self._output = _Output(self._process, self.directory / "sipp.log")
        deadline = time.monotonic() + 10
        while not _udp_port_taken(self.sip_port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._close()
                raise AssertionError(f"SIPp did not start:\n{self.output}")
            time.sleep(0.02)
        return self

    def uri(self, user: str) -> str:
        return f"sip:{user}@{LOCALHOST}:{self.sip_port}"

    def wait(self, timeout: float | None = None) -> int:
        """SIPp's exit code once the scenario ended (0: completed); stopped after ``timeout``."""
        assert self._process is not None
        try:
            return self._process.wait(self.timeout + 5 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            _stop(self._process)
            raise AssertionError(f"SIPp still running:\n{self.output}\n{self.errors()}") from None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def output(self) -> str:
        return "" if self._output is None else self._output.text()

    def errors(self) -> str:
        path = self.directory / "errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def messages(self) -> list[SipMessage]:
        """The SIP messages SIPp sent and received so far, in order."""
        path = self.directory / "messages.log"
        if not path.exists():
            return []
        found = []
        for chunk in re.split(r"^-{20,}[^\n]*\n", path.read_text(errors="replace"), flags=re.M):
            head, _, text = chunk.partition("\n")
            if "message received" in head or "message sent" in head:
                found.append(SipMessage("received" in head, text.strip().replace("\r", "")))
        return found

    def received(self, method: str) -> list[SipMessage]:
        """Requests of ``method`` (or responses whose first line starts with ``method``)."""
        return [m for m in self.messages() if m.received and m.first_line.startswith(method)]

    def _close(self) -> None:
        if self._process is not None:
            _stop(self._process, grace=3)
        if self._output is not None:
            self._output.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()
