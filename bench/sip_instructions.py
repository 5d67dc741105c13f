"""Instructions per call of the server's Python work, counted by Valgrind: a figure that repeats.

Usage (from the repository root)::

    make compiled && PYTHONPATH=$PWD/build/compiled .venv/bin/python bench/sip_instructions.py
    PYTHONPATH=$PWD/build/compiled .venv/bin/python bench/sip_instructions.py --top 30
    .venv/bin/python bench/sip_instructions.py        # the interpreted modules (slower)

What is counted: ``bench/sip_core.py --service`` (an INVITE, its 404 and the ACK through the
endpoint and the call handler, the call records written to SQLite, no sockets), run under
``valgrind --tool=callgrind`` twice at once: with 2,000 and with 7,000 calls, each after the same
2,000 warm-up calls. Both make the messages of 7,000 calls (``--generate``: formatting them costs
a seventh as much as the calls), and calls are 2.5 ms of simulated time apart (``--step``), so
Timer I (5 s) ends no call of the shorter run and, in the longer one, as many as it has more:
the difference of the two programs' instruction counts, divided by 5,000, is what one call
executes from its INVITE to its transaction's end; start-up, imports, the messages and the
warm-up cancel out. ``PYTHONHASHSEED`` is fixed, so dictionaries and sets lay out the same way in
every run. ``--top N`` adds, per call, the inclusive instructions of the N costliest compiled
functions (mypyc's ``CPyDef_`` symbols) and of a few C ones (the cyclic collector, SQLite): an
interpreted module's functions are not visible.

Why: on a shared virtual machine the time a call takes moves by a fifth from one minute to the
next (docs/benchmarks.md, twelfth round), so a change worth 1% never shows in timed runs of any
length; an instruction count hardly moves: five runs of one build gave 320,189-323,590, so a
change of 1-2% shows in a few runs of each build. It is not a time: a cache miss or a system call
counts as one instruction. Use it to compare two builds of the same code path, and the timed
benchmarks (``bench/sip_core.py``, ``bench/sip_cps.py``) for what a call costs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 2_000  # bench/sip_core.py warms up with min(calls, 2,000) calls
SHORT, LONG = 2_000, 7_000
HASH_SEED = "3261"
#: Simulated seconds per call: Timer I (T4, 5 s) ends SHORT calls after each call's ACK, so the
#: longer run retires (Timer I, the transaction's end, the TU's event) the calls it adds.
STEP = 5.0 / SHORT
#: ``callgrind_annotate`` lines: "  1,234,567 (12.34%)  file:function [object]".
_LINE = re.compile(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(\S+)")
_SHOWN = re.compile(r"CPyDef_|^gc_collect_main$|^sqlite3_step$")


def count(calls: int, workdir: Path) -> tuple[int, Path]:
    """Run the benchmark under callgrind; (instructions executed, the profile's path)."""
    out = workdir / f"callgrind.{calls}"
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    argv = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, str(ROOT / "bench" / "sip_core.py"), "--service", "--calls", str(calls),
        "--generate", str(LONG), "--step", str(STEP),
    ]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1)), out


def inclusive(profile: Path) -> dict[str, int]:
    """Each function's inclusive instructions in ``profile``."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    totals: dict[str, int] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is not None and "'" not in match.group(2):  # 'N: a recursion level
            name = match.group(2)
            totals[name] = max(totals.get(name, 0), int(match.group(1).replace(",", "")))
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=0, help="show the N costliest functions")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind)")
    calls = (LONG + min(LONG, WARM_UP)) - (SHORT + min(SHORT, WARM_UP))
    with tempfile.TemporaryDirectory(prefix="vacant-instructions-") as tmp:
        with ThreadPoolExecutor(2) as pool:
            (short, short_profile), (long, long_profile) = pool.map(
                lambda n: count(n, Path(tmp)), (SHORT, LONG)
            )
        origin = str(getattr(find_spec("vacant.sip.endpoint"), "origin", ""))
        compiled = "compiled" if origin.endswith(".so") else "interpreted"
        print(
            f"{(long - short) / calls:,.0f} instructions per call"
            f" (INVITE/404/ACK through the call handler, CDRs written; {LONG:,} - {SHORT:,}"
            f" calls under callgrind, PYTHONHASHSEED={HASH_SEED}, vacant modules {compiled})"
        )
        if args.top:
            before, after = inclusive(short_profile), inclusive(long_profile)
            rows = sorted(
                ((after[name] - before.get(name, 0)) / calls, name)
                for name in after
                if _SHOWN.search(name)
            )
            for per_call, name in rows[::-1][: args.top]:
                print(f"{per_call:12,.0f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
