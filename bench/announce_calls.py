"""Announcement calls end to end: N SIP calls to a real ``vacant serve``, their RTP timed elsewhere.

Usage (from the repository root)::

    .venv/bin/python bench/announce_calls.py                 # 2,000 calls at 200/s, 30 s held
    .venv/bin/python bench/announce_calls.py --realtime      # the server SCHED_FIFO 10
    .venv/bin/python bench/announce_calls.py --nice -10      # the server nice -10
    .venv/bin/python bench/announce_calls.py --realtime --sipp-realtime   # SIPp SCHED_FIFO 5 too
    .venv/bin/python bench/announce_calls.py --calls 200 --rate 100 --window 5
    .venv/bin/python bench/announce_calls.py --realtime --phases 20   # experiment: 1 ms ticks
    .venv/bin/python bench/announce_calls.py --realtime --switch-interval 5   # experiment: GIL
    .venv/bin/python bench/announce_calls.py --profile DIR   # the server under cProfile
    .venv/bin/python bench/announce_calls.py --keep DIR      # work in DIR, keep logs and database

``bench/media.py`` measures the RTP engine alone (streams opened in-process); this one measures
what a caller gets through real SIP calls. The server is ``python -m vacant serve`` (SQLite in a
temporary directory, UDP on 127.0.0.1, no ``-v``) with one pool, one announcement playing a
generated ``--prompt-seconds`` multi-tone prompt (imported with ``vacant announcement
import-file``: decoded, stored, encoded to PCMU frames once) and a range of 10,000 numbers
pointing at it. ``--no-media-timeout 3600``: the callers send no RTP.

The callers are one SIPp (Debian 3.6.1, UDP, one socket): ``--calls`` calls placed at ``--rate``
calls/s (``-r RATE -rp 1000 -m N -l N``), each an INVITE whose SDP (PCMU, PCMA,
telephone-event) points its media at the receiver's port, then the 200 OK, the ACK, a pause of
``ramp + 3 s + --window`` (so that every call is up during the window), a BYE and its 200 OK.
INVITE → 200 OK: SIPp takes ``<gettimeofday>`` (microseconds) just after it has sent the INVITE
(an action of the ``<send>``: in a ``<nop>`` before it, the time would include one more pass of
SIPp's loop) and just after it has read the 200 OK and logs both per call: p50/p99/max over every
call. It includes SIPp's own scheduling (SIPp sends the calls of one of its ticks back to back),
so it is an upper bound on the server's time. So it is also taken on the wire: an ``AF_PACKET``
socket on ``lo`` in this process, with a BPF filter on the server's SIP port (the RTP never
reaches it) and kernel timestamps, gives the server's ``sendto`` of the 200 OK minus SIPp's
``sendto`` of the INVITE: the server's own time, queueing included (needs root). Failed calls,
retransmissions and unexpected messages come from SIPp's ``-trace_stat`` counters at the end.

The receiver is ``bench/media_receiver.c`` (the one of ``bench/media.py``, compiled with ``gcc
-O2``), another process reading every call's RTP on one UDP port with kernel receive timestamps
(``SO_TIMESTAMPNS``: on loopback, the moment the server's ``sendto`` ran) and telling the streams
apart by SSRC. It counts only the intervals of packets received from ``ramp + 2 s`` after the
first packet (every call answered) until ``--window`` seconds later (before the first BYE): all
``--calls`` streams playing at once. Figures: the intervals of all streams together (p50, p99,
p99.9, max, intervals over 40 ms), and per stream (median and worst of the streams' p50 and p99,
streams whose p99 is outside 18-22 ms, worst maximum, streams with a gap over 40 ms).

Server CPU: user+system time of the server process, all threads (``/proc/PID/stat``), over the
window: "CPU seconds per 1,000 streams per second"; and over the ramp (calls set up while the
first streams play). The machine's load average is printed: the 2 cores are shared with other
jobs. ``--realtime`` starts the server under ``chrt -f 10`` (SCHED_FIFO 10, every thread);
``--nice N`` under ``nice -n N``, and sets its session's autogroup nice (the server runs in a
session of its own: ``/proc/PID/autogroup``), since under ``sched_autogroup`` plain nice only
ranks the processes of one session.

After SIPp, the server is stopped (SIGTERM: it writes the last call records), and its call
records are counted: every call must have one, ``caller-hung-up``. Targets: INVITE → 200 OK p99
≤ 10 ms; every stream's p99 interval within 20 ± 2 ms and no interval over 40 ms. The exit status
is 1 when the run failed (a process failed, calls failed, no RTP), 0 otherwise; a missed target
is reported, not an error. Each child runs in a session of its own and is stopped by its id.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from bench.media import (
    GAP_MS,
    P99_TARGET,
    add_receiver_poll,
    compile_receiver,
    free_udp_port,
    receiver_options,
)

from vacant.cli.main import main as vacant

HOST = "127.0.0.1"
POOL = "bench.example.com"
NUMBERS = ("+14255550000", "+14255559999")
SETUP_TARGET_MS = 10.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")

# --- the callers' messages (SIPp keywords in brackets) ---------------------------------------

_HEAD = """\
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>{to_tag}
Call-ID: [call_id]
CSeq: {cseq} {method}
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
"""

_SDP = """\
v=0
o=sipp 1 1 IN IP4 {host}
s=-
c=IN IP4 {host}
t=0 0
m=audio {port} RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
"""


def _request(method: str, cseq: int, body: str = "") -> str:
    """The initial INVITE, or a request in its dialog (``[next_url]``, the server's tag)."""
    initial = method == "INVITE"
    uri = "sip:[service]@[remote_ip]:[remote_port]" if initial else "[next_url]"
    head = _HEAD.format(to_tag="" if initial else "[peer_tag_param]", cseq=cseq, method=method)
    routes = "" if initial else "[routes]\n"
    typed = "Content-Type: application/sdp\n" if body else ""
    return f"{method} {uri} SIP/2.0\n{head}{routes}{typed}Content-Length: [len]\n\n{body}"


def scenario(media_port: int, hold_ms: int) -> str:
    """INVITE (media to ``media_port``), 200 OK, ACK, hold, BYE, 200 OK; logs the INVITE's send
    time and the 200 OK's receive time in microseconds."""
    invite = _request("INVITE", 1, _SDP.format(host=HOST, port=media_port))
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="announce">
  <send retrans="500"><![CDATA[
{invite}
]]><action><gettimeofday assign_to="s0,u0"/></action></send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true"><action><gettimeofday assign_to="s1,u1"/></action></recv>
  <send><![CDATA[
{_request("ACK", 1)}
]]></send>
  <nop><action><log message="[$s0] [$u0] [$s1] [$u1]"/></action></nop>
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500"><![CDATA[
{_request("BYE", 2)}
]]></send>
  <recv response="200"/>
</scenario>
"""


# --- set-up ----------------------------------------------------------------------------------


def write_prompt(path: Path, seconds: float) -> None:
    """A 16 kHz mono 16-bit WAV: three tones, changing every second (a prompt is never silent)."""
    rate = 16_000
    t = np.arange(int(rate * seconds)) / rate
    step = np.floor(t).astype(np.int64) % 4
    tone = 300.0 + 150.0 * step
    samples = 5_000 * (np.sin(2 * np.pi * tone * t) + 0.5 * np.sin(2 * np.pi * 1_700.0 * t))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


def configure(db_url: str, workdir: Path, prompt_seconds: float) -> None:
    prompt = workdir / "prompt.wav"
    write_prompt(prompt, prompt_seconds)
    for argv in (
        ["db", "upgrade"],
        ["pool", "add", POOL],
        ["announcement", "import-file", "--pool", POOL, str(prompt)],
        ["announcement", "add", "Bench", "--pool", POOL, "--audio-file", "prompt.wav"],
        ["range", "add", "Bench", "--start", NUMBERS[0], "--end", NUMBERS[1],
         "--announcement", "Bench", "--pool", POOL],
    ):  # fmt: skip
        code = vacant(["--db", db_url, *argv])
        if code != 0:
            sys.exit(f"vacant {' '.join(argv)}: exit {code}")


def free_port() -> int:
    """A port free for UDP and TCP (``vacant serve`` listens on the SIP port with both)."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


# --- the server's own INVITE -> 200 OK, from the wire ----------------------------------------

SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35  # and SCM_TIMESTAMPNS (Linux)
SO_RCVBUFFORCE = 33


def _udp_port_filter(port: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF over an IPv4 packet: UDP from or to ``port``, else dropped."""
    return [
        (0x30, 0, 0, 9),  # ldb [9]: the protocol
        (0x15, 0, 6, 17),  # jeq UDP, else drop
        (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf): the IP header's length
        (0x48, 0, 0, 0),  # ldh [x+0]: the source port
        (0x15, 2, 0, port),  # jeq port: accept
        (0x48, 0, 0, 2),  # ldh [x+2]: the destination port
        (0x15, 0, 1, port),  # jeq port: accept, else drop
        (0x06, 0, 0, 0xFFFF),  # accept
        (0x06, 0, 0, 0),  # drop
    ]


class WireTimes:
    """The SIP packets to and from the server's port on ``lo``, with the kernel's timestamps
    (an ``AF_PACKET`` socket, a BPF filter: the RTP never reaches this process). On loopback a
    packet's timestamp is taken when its sender's ``sendto`` ran, so INVITE (SIPp's send) to
    200 OK (the server's send) is the server's time alone, SIPp's scheduling left out."""

    def __init__(self, port: int) -> None:
        self.invites: dict[bytes, int] = {}
        self.answers: dict[bytes, int] = {}
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        program = _udp_port_filter(port)
        code = b"".join(struct.pack("HBBI", *op) for op in program)
        self._code = ctypes.create_string_buffer(code)
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._code))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self.sock.recvmsg(4096, 256)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING:  # loopback shows each packet twice
                continue
            stamp = 0
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    stamp = seconds * 1_000_000_000 + nanoseconds
            payload = data[(data[0] & 0x0F) * 4 + 8 :]
            self._note(payload, stamp)

    def _note(self, payload: bytes, stamp: int) -> None:
        head, _, rest = payload.partition(b"\r\n")
        call_id = cseq = b""
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered in (b"call-id", b"i"):
                call_id = value.strip()
            elif lowered == b"cseq":
                cseq = value.strip()
            elif not line:
                break
        if head.startswith(b"INVITE "):
            self.invites.setdefault(call_id, stamp)
        elif head.startswith(b"SIP/2.0 200") and cseq.endswith(b"INVITE"):
            self.answers.setdefault(call_id, stamp)

    def close(self) -> list[float]:
        """INVITE -> 200 OK per call, in milliseconds, sorted."""
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        return sorted(
            (self.answers[c] - t) / 1e6 for c, t in self.invites.items() if c in self.answers
        )


# --- processes -------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def process_memory(pid: int) -> tuple[int, int]:
    """Resident memory in MiB and open file descriptors of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss // 1024, len(os.listdir(f"/proc/{pid}/fd"))


@contextlib.contextmanager
def stopped_at_exit() -> Iterator[list[subprocess.Popen[Any]]]:
    """Every child started; each in a session of its own, stopped by its id at the end."""
    children: list[subprocess.Popen[Any]] = []
    try:
        yield children
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def start_server(
    args: argparse.Namespace, db_url: str, workdir: Path, sip_port: int
) -> subprocess.Popen[str]:
    prefix: list[str] = []
    if args.realtime:
        prefix = ["chrt", "-f", "10"]
    elif args.nice:
        prefix = ["nice", "-n", str(args.nice)]
    python = [sys.executable]
    if args.profile:
        python += ["-m", "cProfile", "-o", str(Path(args.profile).resolve() / "serve.prof")]
    patches: list[str] = []
    if args.phases != 4:
        # The experiment: the media clock split into --phases ticks per 20 ms instead of 4.
        patches += [
            "import vacant.media.engine as e",
            f"e.PHASES = {args.phases}",
            f"e.TICK = e.PTIME / {args.phases}",
        ]
    if args.switch_interval is not None:
        # The experiment: the GIL switch interval `vacant serve` sets (sys.setswitchinterval).
        patches += [
            "import vacant.cli.commands.serve as s",
            f"s.SWITCH_INTERVAL = {args.switch_interval / 1000!r}",
        ]
    if patches:
        wrapper = workdir / "serve_patched.py"
        run_vacant = "runpy.run_module('vacant', run_name='__main__', alter_sys=True)"
        wrapper.write_text("\n".join(["import runpy", *patches, run_vacant, ""]))
        python += [str(wrapper)]
    else:
        python += ["-m", "vacant"]
    argv = [*prefix, *python, "--db", db_url, "serve", "--pool", POOL,
            "--sip", f"udp:{HOST}:{sip_port}", "--http", f"{HOST}:{free_port()}",
            "--rtp-ports", args.ports, "--no-media-timeout", "3600",
            "--max-calls", str(args.calls + 1_000)]  # fmt: skip
    log = (workdir / "serve.log").open("w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=workdir, env=env,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    if args.nice and not args.realtime:
        autogroup = Path(f"/proc/{server.pid}/autogroup")
        if autogroup.exists():
            autogroup.write_text(str(args.nice))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "listening" in (workdir / "serve.log").read_text(errors="replace"):
            return server
        if server.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit(f"vacant serve did not start:\n{(workdir / 'serve.log').read_text()}")


def stop_server(server: subprocess.Popen[str], args: argparse.Namespace) -> int:
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(30 if not args.profile else 120)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()


# --- figures ---------------------------------------------------------------------------------


def sipp_stats(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    header = lines[0].rstrip(";").split(";")
    return dict(zip(header, lines[-1].rstrip(";").split(";"), strict=False))


def setup_times(path: Path) -> list[float]:
    """INVITE → 200 OK per call, in milliseconds, sorted."""
    out = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()  # "s0 u0 s1 u1", printed by SIPp as floats
            if len(parts) == 4:
                with contextlib.suppress(ValueError):
                    s0, u0, s1, u1 = (float(p) for p in parts)
                    out.append((s1 - s0) * 1e3 + (u1 - u0) / 1e3)
    out.sort()
    return out


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else math.nan


def call_records(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT outcome, count(*) FROM calls GROUP BY outcome").fetchall()
    return {str(outcome): int(count) for outcome, count in rows}


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> int:
    db = workdir / "vacant.db"
    db_url = f"sqlite:///{db}"
    configure(db_url, workdir, args.prompt_seconds)
    binary = compile_receiver(workdir)
    ramp = args.calls / args.rate
    warmup = ramp + 2.0
    hold = ramp + 3.0 + args.window
    media_port = free_udp_port()
    sip_port = free_port()
    (workdir / "announce.xml").write_text(scenario(media_port, int(hold * 1000)))
    stat_file, setup_file = workdir / "sipp-stats.csv", workdir / "sipp-setup.log"
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp is not on PATH (Debian sip-tester)")
    with stopped_at_exit() as children:
        receiver = subprocess.Popen(
            [str(binary), str(media_port), str(warmup + args.window), str(warmup),
             *receiver_options(args.receiver_poll)],
            stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        children.append(receiver)
        assert receiver.stdout is not None
        if not receiver.stdout.readline().strip():
            print("receiver did not start", file=sys.stderr)
            return 1
        server = start_server(args, db_url, workdir, sip_port)
        children.append(server)
        prefix = ["chrt", "-f", "5"] if args.sipp_realtime else []
        argv = [*prefix, sipp, f"{HOST}:{sip_port}", "-sf", str(workdir / "announce.xml"),
                "-s", NUMBERS[0][:-4] + "1000", "-i", HOST, "-mi", HOST, "-p", str(free_port()),
                "-t", "u1", "-r", str(args.rate), "-rp", "1000", "-m", str(args.calls),
                "-l", str(args.calls), "-nostdin", "-timeout", f"{int(hold + ramp + 60)}s",
                "-timeout_error", "-recv_timeout", "10000", "-trace_stat", "-stf",
                str(stat_file), "-fd", "1", "-trace_logs",
                "-log_file", str(setup_file)]  # fmt: skip
        wire = WireTimes(sip_port) if args.wire else None
        sipp_out = (workdir / "sipp.out").open("w")
        started = time.monotonic()
        cpu_start = process_cpu(server.pid)
        caller = subprocess.Popen(
            argv, cwd=workdir, stdout=sipp_out, stderr=subprocess.STDOUT, start_new_session=True
        )
        children.append(caller)
        sipp_out.close()
        time.sleep(max(0.0, started + warmup - time.monotonic()))
        cpu_window_start, window_start = process_cpu(server.pid), time.monotonic()
        time.sleep(max(0.0, started + warmup + args.window - time.monotonic()))
        cpu_window_end, window_end = process_cpu(server.pid), time.monotonic()
        rss, files = process_memory(server.pid)
        load = os.getloadavg()
        out, _ = receiver.communicate(timeout=60)
        sipp_code = caller.wait(hold + ramp + 90)
        wire_times = wire.close() if wire is not None else []
        cpu_end = process_cpu(server.pid)
        server_code = stop_server(server, args)
    got: dict[str, Any] = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    stats = sipp_stats(stat_file) if stat_file.exists() else {}

    def count(name: str) -> int:
        return int(float(stats.get(name, "0") or 0))

    times = setup_times(setup_file)
    records = call_records(db)
    window = window_end - window_start
    cpu_window = cpu_window_end - cpu_window_start
    cpu_ramp = cpu_window_start - cpu_start
    scheduling = (
        "server SCHED_FIFO 10"
        if args.realtime
        else f"server nice {args.nice}"
        if args.nice
        else "server at normal priority"
    )
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {scheduling},"
        f" load average {load[0]:.2f} at the end of the window"
        f"{', SIPp SCHED_FIFO 5' if args.sipp_realtime else ''}"
        f"{f', media clock in {args.phases} phases' if args.phases != 4 else ''}"
        f"{f', switch interval {args.switch_interval} ms' if args.switch_interval else ''}"
        f"{f', receiver polling every {args.receiver_poll} us' if args.receiver_poll else ''}"
        f"{', server under cProfile' if args.profile else ''}"
    )
    print(
        f"calls:  {count('OutgoingCall(C)')} placed at {args.rate}/s, {count('SuccessfulCall(C)')}"
        f" succeeded, {count('FailedCall(C)')} failed, {count('Retransmissions(C)')}"
        f" retransmissions, {count('DeadCallMsgs(C)') + count('OutOfCallMsgs(C)')} unexpected"
        f" messages; SIPp exit {sipp_code}; held {hold:.0f} s each"
    )
    print(
        f"setup:  INVITE -> 200 OK over {len(times)} calls: p50 {percentile(times, 0.5):.2f} ms,"
        f" p99 {percentile(times, 0.99):.2f} ms, max {times[-1] if times else math.nan:.2f} ms;"
        f" {sum(1 for t in times if t > SETUP_TARGET_MS)} over {SETUP_TARGET_MS:g} ms (SIPp)"
    )
    if not args.wire:
        print("        on the wire: not measured (--no-wire)")
    else:
        print(
            f"        on the wire over {len(wire_times)} calls:"
            f" p50 {percentile(wire_times, 0.5):.2f} ms,"
            f" p99 {percentile(wire_times, 0.99):.2f} ms,"
            f" max {wire_times[-1] if wire_times else math.nan:.2f} ms;"
            f" {sum(1 for t in wire_times if t > SETUP_TARGET_MS)} over {SETUP_TARGET_MS:g} ms"
            " (the server's send of the 200 OK minus SIPp's send of the INVITE)"
        )
    if got:
        print(
            f"rtp:    {got['streams']} streams seen, {got['streams_measured']} measured;"
            f" {got['packets']:,} packets in {got['seconds']:.1f} s; kernel drops at the"
            f" receiver {got['kernel_drops']}, sequence gaps {got['sequence_gaps']}"
        )
        print(
            f"all:    {got['intervals']:,} intervals in the {args.window:g} s window:"
            f" p50 {got['p50_ms']:.3f} ms, p99 {got['p99_ms']:.3f} ms,"
            f" p99.9 {got['p999_ms']:.3f} ms, p1 {got['p1_ms']:.3f} ms,"
            f" mean {got['mean_ms']:.4f} ms, max {got['max_ms']:.3f} ms;"
            f" gaps > {GAP_MS:g} ms: {got['gaps_over_40ms']}"
        )
        print(
            f"stream: p50 median {got['stream_p50_median_ms']:.1f} ms (furthest from 20:"
            f" {got['stream_p50_worst_ms']:.1f}); p99 median {got['stream_p99_median_ms']:.1f} ms,"
            f" best {got['stream_p99_best_ms']:.1f}, worst {got['stream_p99_worst_ms']:.1f};"
            f" {got['streams_p99_outside_18_22']} streams with p99 outside"
            f" {P99_TARGET[0]:g}-{P99_TARGET[1]:g} ms; worst max {got['stream_max_worst_ms']:.3f}"
            f" ms; {got['streams_with_gaps_over_40ms']} streams with a gap > {GAP_MS:g} ms"
        )
    per_1000 = cpu_window / window / (args.calls / 1000) if window else math.nan
    print(
        f"cpu:    server {cpu_window:.2f} s in the {window:.1f} s window = {per_1000:.3f} CPU"
        f" seconds per 1,000 streams per second; {cpu_ramp:.2f} s over the {warmup:.1f} s ramp;"
        f" {cpu_end - cpu_start:.2f} s in all"
    )
    print(f"memory: server {rss} MiB resident, {files} file descriptors open in the window")
    print(
        f"cdr:    {sum(records.values())} call records: "
        + ", ".join(f"{k} {v}" for k, v in sorted(records.items()))
        + f"; server exit {server_code}"
    )
    setup_met = bool(times) and percentile(times, 0.99) <= SETUP_TARGET_MS
    wire_met = bool(wire_times) and percentile(wire_times, 0.99) <= SETUP_TARGET_MS
    media_met = (
        bool(got)
        and got["streams_measured"] == args.calls
        and got["streams_p99_outside_18_22"] == 0
        and P99_TARGET[0] <= got["p99_ms"] <= P99_TARGET[1]
        and got["gaps_over_40ms"] == 0
    )
    print(
        "setup target met" if setup_met else "setup target MISSED",
        f"(INVITE -> 200 OK p99 <= {SETUP_TARGET_MS:g} ms, SIPp;",
        "met" if wire_met else "MISSED",
        "on the wire);",
        "media target met" if media_met else "media target MISSED",
        f"(all {args.calls} streams measured, each p99 within {P99_TARGET[0]:g}-"
        f"{P99_TARGET[1]:g} ms, no gap over {GAP_MS:g} ms)",
    )
    failed = (
        not got
        or not got["packets"]
        or count("SuccessfulCall(C)") != args.calls
        or server_code != 0
        or records.get("caller-hung-up", 0) != args.calls
    )
    if failed:
        print(f"FAILED: see {workdir}", file=sys.stderr)
        print((workdir / "serve.log").read_text(errors="replace")[-3000:], file=sys.stderr)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2_000, help="simultaneous calls")
    parser.add_argument("--rate", type=int, default=200, help="new calls per second")
    parser.add_argument("--window", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--prompt-seconds", type=float, default=120.0)
    parser.add_argument("--ports", default="40000-49999", help="the server's RTP port range")
    parser.add_argument("--nice", type=int, default=0, help="the server's nice value (-20..19)")
    parser.add_argument(
        "--realtime", action="store_true", help="run the server SCHED_FIFO priority 10"
    )
    parser.add_argument(
        "--sipp-realtime",
        action="store_true",
        help="run SIPp SCHED_FIFO priority 5: its own scheduling delays out of the setup times",
    )
    parser.add_argument(
        "--no-wire",
        dest="wire",
        action="store_false",
        help="no AF_PACKET capture of the SIP port (its BPF filter runs for every packet on lo)",
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=4,
        help="an experiment: the server's media clock in N phases (ticks of 20/N ms), not 4",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        metavar="MS",
        help="an experiment: the server's GIL switch interval in ms (vacant serve sets 0.5)",
    )
    add_receiver_poll(parser)
    parser.add_argument("--profile", metavar="DIR", help="run the server under cProfile")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, database)")
    args = parser.parse_args()
    if not 1 <= args.calls <= 10_000:
        parser.error("--calls: 1 to 10000")
    if not 1 <= args.rate <= 2_000:
        parser.error("--rate: 1 to 2000")
    if not 1.0 <= args.window <= 600.0:
        parser.error("--window: 1 to 600 seconds")
    if args.window + args.calls / args.rate + 5 >= args.prompt_seconds:
        parser.error("--prompt-seconds: must outlast the ramp, the window and 5 s")
    if not 10.0 <= args.prompt_seconds <= 300.0:
        parser.error("--prompt-seconds: 10 to 300 (a prompt is at most 5 MB at 16 kHz)")
    if args.phases not in (1, 2, 4, 5, 10, 20):
        parser.error("--phases: 1, 2, 4, 5, 10 or 20 (a whole number of 20 ms)")
    if args.switch_interval is not None and not 0.01 <= args.switch_interval <= 100:
        parser.error("--switch-interval: 0.01 to 100 ms")
    if not -20 <= args.nice <= 19:
        parser.error("--nice: -20 to 19")
    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if any(workdir.iterdir()):
            parser.error(f"--keep: {workdir} must be new or empty")
        return run(args, workdir)
    with tempfile.TemporaryDirectory(prefix="vacant-announce-bench-") as tmp:
        return run(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
