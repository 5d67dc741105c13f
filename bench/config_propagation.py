"""Configuration change to all instances applied: how long from the commit of a change until
every ``vacant serve`` sharing the PostgreSQL database serves the new snapshot.

Usage (from the repository root)::

    .venv/bin/python bench/config_propagation.py                 # 4 instances, 100 changes
    .venv/bin/python bench/config_propagation.py --instances 8 --changes 200

A private PostgreSQL cluster is started the way the test suite starts one (``tests/conftest.py``:
``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port, ``fsync=off``;
as root it runs as ``nobody``), migrated, and given a small configuration (one pool, one
announcement, one range). N ``vacant serve --pool bench.example.com`` processes start on free
loopback ports. Then each change is one committing configuration write made in this process
through the store (``repository.update_pool``: a new description), and from just after its commit
returns, every instance's ``/healthz`` is polled (one thread per instance, every 2 ms) until it
reports the change's configuration version (``config_version``: the version of the snapshot it
serves). The time for a change is the slowest instance's; changes are 0.25 s apart.

Printed: p50, p99 and max over the changes of "applied on all instances", and over every
(change, instance) pair. The exit status is 1 when p99 of "applied on all instances" is above
1 s (the issue's target), 0 otherwise. Every child process and the cluster are stopped at the
end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text

from vacant.routing.model import Announcement, Pool
from vacant.store import repository as repo
from vacant.store.engine import make_engine, session_scope, upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
from tests.conftest import _RUN_AS, PgCluster, _free_port, _pg_binary, _run

POOL = "bench.example.com"
LOCALHOST = "127.0.0.1"


@contextlib.contextmanager
def cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster, as ``tests/conftest.py``'s ``pg_cluster`` starts it."""
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="vacant-bench-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_RUN_AS)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, sockets, log = base / "data", base / "run", base / "postgres.log"
    port = _free_port()
    try:
        _run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync"])  # fmt: skip
        _run(["mkdir", "-p", str(sockets)])
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             log)  # fmt: skip
        try:
            yield PgCluster(LOCALHOST, port, sockets, data)
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], log)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _version(http_port: int) -> int:
    url = f"http://{LOCALHOST}:{http_port}/healthz"
    with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
        return int(json.loads(response.read())["config_version"])


def _wait_for(http_port: int, version: int, started: float, timeout: float = 10.0) -> float:
    """Seconds from ``started`` until the instance serves ``version`` (or later)."""
    while time.monotonic() - started < timeout:
        try:
            if _version(http_port) >= version:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.002)
    return float("inf")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=4, help="vacant serve processes")
    parser.add_argument("--changes", type=int, default=100, help="configuration changes")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between changes")
    args = parser.parse_args()
    if not 1 <= args.instances <= 32 or not 1 <= args.changes <= 10_000:
        parser.error("--instances must be 1..32 and --changes 1..10000")
    with cluster() as pg, contextlib.ExitStack() as stack:
        admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "bench"'))
        admin.dispose()
        url = pg.url("bench")
        upgrade(url)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        with session_scope(engine) as s:
            repo.add_pool(s, Pool.create(POOL))
            repo.add_announcement(s, Announcement.create(POOL, "Gone", target="sip:op@example.com"))
            repo.add_range(s, "R", start="+14255550000", end="+14255559999",
                           announcement=(POOL, "Gone"))  # fmt: skip
        workdir = Path(tempfile.mkdtemp(prefix="vacant-bench-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        servers: list[tuple[subprocess.Popen[bytes], int]] = []
        for n in range(args.instances):
            sip, http = _port(socket.SOCK_DGRAM), _port(socket.SOCK_STREAM)
            log = (workdir / f"vacant-{n}.log").open("wb")
            stack.callback(log.close)
            process = subprocess.Popen(
                [sys.executable, "-m", "vacant", "--db", url, "serve", "--pool", POOL,
                 "--sip", f"udp:{LOCALHOST}:{sip}", "--http", f"{LOCALHOST}:{http}",
                 "--rtp-ports", f"{30000 + 200 * n}-{30000 + 200 * n + 199}"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            stack.callback(_stop, process)
            servers.append((process, http))
        for process, http in servers:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _version(http)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        print((workdir / "vacant-0.log").read_text(errors="replace"))
                        raise SystemExit("an instance did not start") from None
                    time.sleep(0.05)
        print(f"{args.instances} instances up; {args.changes} changes, {args.gap} s apart")
        slowest: list[float] = []
        each: list[float] = []
        with ThreadPoolExecutor(max_workers=args.instances) as pool:
            for n in range(args.changes):
                with session_scope(engine) as s:
                    repo.update_pool(s, POOL, description=f"change {n}")
                    version = repo.config_version(s)
                committed = time.monotonic()
                waits = [
                    pool.submit(_wait_for, http, version, committed) for _process, http in servers
                ]
                times = [w.result() for w in waits]
                each += times
                slowest.append(max(times))
                time.sleep(args.gap)
    for name, values in (("applied on all instances", slowest), ("per instance", each)):
        print(
            f"{name:>26}: p50 {_percentile(values, 50) * 1000:7.1f} ms"
            f"  p99 {_percentile(values, 99) * 1000:7.1f} ms"
            f"  max {max(values) * 1000:7.1f} ms  (n={len(values)})"
        )
    mean = statistics.fmean(slowest)
    print(f"mean, all instances: {mean * 1000:.1f} ms")
    return 0 if _percentile(slowest, 99) <= 1.0 else 1


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


if __name__ == "__main__":
    sys.exit(main())
