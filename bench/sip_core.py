"""SIP core benchmark: stateful INVITE -> 100 -> 404 -> ACK exchanges per second, no sockets.

Usage (from the repository root)::

    .venv/bin/python bench/sip_core.py                 # 50,000 exchanges, UDP
    .venv/bin/python bench/sip_core.py --calls 10000 --transport tcp
    .venv/bin/python bench/sip_core.py --tuned-gc      # the server's GC (young collections by time)
    .venv/bin/python bench/sip_core.py --profile       # cProfile's top functions instead
    .venv/bin/python bench/sip_core.py --runs 5        # five runs, then the medians
    .venv/bin/python bench/sip_core.py --distinct-numbers  # each call dials its own number
    .venv/bin/python bench/sip_core.py --service --tuned-gc --runs 5   # + call handler and CDRs
    .venv/bin/python bench/sip_core.py --calls 2000 --generate 7000   # as bench/sip_instructions.py

Each exchange is what one unassigned-number call costs the pure endpoint: ``receive`` the INVITE
(parse, match, validate, stamp ``received``/``rport``, create the INVITE server transaction, 100
Trying at once), the TU's ``reply(tx, 404)``, ``messages_to_send``, ``receive`` the ACK (parse,
match, absorb, Timer I), and the timer work that retires the transaction. The INVITEs and ACKs
are generated before the clock starts (distinct branch, Call-ID and tags per call, as a load
generator sends them); the clock advances 1 ms per call, so timers fire as they would at 1,000
calls/s of simulated time. ``--distinct-numbers`` gives every call its own Request-URI and To
(the core caches parsed URIs; by default all calls dial one number).

``--service`` runs the same exchanges through what ``vacant serve`` adds on top, still without
sockets: the endpoint as the server configures it (its capabilities, 100 Trying by Timer Trying),
``CallHandler`` deciding over a routing snapshot where the number is unallocated (404 with the Q.850
Reason), and ``add_calls`` writing the call records, 1,000 at a time, into a fresh SQLite database
made by ``upgrade`` (in this thread: the server's writer thread shares its core). Simulated time
advances 0.2 ms per call (``--step``), so Timer I holds 25,000 transactions, as at 5,000 calls/s. It
is the server's per-call Python work minus the event loop and ``sendto``, and repeats far better
than the socket benchmark on a shared machine.

``--generate N`` makes the messages of N calls (at least ``--calls``) and runs ``--calls`` of them:
two runs with the same ``--generate`` then differ only in the calls made, not in the making of
their messages (``bench/sip_instructions.py`` counts that difference).

Both the elapsed time and the CPU time of the process are printed: on a machine shared with other
work the scheduler takes the core away now and then, which only the elapsed time counts.

Nothing here forms a reference cycle, so the cyclic garbage collector only costs time: with
default thresholds it takes about an eighth of the UDP figure (thousands of transactions, about
a dozen tracked objects each, stay alive for Timer I). ``--tuned-gc`` does what ``vacant serve``
does (``vacant.service.app.collect_young``): ``gc.freeze()`` after start-up, automatic
collection off, and the young generations collected every ``YOUNG_GC_INTERVAL`` seconds of
wall-clock time (checked once per exchange here, by a timer in the server).
"""

import argparse
import cProfile
import functools
import gc
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Literal

from vacant.cli.commands.serve import YOUNG_GC_INTERVAL
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address, Event, RequestReceived

SEED = 3261
NUMBER = "+15551234567"
INVITE = (
    "INVITE sip:+15551234567@vacant.example.com;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/{T} 192.0.2.10:5060;branch=z9hG4bK{n:08x}a;rport\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:+15551234567@vacant.example.com;user=phone>\r\n"
    'From: "Alice" <sip:+14255550100@pbx.example.com;user=phone>;tag={n:08x}f\r\n'
    "Call-ID: {n:08x}c@pbx.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:+14255550100@192.0.2.10:5060>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: loadgen/1.0\r\n"
    "Content-Length: 0\r\n\r\n"
)
ACK = (
    "ACK sip:+15551234567@vacant.example.com;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/{T} 192.0.2.10:5060;branch=z9hG4bK{n:08x}a;rport\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:+15551234567@vacant.example.com;user=phone>;tag={tag}\r\n"
    'From: "Alice" <sip:+14255550100@pbx.example.com;user=phone>;tag={n:08x}f\r\n'
    "Call-ID: {n:08x}c@pbx.example.com\r\n"
    "CSeq: 1 ACK\r\n"
    "Content-Length: 0\r\n\r\n"
)


def no_collection() -> None:
    """Leave the collector to its automatic thresholds."""


class YoungCollector:
    """``vacant serve``'s collections by time: ``gc.collect(1)`` every ``YOUNG_GC_INTERVAL``."""

    def __init__(self) -> None:
        gc.collect()
        gc.freeze()
        gc.disable()
        self.due = time.perf_counter() + YOUNG_GC_INTERVAL

    def __call__(self) -> None:
        if (now := time.perf_counter()) >= self.due:
            gc.collect(1)
            self.due = now + YOUNG_GC_INTERVAL


def messages(
    invite: str, ack: str, transport: str, calls: int, generate: int
) -> tuple[list[bytes], list[bytes]]:
    """The INVITEs and ACKs of ``calls`` calls, out of those of ``generate`` made."""
    made = range(max(calls, generate))
    invites = [invite.format(T=transport, n=n).encode() for n in made]
    # The ACK's To tag does not take part in RFC 3261 matching (§17.2.3), so any tag will do.
    acks = [ack.format(T=transport, n=n, tag="0123abcd").encode() for n in made]
    return invites[:calls], acks[:calls]


def run(
    calls: int,
    transport: Literal["udp", "tcp"],
    *,
    distinct_numbers: bool = False,
    collect: Callable[[], None] = no_collection,
    generate: int = 0,
) -> tuple[float, float]:
    """Run ``calls`` exchanges; return the elapsed and the CPU seconds (generation excluded)."""
    endpoint = SipEndpoint(rng=random.Random(SEED), trying_delay=0)
    source = Address("192.0.2.10", 5062, transport)
    upper = transport.upper()
    invite_text, ack_text = INVITE, ACK
    if distinct_numbers:  # each call dials its own number, as SIPp does with -inf numbers.csv
        invite_text, ack_text = (t.replace(NUMBER, "+1555{n:07d}") for t in (INVITE, ACK))
    invites, acks = messages(invite_text, ack_text, upper, calls, generate)
    sent = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    now = 0.0
    for invite, ack in zip(invites, acks, strict=True):
        now += 0.001
        endpoint.receive(invite, source, now)
        event = endpoint.next_event()
        assert isinstance(event, RequestReceived)
        endpoint.reply(event.tx_id, 404, now)
        sent += len(endpoint.messages_to_send())
        endpoint.receive(ack, source, now)
        deadline = endpoint.get_timer()
        if deadline is not None and deadline <= now:
            endpoint.handle_timer(now)
        while endpoint.next_event() is not None:  # TransactionTerminated, 5 s later
            pass
        collect()
    endpoint.handle_timer(now + 64)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert sent == 2 * calls, sent
    assert endpoint.stats.transactions_created, endpoint.stats
    return elapsed, cpu


def exchange(
    endpoint: SipEndpoint,
    handler: Callable[[Event], None],
    messages: tuple[bytes, ...],
    source: Address,
    now: float,
) -> None:
    """One call's messages through the endpoint and the handler at ``now``, then its timers."""
    for data in messages:
        endpoint.receive(data, source, now)
        while (event := endpoint.next_event()) is not None:
            handler(event)
        endpoint.messages_to_send()
    deadline = endpoint.get_timer()
    if deadline is not None and deadline <= now:
        endpoint.handle_timer(now)


def run_service(
    calls: int,
    transport: Literal["udp", "tcp"],
    *,
    collect: Callable[[], None] = no_collection,
    generate: int = 0,
    step: float = 0.0002,
) -> tuple[float, float]:
    """``run`` through the call handler and the call records (``--service``, above), ``step``
    seconds of simulated time apart."""
    from vacant.routing.model import RoutingConfig
    from vacant.routing.policy import Snapshot
    from vacant.service.call import CAPABILITIES, CallHandler
    from vacant.store.calls import CallRecord, add_calls
    from vacant.store.engine import make_engine, session_scope, upgrade

    url = f"sqlite:///{tempfile.mkdtemp(prefix='sip_core-')}/vacant.db"
    upgrade(url)
    engine = make_engine(url)
    endpoint = SipEndpoint(rng=random.Random(SEED), capabilities=CAPABILITIES)
    snapshot = Snapshot.build(RoutingConfig(ranges=[], announcements=[], assigned=[]))
    records: list[CallRecord] = []
    clock = [0.0]
    handler = CallHandler(endpoint, lambda: snapshot, records.append, lambda: clock[0])
    source = Address("127.0.0.1", 5062, transport)
    upper = transport.upper()
    invites, acks = messages(INVITE, ACK, upper, calls, generate)
    started, cpu_started = time.perf_counter(), time.process_time()
    for invite, ack in zip(invites, acks, strict=True):
        clock[0] = now = clock[0] + step
        exchange(endpoint, handler, (invite, ack), source, now)
        if len(records) >= 1_000:
            with session_scope(engine) as s:
                add_calls(s, records)
            records.clear()
        collect()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert handler.calls[("not-found", 404)] == calls, handler.calls
    engine.dispose()
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--tuned-gc", action="store_true", help="the server's GC: by time")
    parser.add_argument("--distinct-numbers", action="store_true", help="one number per call")
    parser.add_argument("--runs", type=int, default=1, help="repeat, then print the medians")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--service", action="store_true", help="+ call handler and CDRs")
    parser.add_argument("--generate", type=int, default=0, help="make N calls' messages")
    parser.add_argument("--step", type=float, default=0.0002, help="--service: seconds per call")
    args = parser.parse_args(argv)
    collect = YoungCollector() if args.tuned_gc else no_collection
    exchange = (
        functools.partial(run_service, collect=collect, generate=args.generate, step=args.step)
        if args.service
        else functools.partial(
            run, distinct_numbers=args.distinct_numbers, collect=collect, generate=args.generate
        )
    )
    what = (
        "INVITE/404/ACK calls through the call handler, CDRs written,"
        if args.service
        else "INVITE/100/404/ACK exchanges"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(exchange, args.calls, args.transport)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    exchange(min(args.calls, 2_000), args.transport)  # warm up
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    walls, cpus = [], []
    for _ in range(args.runs):
        elapsed, cpu = exchange(args.calls, args.transport)
        walls.append(elapsed)
        cpus.append(cpu)
        rate = args.calls / elapsed
        print(
            f"{args.calls} {what} over {args.transport} in {elapsed:.2f} s:"
            f" {rate:,.0f} per second, {1e6 / rate:.1f} us each, CPU {1e6 * cpu / args.calls:.1f}"
            f" us each (one process, no sockets{', tuned GC' if args.tuned_gc else ''}"
            f"{', distinct numbers' if args.distinct_numbers else ''}; load average {load})"
        )
    if args.runs > 1:
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"median of {args.runs}: {args.calls / wall:,.0f} per second,"
            f" {1e6 * wall / args.calls:.1f} us each, CPU {1e6 * cpu / args.calls:.1f} us each"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
