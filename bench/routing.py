"""Routing benchmark: snapshot build time, decide() latency and the snapshot's resident memory.

Usage (from the repository root)::

    .venv/bin/python bench/routing.py                  # 1,000,000 ranges, 200,000 calls
    .venv/bin/python bench/routing.py --ranges 100000  # quicker
    .venv/bin/python bench/routing.py --db sqlite:////tmp/vacant-route-1000000.db

The configuration is generated in memory with a fixed seed: overlapping numeric ranges of random
spans (1 to 10^6 numbers, some crossing a length, e.g. 9999..10500), 70% global (``+``) and 30%
local, 10% with an extension, random priorities 0-9 with many ties; 5% of the ranges go to an
auto-attendant, 1% to a removed announcement. Also: a few pattern ranges, two normalisation rules
and 10,000 assigned numbers. With ``--db``, it is loaded from that database instead, as the
server loads it (``load_routing_config``; ``bench/route_db.py`` fills one with the same ranges).
The dialled numbers are 80% inside a random range, 20% anywhere; 90% are canonical strings
(``+14255551234``), 10% tel:/sip: URIs with separators.

Measured: ``Snapshot.build`` wall time (time.perf_counter; its CPU time, time.process_time, is
printed too, as on a loaded machine the two differ); each ``decide()`` call (explain=False)
timed with time.perf_counter_ns after 10,000 warm-up calls, median and p99; the snapshot's
resident memory as the server holds it: VmRSS (/proc/self/status) before the configuration is
made, then the configuration is made, the snapshot built, the configuration deleted and
``gc.collect()`` run, and VmRSS again: the snapshot's RSS is the difference. It includes what the
allocators keep of the freed configuration (pages pinned by live objects, free heap not returned
to the system); the live size of the snapshot's parts (sys.getsizeof) is printed too, and the
peak RSS of the process (ru_maxrss).

Targets on the 2-core reference machine: build <= 10 s, decide median <= 3 us, p99 <= 20 us,
snapshot RSS <= 300 MB. The exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    RoutingConfig,
)
from vacant.routing.numbers import Number
from vacant.routing.policy import Snapshot

if TYPE_CHECKING:
    from sqlalchemy import Engine

SEED = 20130101
#: How many announcements the generated configuration has (ranges pick one at random).
ANNOUNCEMENTS = 200
TARGETS = {"build_s": 10.0, "median_us": 3.0, "p99_us": 20.0, "rss_mb": 300.0}


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB."""
    return _status_kb("VmRSS") / 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _random_subscriber(rng: random.Random, is_global: bool) -> str:
    if is_global:
        # E.164: country code 1 (NANP, 11 digits) mostly, else 11 to 13 digits.
        length = 11 if rng.random() < 0.6 else rng.randint(11, 13)
    else:
        length = rng.randint(4, 10)
    return str(rng.randint(10 ** (length - 1), 10**length - 1))


class RandomRange(NamedTuple):
    """One random numeric range: bounds, target and priority (see the module docstring)."""

    start: Number
    end: Number
    target: str
    """``"announcement"``, ``"auto-attendant"`` or ``"removed"`` (a dangling announcement id)."""
    announcement: int
    """Which announcement (an index) when ``target`` is ``"announcement"``."""
    priority: int


def random_range(rng: random.Random, announcements: int) -> RandomRange:
    """A random overlapping numeric range, as :func:`generate` makes them (``bench/route_db.py``
    fills its database with the same): 70% global, 10% with an extension, spans of 1 to 10^6
    numbers, 5% to an auto-attendant, 1% to a removed announcement, priorities 0-9."""
    is_global = rng.random() < 0.7
    ext = str(rng.randint(1, 9999)) if rng.random() < 0.1 else None
    start = _random_subscriber(rng, is_global)
    span = int(10 ** rng.uniform(0, 6))
    end = str(min(int(start) + span, 10**18 - 1))
    plus = "+" if is_global else ""
    draw = rng.random()
    target, announcement = "announcement", 0
    if draw < 0.05:
        target = "auto-attendant"
    elif draw < 0.06:
        target = "removed"
    else:
        announcement = rng.randrange(announcements)
    return RandomRange(
        Number(plus + start, ext), Number(plus + end, ext), target, announcement, rng.randint(0, 9)
    )


def generate(count: int, rng: random.Random) -> RoutingConfig:
    """A configuration of ``count`` random overlapping numeric ranges, and a little more."""
    pools = [f"pool{n}.example.com" for n in range(4)]
    announcements = [
        Announcement.create(
            pools[n % 4],
            f"announcement-{n}",
            tts_text=f"The number you dialled is not in service ({n}).",
            language="en-US",
            target="sip:operator@example.com" if n % 2 else None,
        )
        for n in range(ANNOUNCEMENTS)
    ]
    removed = uuid.UUID(int=rng.getrandbits(128))
    ranges: list[NumberRange] = []
    for position in range(count):
        drawn = random_range(rng, len(announcements))
        announcement_id = None
        auto_attendant = None
        if drawn.target == "auto-attendant":
            auto_attendant = Number("+14255550100")
        elif drawn.target == "removed":
            announcement_id = removed
        else:
            announcement_id = announcements[drawn.announcement].id
        ranges.append(
            NumberRange(
                name=f"range-{position}",
                start=drawn.start,
                end=drawn.end,
                pattern=None,
                announcement_id=announcement_id,
                auto_attendant=auto_attendant,
                priority=drawn.priority,
                position=position,
            )
        )
    for n, pattern in enumerate([r"\+1900\d{7}", r"\+44870\d{7}", r"\+3389\d{7}"]):
        ranges.append(
            NumberRange.create(
                f"pattern-{n}",
                pattern=pattern,
                announcement_id=announcements[n].id,
                priority=9,
                position=count + n,
            )
        )
    assigned = [
        AssignedNumber.create(
            "+1" + str(rng.randint(10**9, 10**10 - 1)), f"sip:user{n}@example.com"
        )
        for n in range(10_000)
    ]
    rules = [
        NormalisationRule.create("four-digit extension", r"(\d{4})", r"+1425555$1", position=0),
        NormalisationRule.create("international prefix", r"00(\d+)", r"+$1", position=1),
    ]
    return RoutingConfig(ranges, announcements, assigned, rules, version=1)


def dialled_numbers(snapshot: Snapshot, count: int, rng: random.Random) -> list[str]:
    """``count`` dialled strings: 80% inside a random range, 20% anywhere, 10% as URIs.

    The ranges are read back from the snapshot (:meth:`Snapshot.range`): the configuration is
    gone by then.
    """
    out: list[str] = []
    for _ in range(count):
        if rng.random() < 0.8:
            chosen = snapshot.range(rng.randrange(snapshot.range_count))
            while chosen.start is None or chosen.end is None:  # a pattern range: draw again
                chosen = snapshot.range(rng.randrange(snapshot.range_count))
            low, high = int(chosen.start.subscriber), int(chosen.end.subscriber)
            plus = "+" if chosen.start.is_global else ""
            number = Number(plus + str(rng.randint(low, high)), chosen.start.ext)
        else:
            is_global = rng.random() < 0.7
            number = Number(("+" if is_global else "") + _random_subscriber(rng, is_global))
        text = str(number)
        if rng.random() < 0.1:
            digits = number.digits
            pretty = f"{digits[:-7]}-{digits[-7:-4]}-{digits[-4:]}"
            ext = f";ext={number.ext}" if number.ext else ""
            text = rng.choice(
                [f"tel:{pretty}{ext}", f"sip:{number.digits}{ext}@sbc.example.com;user=phone"]
            )
        out.append(text)
    return out


def footprint(snapshot: Snapshot) -> dict[str, float]:
    """The live size of the snapshot's parts, in MB (sys.getsizeof, the groups' keys and values
    included; the shared announcements, rules and patterns are left out: they are small)."""
    table = snapshot.table
    groups = sum(
        sys.getsizeof(a)
        for a in (table.codes, table.first, table.shift, table.d0, table.buckets, table.p0)
    ) + sum(
        sys.getsizeof(key) + sys.getsizeof(group) + sum(sys.getsizeof(v) for v in group)
        for key, group in table.plain.items()
    )
    assigned = sum(
        sys.getsizeof(m) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in m.items())
        for m in (snapshot.assigned, snapshot.assigned_digits)
    )
    parts = {
        "names": sys.getsizeof(snapshot.names) + sys.getsizeof(snapshot.name_offsets),
        "priority+position": sys.getsizeof(snapshot.priorities) + sys.getsizeof(snapshot.positions),
        "targets": sys.getsizeof(snapshot.targets) + len(snapshot.pattern_first),
        "segments": sum(sys.getsizeof(a) for a in (table.starts, table.winners, table.directory)),
        "pieces+bounds": sum(
            sys.getsizeof(a) for a in (table.piece_index, table.lows, table.highs, table.families)
        ),
        "groups": groups,
        "assigned": assigned,
    }
    return {name: size / 2**20 for name, size in parts.items()}


def load_config(engine: Engine) -> RoutingConfig:
    """The configuration in the database, loaded as the server loads it."""
    from vacant.store import repository as repo
    from vacant.store.engine import session_scope

    try:
        with session_scope(engine) as s:
            return repo.load_routing_config(s)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranges", type=int, default=1_000_000, help="numeric ranges to generate")
    parser.add_argument("--numbers", type=int, default=200_000, help="decide() calls to time")
    parser.add_argument("--db", help="load the configuration from this database URL instead")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    engine = None
    if args.db:
        from vacant.store.engine import make_engine

        engine = make_engine(args.db)

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    if engine is None:
        config = generate(args.ranges, rng)
        source = "generated"
    else:
        config = load_config(engine)
        source = f"loaded from {engine.url.render_as_string()} by load_routing_config"
    input_s = time.perf_counter() - started
    gc.collect()
    with_input = rss_mb()
    numeric = sum(1 for r in config.ranges if r.pattern is None)
    assigned, rules = len(config.assigned), len(config.rules)

    started, cpu = time.perf_counter(), time.process_time()
    snapshot = Snapshot.build(config)
    build_s, build_cpu = time.perf_counter() - started, time.process_time() - cpu
    with_both = rss_mb()
    # The server keeps the snapshot and drops the configuration it was built from: what stays
    # resident is the snapshot's (and the memory the allocator keeps from the build).
    del config
    gc.collect()
    after = rss_mb()
    snapshot_mb = after - before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    parts = footprint(snapshot)

    numbers = dialled_numbers(snapshot, args.numbers, rng)
    decide = snapshot.decide
    for text in numbers[:10_000]:  # warm up
        decide(text)
    timings = []
    clock = time.perf_counter_ns
    for text in numbers:
        t0 = clock()
        decide(text)
        timings.append(clock() - t0)
    timings.sort()
    median_us = statistics.median(timings) / 1000
    p99_us = timings[int(len(timings) * 0.99)] / 1000
    kinds: dict[str, int] = {}
    for text in numbers[:20_000]:
        kind = decide(text).kind
        kinds[kind] = kinds.get(kind, 0) + 1

    results = {
        "build_s": build_s,
        "median_us": median_us,
        "p99_us": p99_us,
        "rss_mb": snapshot_mb,
    }
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"python {sys.version.split()[0]}, seed {SEED}, load average {load} at the end")
    print(
        f"config: {numeric:,} numeric ranges ({snapshot.table.segment_count:,} elementary"
        f" segments in {snapshot.table.group_count:,} groups), {len(snapshot.patterns)} pattern"
        f" ranges, {assigned:,} assigned numbers, {rules} rules"
    )
    print(f"input:  {source} in {input_s:.2f} s")
    print(f"build:  Snapshot.build {build_s:.2f} s (CPU time {build_cpu:.2f} s)")
    print(
        f"decide: {len(numbers):,} calls (explain=False), median {median_us:.2f} us,"
        f" p99 {p99_us:.2f} us, mean {statistics.fmean(timings) / 1000:.2f} us (first 20,000: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        + ")"
    )
    print(
        f"memory: snapshot {snapshot_mb:.0f} MB RSS (VmRSS with the snapshot alone, the config"
        f" deleted and collected, minus VmRSS before it was made); input config"
        f" {with_input - before:.0f} MB; process {with_both:.0f} MB right after the build,"
        f" {after:.0f} MB without the config; peak {peak_mb:.0f} MB (ru_maxrss)"
    )
    print(
        f"live:   {sum(parts.values()):.0f} MB by sys.getsizeof ("
        + ", ".join(f"{name} {size:.1f}" for name, size in parts.items())
        + ")"
    )
    failed = [name for name, target in TARGETS.items() if results[name] > target]
    if failed:
        print("MISSED: " + ", ".join(f"{n} {results[n]:.2f} > {TARGETS[n]}" for n in failed))
        return 1
    print("all targets met: " + ", ".join(f"{n} <= {t}" for n, t in TARGETS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
