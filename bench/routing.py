"""Routing benchmark: snapshot build time, decide() latency and the snapshot's resident memory.

Usage (from the repository root)::

    .venv/bin/python bench/routing.py                  # 1,000,000 ranges, 200,000 calls
    .venv/bin/python bench/routing.py --ranges 100000  # quicker

The configuration is generated in memory with a fixed seed: overlapping numeric ranges of random
spans (1 to 10^6 numbers, some crossing a length, e.g. 9999..10500), 70% global (``+``) and 30%
local, 10% with an extension, random priorities 0-9 with many ties; 5% of the ranges go to an
auto-attendant, 1% to a removed announcement. Also: a few pattern ranges, two normalisation rules
and 10,000 assigned numbers. The dialled numbers are 80% inside a random range, 20% anywhere;
90% are canonical strings (``+14255551234``), 10% tel:/sip: URIs with separators.

Measured: ``Snapshot.build`` wall time (time.perf_counter); each ``decide()`` call (explain=False)
timed with time.perf_counter_ns after 10,000 warm-up calls, median and p99; VmRSS from
/proc/self/status after generating the configuration and again after the build. The snapshot
keeps the configuration's NumberRange objects alive (it reports their names and bounds), so they
cannot be deleted to isolate it: the input is measured separately (RSS after generating it minus
before) and the snapshot is what the build adds (RSS after minus before, after gc.collect()).

Targets on the 2-core reference machine: build <= 10 s, decide median <= 3 us, p99 <= 20 us,
snapshot RSS <= 300 MB. The exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    RoutingConfig,
)
from vacant.routing.numbers import Number
from vacant.routing.policy import Snapshot

SEED = 20130101
TARGETS = {"build_s": 10.0, "median_us": 3.0, "p99_us": 20.0, "rss_mb": 300.0}


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    return _status_kb("VmHWM") / 1024


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
        for n in range(200)
    ]
    removed = uuid.UUID(int=rng.getrandbits(128))
    ranges: list[NumberRange] = []
    for position in range(count):
        is_global = rng.random() < 0.7
        ext = str(rng.randint(1, 9999)) if rng.random() < 0.1 else None
        start = _random_subscriber(rng, is_global)
        span = int(10 ** rng.uniform(0, 6))
        end = str(min(int(start) + span, 10**18 - 1))
        plus = "+" if is_global else ""
        draw = rng.random()
        announcement_id = None
        auto_attendant = None
        if draw < 0.05:
            auto_attendant = Number("+14255550100")
        elif draw < 0.06:
            announcement_id = removed
        else:
            announcement_id = announcements[rng.randrange(len(announcements))].id
        ranges.append(
            NumberRange(
                name=f"range-{position}",
                start=Number(plus + start, ext),
                end=Number(plus + end, ext),
                pattern=None,
                announcement_id=announcement_id,
                auto_attendant=auto_attendant,
                priority=rng.randint(0, 9),
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


def dialled_numbers(config: RoutingConfig, count: int, rng: random.Random) -> list[str]:
    """``count`` dialled strings: 80% inside a random range, 20% anywhere, 10% as URIs."""
    numeric = [r for r in config.ranges if r.start is not None and r.end is not None]
    out: list[str] = []
    for _ in range(count):
        if rng.random() < 0.8:
            chosen = numeric[rng.randrange(len(numeric))]
            assert chosen.start is not None
            assert chosen.end is not None
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranges", type=int, default=1_000_000, help="numeric ranges to generate")
    parser.add_argument("--numbers", type=int, default=200_000, help="decide() calls to time")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)

    gc.collect()
    baseline = rss_mb()
    config = generate(args.ranges, rng)
    gc.collect()
    with_input = rss_mb()

    started = time.perf_counter()
    snapshot = Snapshot.build(config)
    build_s = time.perf_counter() - started
    gc.collect()
    with_snapshot = rss_mb()
    # The snapshot keeps the configuration's NumberRange objects (it reports their names and
    # bounds) and adds its own columns and arrays: it is measured as what building adds to the
    # RSS, the input being alive before and after; the input is measured separately.
    snapshot_mb = with_snapshot - with_input

    numbers = dialled_numbers(config, args.numbers, rng)
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

    numeric = sum(1 for r in config.ranges if r.pattern is None)
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
        f" segments in {len(snapshot.table.groups):,} groups), {len(snapshot.patterns)} pattern"
        f" ranges, {len(config.assigned):,} assigned numbers, {len(config.rules)} rules"
    )
    print(f"build:  Snapshot.build {build_s:.2f} s")
    print(
        f"decide: {len(numbers):,} calls (explain=False), median {median_us:.2f} us,"
        f" p99 {p99_us:.2f} us, mean {statistics.fmean(timings) / 1000:.2f} us (first 20,000: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        + ")"
    )
    print(
        f"memory: snapshot {snapshot_mb:.0f} MB RSS (VmRSS after Snapshot.build minus before,"
        f" the input config alive in both and shared); input config {with_input - baseline:.0f}"
        f" MB (VmRSS after generating it minus before); process {with_snapshot:.0f} MB after the"
        f" build, peak {peak_rss_mb():.0f} MB"
    )
    failed = [name for name, target in TARGETS.items() if results[name] > target]
    if failed:
        print("MISSED: " + ", ".join(f"{n} {results[n]:.2f} > {TARGETS[n]}" for n in failed))
        return 1
    print("all targets met: " + ", ".join(f"{n} <= {t}" for n, t in TARGETS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
