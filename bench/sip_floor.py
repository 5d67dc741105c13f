"""The floor under bench/sip_cps.py: what the event loop and the sockets alone cost per call.

Usage (from the repository root)::

    .venv/bin/python bench/sip_floor.py                # 10,000 calls/s for 10 s
    .venv/bin/python bench/sip_floor.py --rate 20000

A uvloop UDP server that does nothing a SIP server must do: it answers every INVITE with a 404
made by copying the INVITE's Via, From, To (plus a fixed tag), Call-ID and CSeq lines, and drops
every other datagram (the ACK). No parsing, no transaction, no call record. SIPp sends it the
404 path's scenario of bench/sip_cps.py (same INVITE, same ACK) at a fixed rate, pinned as there
(the server on the first CPU, SIPp on the second). The server's CPU time over the run divided by
the calls is the cost of receiving two datagrams and sending one through the event loop: what
no Python SIP server on this machine can go below.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.sip_cps import HOST, TICK, free_port, scenario  # noqa: E402

SERVER = """
import asyncio, sys, uvloop
KEEP = {b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq"}
class Floor(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        if not data.startswith(b"INVITE "):
            return
        out = [b"SIP/2.0 404 Not Found"]
        for line in data[: data.find(b"\\r\\n\\r\\n")].split(b"\\r\\n")[1:]:
            name = line[: line.find(b":")].strip().lower()
            if name in KEEP:
                out.append(line + b";tag=floor" if name in (b"to", b"t") else line)
        out.append(b"Content-Length: 0\\r\\n\\r\\n")
        self.transport.sendto(b"\\r\\n".join(out), addr)
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Floor, local_addr=(sys.argv[1], int(sys.argv[2])))
    print("ready", flush=True)
    await asyncio.Event().wait()
uvloop.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=10_000, help="calls per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    args = parser.parse_args(argv)
    sipp, taskset = shutil.which("sipp"), shutil.which("taskset")
    if sipp is None or taskset is None:
        sys.exit("needs sipp (Debian sip-tester) and taskset")
    first, second = sorted(os.sched_getaffinity(0))[:2]
    calls = int(args.rate * args.duration)
    with tempfile.TemporaryDirectory(prefix="sip_floor-") as tmp:
        work = Path(tmp)
        (work / "floor.xml").write_text(scenario(404))
        (work / "numbers.csv").write_text("SEQUENTIAL\n+15551234567;\n")
        port = free_port()
        server = subprocess.Popen(
            [taskset, "-c", str(first), sys.executable, "-c", SERVER, HOST, str(port)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "ready":
                sys.exit("the floor server did not start")
            before, started = cpu_seconds(server.pid), time.monotonic()
            done = subprocess.run(
                [taskset, "-c", str(second), sipp, f"{HOST}:{port}", "-sf", "floor.xml",
                 "-inf", "numbers.csv", "-i", HOST, "-mi", HOST, "-p", str(free_port()),
                 "-t", "u1", "-buff_size", str(4 << 20), "-r", str(args.rate), "-rp", "1000",
                 "-m", str(calls), "-l", str(max(args.rate, 1000)), "-nostdin",
                 "-timeout", f"{int(args.duration) + 30}s", "-timeout_error"],
                cwd=work, capture_output=True, timeout=args.duration + 60, check=False,
            )  # fmt: skip
            cpu, wall = cpu_seconds(server.pid) - before, time.monotonic() - started
        finally:
            server.kill()
            server.wait()
    print(
        f"{calls:,} calls at {args.rate:,}/s in {wall:.1f} s, SIPp exit {done.returncode}:"
        f" server {cpu / calls * 1e6:.1f} us CPU per call ({cpu / wall:.2f} cores)"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
