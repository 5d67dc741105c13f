"""Stalls of the call path: the exchanges that take the server's Python far longer than the rest.

Usage (from the repository root)::

    PYTHONPATH=$PWD/build/compiled .venv/bin/python bench/sip_stalls.py
    .venv/bin/python bench/sip_stalls.py --calls 300000 --rate 17500

The same INVITE/404/ACK exchanges as ``bench/sip_core.py --service`` (the call handler over an
empty routing table, the endpoint as the server configures it; call records kept in memory,
not written), with simulated time advancing ``1 / rate`` per call, so that Timer I holds as many
transactions as at that rate (87,500 at 17,500/s), and the garbage collector off (the server
collects by time, off this path). Each exchange is timed; those over ``--threshold`` ms are
printed with when they fell, in simulated seconds. A stall here is one in the server: every
call behind it waits (docs/benchmarks.md, ninth round: the transaction indexes' rebuilds, 7.5 ms
at 5 s and 15 ms at 10 s before they were sharded).
"""

import argparse
import gc
import random
import time

from sip_core import ACK, INVITE, exchange

from vacant.routing.model import RoutingConfig
from vacant.routing.policy import Snapshot
from vacant.service.call import CAPABILITIES, CallHandler
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address
from vacant.store.calls import CallRecord


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=17_500.0, help="simulated calls/s")
    parser.add_argument("--threshold", type=float, default=0.5, help="ms")
    args = parser.parse_args()
    endpoint = SipEndpoint(rng=random.Random(1), capabilities=CAPABILITIES)
    snapshot = Snapshot.build(RoutingConfig(ranges=[], announcements=[], assigned=[]))
    records: list[CallRecord] = []
    clock = [0.0]
    handler = CallHandler(endpoint, lambda: snapshot, records.append, lambda: clock[0])
    source = Address("127.0.0.1", 5062, "udp")
    invites = [INVITE.format(T="UDP", n=n).encode() for n in range(args.calls)]
    acks = [ACK.format(T="UDP", n=n, tag="0123abcd").encode() for n in range(args.calls)]
    gc.collect()
    gc.freeze()
    gc.disable()
    threshold = int(args.threshold * 1e6)
    stalls: list[tuple[int, float, float]] = []
    longest = 0
    for n, (invite, ack) in enumerate(zip(invites, acks, strict=True)):
        clock[0] = now = clock[0] + 1 / args.rate
        started = time.perf_counter_ns()
        exchange(endpoint, handler, (invite, ack), source, now)
        took = time.perf_counter_ns() - started
        longest = max(longest, took)
        if took > threshold:
            stalls.append((n, took / 1e6, n / args.rate))
        if len(records) >= 1_000:
            records.clear()
    gc.enable()
    print(
        f"{args.calls} exchanges at {args.rate:,.0f}/s of simulated time:"
        f" longest {longest / 1e6:.2f} ms; {len(stalls)} over {args.threshold} ms"
    )
    for n, ms, at in stalls[:20]:
        print(f"  call {n:>8,}  {ms:6.2f} ms  at {at:6.2f} s")


if __name__ == "__main__":
    main()
