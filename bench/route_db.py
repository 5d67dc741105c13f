"""``vacant route`` on a database of a million ranges: wall time of the command, end to end.

Usage (from the repository root)::

    .venv/bin/python bench/route_db.py                           # 1,000,000 ranges, SQLite
    .venv/bin/python bench/route_db.py --ranges 100000 --db /tmp/small.db
    .venv/bin/python bench/route_db.py --postgres postgresql://USER@HOST/DB

The database is created as ``vacant db upgrade`` creates it (:func:`vacant.store.engine.upgrade`),
then filled: a pool, four announcements (one busy: no prompt, no target), two normalisation rules
and 1,000 assigned numbers through the repository, three pattern ranges, and the ``--ranges``
random overlapping numeric ranges that ``bench/routing.py`` generates (same seed, same bounds and
priorities: 70% global, 10% with an extension, spans of 1 to 10^6 numbers, 5% to an
auto-attendant, 1% to a removed announcement, priorities 0-9; its 200 announcements folded onto
these four), bulk-inserted with Core ``INSERT`` in batches, with progress. The lookup columns
(``family``, ``start_key``, ``end_key``) are computed with the store's own helpers
(:func:`~vacant.store.rows.number_family`, :func:`~vacant.store.rows.number_key`), as the
repository fills them. An existing database holding the same number of numeric ranges is reused
(``--db`` defaults to ``/tmp/vacant-route-N.db``); any other non-empty database is refused.

Measured: the wall time (time.perf_counter) of ``vacant --db URL route NUMBER --json`` run as a
subprocess (the installed console script), ``--runs`` times for each of several numbers: inside
random ranges, inside an extension range, outside every range (a length no range has, which
makes the covering-range query scan its family's whole index), a local number, and a number
rewritten by a normalisation rule. Also ``vacant --version`` (interpreter start and imports, no
database) as the floor and, to show where the time goes, :func:`vacant.service.lookup.route`
alone timed in this process (the queries, the snapshot of the relevant rows, the explanation),
the same dry run in a process that imports only what it needs (:data:`LEAN_ROUTE`: what
``vacant route`` would take with the imports of ``vacant serve`` and of alembic deferred), and the
largest cumulative imports of ``python -X importtime -m vacant --version``. Target: every
``vacant route`` answer within 2 s. The exit status is 1 when one is not.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from routing import ANNOUNCEMENTS, SEED, random_range  # bench/routing.py: the same ranges
from sqlalchemy import Engine, func, insert, inspect, select

from vacant.routing.model import Announcement, NormalisationRule, Pool
from vacant.routing.numbers import Number
from vacant.service.lookup import route
from vacant.store import repository as repo
from vacant.store.engine import make_engine, session_scope, upgrade
from vacant.store.models import RangeRow, utc_now
from vacant.store.rows import bump_version, number_family, number_key

TARGET_S = 2.0
BATCH = 20_000
POOL = "pool1.example.com"
AUTO_ATTENDANT = Number("+14255550100")
PATTERNS = [r"\+1900\d{7}", r"\+44870\d{7}", r"\+3389\d{7}"]


def _announcements() -> list[Announcement]:
    return [
        Announcement.create(
            POOL,
            "not in service",
            tts_text="The number you dialled is not in service.",
            language="en-US",
            target="sip:operator@example.com",
        ),
        Announcement.create(
            POOL, "moved", tts_text="This number has moved.", language="en-GB", target=None
        ),
        Announcement.create(POOL, "operator", target="sip:operator@example.com"),
        Announcement.create(POOL, "busy"),  # no prompt, no target: busy
    ]


def _range_rows(
    count: int, rng: random.Random, ids: list[str], first: int
) -> Iterator[dict[str, Any]]:
    """The rows of ``count`` random numeric ranges ``range-1`` …, at positions from ``first``
    (after the ranges already there, as the repository numbers them)."""
    removed = str(uuid.UUID(int=rng.getrandbits(128)))
    created = utc_now()
    for n in range(1, count + 1):
        drawn = random_range(rng, ANNOUNCEMENTS)
        start, end = drawn.start, drawn.end
        announcement_id: str | None = None
        auto_attendant: str | None = None
        if drawn.target == "auto-attendant":
            auto_attendant = AUTO_ATTENDANT.uri
        elif drawn.target == "removed":
            announcement_id = removed
        else:
            announcement_id = ids[drawn.announcement % len(ids)]
        yield {
            "name": f"range-{n}",
            "start_number": start.uri,
            "end_number": end.uri,
            "family": number_family(start),
            "start_key": number_key(start),
            "end_key": number_key(end),
            "pattern": None,
            "announcement_id": announcement_id,
            "auto_attendant": auto_attendant,
            "priority": drawn.priority,
            "position": first + n - 1,
            "description": "",
            "created": created,
        }


def _numeric_count(engine: Engine) -> int | None:
    """How many numeric ranges the database holds; ``None`` when it has no schema yet."""
    if not inspect(engine).has_table("ranges"):
        return None
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).where(RangeRow.pattern.is_(None))) or 0


def fill(engine: Engine, count: int) -> None:
    """Migrate the database and insert the configuration (see the module docstring)."""
    started = time.perf_counter()
    upgrade(engine)
    announcements = _announcements()
    picked = random.Random(SEED + 2)
    assigned = sorted({f"+1{picked.randint(10**9, 10**10 - 1)}" for _ in range(1000)})
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create(POOL))
        for announcement in announcements:
            repo.add_announcement(s, announcement)
        repo.add_rule(s, NormalisationRule.create("4 digits", r"(\d{4})", "+1425555$1"))
        repo.add_rule(s, NormalisationRule.create("international", r"00(\d+)", "+$1"))
        repo.import_numbers(
            s,
            (
                (line, number, f"sip:user{line}@example.com", "")
                for line, number in enumerate(assigned, 1)
            ),
        )
        for n, pattern in enumerate(PATTERNS):
            repo.add_range(
                s, f"pattern-{n}", pattern=pattern, announcement=(POOL, "moved"), priority=9
            )
    ids = [str(a.id) for a in announcements]
    table = RangeRow.__table__
    done = 0
    with session_scope(engine) as s:
        first = (s.scalar(select(func.max(RangeRow.position))) or 0) + 1
    rows = _range_rows(count, random.Random(SEED), ids, first)  # bench/routing.py's ranges
    while True:
        batch = [row for _, row in zip(range(BATCH), rows, strict=False)]
        if not batch:
            break
        with engine.begin() as connection:
            connection.execute(insert(table), batch)
        done += len(batch)
        elapsed = time.perf_counter() - started
        print(f"\r  {done:,} / {count:,} ranges inserted ({elapsed:.0f} s)", end="", flush=True)
    with session_scope(engine) as s:  # a running server reloads when the version changes
        bump_version(s)
    print(f"\n  filled in {time.perf_counter() - started:.1f} s")


def sample_numbers(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(what, number) pairs to route: inside ranges, an extension, outside, local, a rule."""
    rng = random.Random(SEED + 1)
    out: list[tuple[str, str]] = []
    t = RangeRow
    with session_scope(engine) as s:
        for _ in range(3):
            row = s.execute(
                select(t.start_number, t.end_number)
                .where(t.pattern.is_(None), t.id >= rng.randint(1, count))
                .order_by(t.id)
                .limit(1)
            ).one()
            out.append(("inside", _between(row.start_number, row.end_number, rng)))
        ext = s.execute(
            select(t.start_number, t.end_number)
            .where(t.family.like("+;ext=%"))
            .order_by(t.id)
            .limit(1)
        ).one_or_none()
        if ext is not None:
            out.append(("extension", _between(ext.start_number, ext.end_number, rng)))
    out.append(("outside", "+999999999999999"))  # 15 digits: longer than every global range
    out.append(("outside", "+1" + "0" * 10))
    out.append(("local", "5550123"))
    out.append(("rule", "4321"))  # "4 digits" rewrites it to +14255554321
    return out


def _between(start_uri: str, end_uri: str, rng: random.Random) -> str:
    start, _, ext = start_uri.removeprefix("tel:").partition(";ext=")
    end = end_uri.removeprefix("tel:").partition(";ext=")[0]
    plus = "+" if start.startswith("+") else ""
    value = rng.randint(int(start.lstrip("+")), int(end.lstrip("+")))
    return f"tel:{plus}{value}" + (f";ext={ext}" if ext else "")


def _vacant() -> list[str]:
    script = Path(sys.executable).with_name("vacant")
    return [str(script)] if script.exists() else [sys.executable, "-m", "vacant"]


def timed(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*_vacant(), *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"vacant {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return elapsed, done.stdout


#: ``vacant route NUMBER --json`` with only the imports it needs: the CLI context, the dry run and
#: click, without the modules of ``vacant serve`` (FastAPI, uvicorn, the SIP stack) that
#: ``vacant.cli.main`` imports for every command, and with stand-ins for alembic, which
#: ``vacant.store.engine`` imports at load time but only ``vacant db upgrade`` uses.
LEAN_ROUTE = """
import sys, types
for name in ("alembic", "alembic.command", "alembic.config"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["alembic"].command = sys.modules["alembic.command"]
sys.modules["alembic.config"].Config = object
from vacant.cli.context import CliContext, emit
from vacant.routing.policy import decision_to_json
from vacant.service.lookup import route
with CliContext(sys.argv[1]) as cli, cli.session() as s:
    emit(decision_to_json(route(s, sys.argv[2])), True)
"""


def lean(url: str, numbers: list[tuple[str, str]], runs: int) -> None:
    """What ``vacant route`` would take if it imported only what it needs (:data:`LEAN_ROUTE`)."""
    times: list[float] = []
    for _, number in numbers:
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", LEAN_ROUTE, url, number], capture_output=True, check=True
            )
            times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"lean route, only the imports route needs ({len(times)} runs): min {times[0]:.3f} s,"
        f" median {statistics.median(times):.3f} s, max {times[-1]:.3f} s"
    )


def in_process(url: str, numbers: list[tuple[str, str]], runs: int) -> None:
    """The share of ``vacant route`` that is not start-up: :func:`vacant.service.lookup.route`
    (the queries, the snapshot of the relevant rows, the explanation) timed in this process."""
    engine = make_engine(url)
    try:
        times: list[float] = []
        for _, number in numbers:
            for _ in range(runs):
                with session_scope(engine) as s:
                    started = time.perf_counter()
                    route(s, number)
                    times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    times.sort()
    print(
        f"in process, lookup.route() alone ({len(times)} runs): min {times[0] * 1000:.0f} ms,"
        f" median {statistics.median(times) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )


def importtime(top: int = 6) -> str:
    """The modules ``vacant --version`` spends the most time importing (cumulative, ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vacant", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            found.append((int(parts[1]), parts[2].strip()))
    found.sort(reverse=True)
    return ", ".join(f"{name} {us / 1000:.0f}" for us, name in found[:top])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranges", type=int, default=1_000_000, help="numeric ranges to insert")
    parser.add_argument("--db", help="SQLite file (default /tmp/vacant-route-RANGES.db)")
    parser.add_argument("--postgres", help="a PostgreSQL URL to use instead of SQLite")
    parser.add_argument("--runs", type=int, default=5, help="runs of vacant route per number")
    args = parser.parse_args(argv)
    if args.postgres:
        url = args.postgres
    else:
        path = Path(args.db or f"/tmp/vacant-route-{args.ranges}.db").resolve()
        url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        present = _numeric_count(engine)
        if present == args.ranges:
            print(f"reusing {engine.url.render_as_string()}: {present:,} numeric ranges")
        elif present:
            print(
                f"{engine.url.render_as_string()} holds {present:,} numeric ranges, not"
                f" {args.ranges:,}: remove it or give another --db"
            )
            return 2
        else:
            print(f"filling {engine.url.render_as_string()} with {args.ranges:,} ranges")
            fill(engine, args.ranges)
        numbers = sample_numbers(engine, args.ranges)
    finally:
        engine.dispose()

    floor = sorted(timed(["--version"])[0] for _ in range(args.runs))
    print(
        f"vacant --version: min {floor[0]:.3f} s, median {statistics.median(floor):.3f} s,"
        f" max {floor[-1]:.3f} s"
    )
    worst = 0.0
    every: list[float] = []
    for what, number in numbers:
        times: list[float] = []
        for _ in range(args.runs):
            elapsed, out = timed(["--db", url, "route", number, "--json"])
            times.append(elapsed)
        data = json.loads(out)
        times.sort()
        every += times
        worst = max(worst, times[-1])
        print(
            f"vacant route {number} ({what}): min {times[0]:.3f} s, median"
            f" {statistics.median(times):.3f} s, max {times[-1]:.3f} s -> {data['decision']}"
            f" {data['range'] or ''} ({len(data['explanation'])} lines of explanation)"
        )
    every.sort()
    print(
        f"all {len(every)} runs: min {every[0]:.3f} s, median {statistics.median(every):.3f} s,"
        f" max {every[-1]:.3f} s"
    )
    in_process(url, numbers, args.runs)
    lean(url, numbers, args.runs)
    print(f"imports of vacant --version, the largest (python -X importtime): {importtime()}")
    if worst > TARGET_S:
        print(f"MISSED: vacant route took {worst:.2f} s > {TARGET_S} s")
        return 1
    print(f"target met: every vacant route within {TARGET_S} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
