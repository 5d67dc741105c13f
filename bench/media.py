"""RTP playout: N streams from one media engine, timed by a receiver in another process.

Usage (from the repository root)::

    .venv/bin/python bench/media.py                      # 2,000 streams, 20 s measured
    .venv/bin/python bench/media.py --streams 500 --seconds 10
    .venv/bin/python bench/media.py --srtp               # with SRTP (AES_CM_128_HMAC_SHA1_80)
    .venv/bin/python bench/media.py --loop asyncio       # the default event loop instead of uvloop
    .venv/bin/python bench/media.py --clock loop         # the event loop's timer, not a timerfd
    .venv/bin/python bench/media.py --realtime           # the sender SCHED_FIFO 10 (or --nice -10)
    .venv/bin/python bench/media.py --echo               # the receiver sends every packet back

The sender is this process: a :class:`vacant.media.engine.MediaEngine` on 127.0.0.1 (uvloop, as
``vacant serve`` runs it) opens ``--streams`` streams (an RTP/RTCP port pair each, from
``--ports``) and plays the same prompt on all of them: the SIT "vacant code" tones
(``vacant.media.tones``) encoded to PCMU 20 ms frames (``vacant.media.frames``), repeated to last
the run. Every stream sends to the one receiver port; streams are told apart by SSRC.

The receiver is ``bench/media_receiver.c``, compiled here with ``gcc -O2`` into a temporary
directory: at 100,000 packets/s a Python receiver (a ``recvmsg`` per packet, a few µs each)
would need most of the second core and compete with the sender for it; the C one, reading 256
packets per system call, takes about a fifth of a core. It takes each packet's kernel receive
timestamp (``SO_TIMESTAMPNS``): on loopback that is the moment the sender's ``sendto`` ran, so
the figures are the sender's pacing, unaffected by the receiver's own scheduling. It prints the
per-stream inter-packet intervals (p50, p99, p99.9, max; 1 µs buckets), the intervals over
40 ms (a missed slot), the sequence-number gaps and the kernel's drop count for its socket
(``SO_RXQ_OVFL``). Intervals of packets received in the first ``--warmup`` seconds (streams
opening, caches warming) are not counted.

Sender CPU: user+system time of this process (``getrusage``) over the measured window, divided by
the window and by the thousands of streams: "CPU seconds per 1,000 streams per second". The
machine's load average is printed too: the 2 cores are shared with other jobs.

Targets: p99 of the intervals within 20 ± 2 ms, and no interval over 40 ms. The exit status is 1
when the run failed (receiver error, no packets), 0 otherwise; a missed target is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop

from vacant.media import frames, tones
from vacant.media.engine import MediaEngine
from vacant.media.offer_answer import Codec, Negotiated, SrtpKey

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "media_receiver.c"
P99_TARGET = (18.0, 22.0)
GAP_MS = 40.0
AUTOGROUP = Path("/proc/self/autogroup")


def add_receiver_poll(parser: argparse.ArgumentParser) -> None:
    """``--receiver-poll US``: the receiver's ``poll=US`` (bench/media_receiver.c)."""
    parser.add_argument(
        "--receiver-poll",
        type=int,
        default=0,
        metavar="US",
        help="the receiver polls every US microseconds instead of sleeping in recvmmsg, so the"
        " sender does not pay its wake-ups (loopback only; see bench/media_receiver.c)",
    )


def receiver_options(poll: int) -> list[str]:
    """The receiver's argument for ``--receiver-poll`` (none when 0)."""
    return [f"poll={poll}"] if poll else []


def compile_receiver(directory: Path) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        sys.exit("gcc is not on PATH: the receiver is C (bench/media_receiver.c)")
    binary = directory / "media_receiver"
    subprocess.run([gcc, "-O2", "-Wall", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prompt_frames() -> tuple[bytes, ...]:
    return frames.encode(tones.sit_vacant_code(), Codec.PCMU)


async def send(args: argparse.Namespace, receiver_port: int) -> dict[str, Any]:
    rng = random.Random(args.seed)
    low, high = (int(p) for p in args.ports.split("-"))
    engine = MediaEngine("127.0.0.1", (low, high), rng=rng, rtcp_interval=5.0, clock=args.clock)
    await engine.start()
    prompt = prompt_frames()
    total = args.warmup + args.seconds + 2.0
    repeat = math.ceil(total / (len(prompt) * 0.020)) + 1
    key = SrtpKey("AES_CM_128_HMAC_SHA1_80", rng.randbytes(30), 1) if args.srtp else None
    negotiated = Negotiated(
        codec=Codec.PCMU,
        payload_type=0,
        telephone_event=101,
        remote=("127.0.0.1", receiver_port),
        remote_rtcp=("127.0.0.1", receiver_port + 1),
        send=True,
        receive=True,
        srtp_send=key,
        srtp_receive=key,
    )
    opened = time.perf_counter()
    streams = [engine.open(lambda: None) for _ in range(args.streams)]
    for stream in streams:
        stream.play(negotiated, prompt, repeat=repeat, on_done=lambda: None)
    opened = time.perf_counter() - opened
    await asyncio.sleep(args.warmup)
    before, start, stats_before = (
        resource.getrusage(resource.RUSAGE_SELF),
        time.perf_counter(),
        engine.stats,
    )
    await asyncio.sleep(args.seconds)
    after, end, stats_after = (
        resource.getrusage(resource.RUSAGE_SELF),
        time.perf_counter(),
        engine.stats,
    )
    await asyncio.sleep(1.0)  # the receiver stops counting before we stop sending
    await engine.close()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    window = end - start
    return {
        "open_seconds": opened,
        "prompt_seconds": len(prompt) * 0.020,
        "window": window,
        "cpu": cpu,
        "cpu_per_1000_streams": cpu / window / (args.streams / 1000),
        "packets_sent": stats_after.packets_sent - stats_before.packets_sent,
        "late_ticks": stats_after.late_ticks,
        "late_ticks_window": stats_after.late_ticks - stats_before.late_ticks,
        "send_errors": stats_after.send_errors,
        "received": stats_after.packets_received,
        "rejected": stats_after.packets_rejected,
    }


def run_loop(kind: str, main: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
    if kind == "uvloop":
        return uvloop.run(main())
    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--ports", default="40000-49999", help="RTP port range of the engine")
    parser.add_argument("--srtp", action="store_true")
    parser.add_argument(
        "--echo",
        action="store_true",
        help="the receiver sends every packet back: the engine also reads 1 packet/20 ms/stream",
    )
    add_receiver_poll(parser)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--clock", choices=("timerfd", "loop"), default="timerfd")
    parser.add_argument("--seed", type=int, default=20130101)
    parser.add_argument("--nice", type=int, default=0, help="the sender's nice value (-20..19)")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the sender SCHED_FIFO priority 10 (needs CAP_SYS_NICE), as a media server may",
    )
    args = parser.parse_args()
    if not 1 <= args.streams <= 10_000:
        parser.error("--streams: 1 to 10000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * args.streams + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))

    with tempfile.TemporaryDirectory(prefix="vacant-media-bench-") as tmp:
        binary = compile_receiver(Path(tmp))
        port = free_udp_port()
        receiver = subprocess.Popen(
            [str(binary), str(port), str(args.warmup + args.seconds), str(args.warmup)]
            + (["echo"] if args.echo else [])
            + receiver_options(args.receiver_poll),
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        group_nice: str | None = None
        try:
            assert receiver.stdout is not None
            ready = receiver.stdout.readline()
            if not ready.strip():
                print("receiver did not start", file=sys.stderr)
                return 1
            # After the receiver started: it must not inherit them.
            if args.nice:
                os.setpriority(os.PRIO_PROCESS, 0, args.nice)
                # With sched_autogroup (a group per session), nice only ranks the processes of
                # one session; the group's own nice ranks it against other sessions. It is the
                # whole session's: restored below.
                if AUTOGROUP.exists():
                    group_nice = AUTOGROUP.read_text().split()[-1]
                    AUTOGROUP.write_text(str(args.nice))
            if args.realtime:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
            sent = run_loop(args.loop, lambda: send(args, port))
            out, _ = receiver.communicate(timeout=30)
        finally:
            if group_nice is not None:
                AUTOGROUP.write_text(group_nice)
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait()
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
    if receiver.returncode != 0 or not out.strip():
        print(f"receiver failed ({receiver.returncode})", file=sys.stderr)
        return 1
    got = json.loads(out.strip().splitlines()[-1])
    receiver_cpu = child.ru_utime + child.ru_stime
    load = os.getloadavg()
    print(
        f"python {platform.python_version()}, {args.loop}, {args.clock} clock, seed {args.seed},"
        f" {os.cpu_count()} CPUs, load average {load[0]:.2f} at the end"
        f"{', SRTP AES_CM_128_HMAC_SHA1_80' if args.srtp else ''}"
        f"{', sender SCHED_FIFO 10' if args.realtime else ''}"
        f"{f', sender nice {args.nice}' if args.nice else ''}"
        f"{', receiver echoes every packet' if args.echo else ''}"
    )
    print(
        f"streams: {args.streams} opened in {sent['open_seconds']:.2f} s"
        f" (receiver saw {got['streams']}); prompt {sent['prompt_seconds']:.2f} s PCMU, repeated"
    )
    print(
        f"packets: {got['packets']:,} received in {got['seconds']:.1f} s;"
        f" {sent['packets_sent']:,} sent in the {sent['window']:.1f} s window"
        f" ({sent['packets_sent'] / sent['window']:,.0f}/s); send errors {sent['send_errors']},"
        f" kernel drops at the receiver {got['kernel_drops']}, sequence gaps"
        f" {got['sequence_gaps']}"
    )
    if args.echo:
        print(
            f"inbound: receiver echoed {got['echoed']:,}; engine read {sent['received']:,}"
            f" valid, {sent['rejected']:,} rejected"
        )
    print(
        f"interval: {got['intervals']:,} intervals after {args.warmup:g} s warm-up:"
        f" p50 {got['p50_ms']:.3f} ms, p99 {got['p99_ms']:.3f} ms, p99.9 {got['p999_ms']:.3f} ms,"
        f" p1 {got['p1_ms']:.3f} ms, mean {got['mean_ms']:.4f} ms, max {got['max_ms']:.3f} ms;"
        f" gaps > {GAP_MS:g} ms: {got['gaps_over_40ms']}"
    )
    print(
        f"clock:  late ticks {sent['late_ticks']} since start,"
        f" {sent['late_ticks_window']} in the window"
    )
    print(
        f"cpu:    sender {sent['cpu']:.2f} s in {sent['window']:.1f} s ="
        f" {sent['cpu_per_1000_streams']:.3f} CPU seconds per 1,000 streams per second;"
        f" receiver {receiver_cpu:.2f} s in all"
    )
    met = P99_TARGET[0] <= got["p99_ms"] <= P99_TARGET[1] and got["gaps_over_40ms"] == 0
    print(
        "target met" if met else "target MISSED",
        f"(p99 within {P99_TARGET[0]:g}-{P99_TARGET[1]:g} ms, no gap over {GAP_MS:g} ms)",
    )
    return 0 if got["packets"] else 1


if __name__ == "__main__":
    sys.exit(main())
