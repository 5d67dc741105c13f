"""Fixtures shared by the whole suite: databases.

``db_url`` gives each test an empty, migrated database, once on SQLite and once on PostgreSQL.
PostgreSQL is a private cluster this suite starts itself (``pg_cluster``): ``initdb`` into a
temporary directory, ``pg_ctl start`` on a free port of 127.0.0.1 with its unix socket in that
directory and ``fsync=off``; stopped and deleted when the session ends. As root (PostgreSQL
refuses to run as root) the cluster runs as ``nobody``. Missing binaries fail the test: DESIGN.md
§9, no skip hides a missing component.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from vacant.store.engine import make_engine, upgrade

PG_USER = "postgres"
PG_TEMPLATE = "vacant_template"
_RUN_AS = "nobody"


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    pytest.fail(
        f"PostgreSQL's {name} is not on PATH nor in /usr/lib/postgresql/*/bin: install"
        " PostgreSQL 15 (make test installs the Debian package)",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class PgCluster:
    """A running private PostgreSQL cluster: ``url(database)`` connects as its superuser."""

    host: str
    port: int
    socket_dir: Path
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/{database}"


def _run(argv: list[str], log: Path | None = None) -> None:
    user = group = None
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_RUN_AS)
        user, group = entry.pw_uid, entry.pw_gid
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
        user=user,
        group=group,
        extra_groups=None if user is None else [],
    )
    if result.returncode != 0:
        detail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
        pytest.fail(
            f"{' '.join(argv[:2])} failed ({result.returncode}):\n{result.stdout}\n"
            f"{result.stderr}\n{detail}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Start a private PostgreSQL cluster for the session (see the module docstring)."""
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    _pg_binary("postgres")
    base = Path(tempfile.mkdtemp(prefix="vacant-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(_RUN_AS)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data, sockets, log = base / "data", base / "run", base / "postgres.log"
    port = _free_port()
    try:
        _run([initdb, "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
              "--locale=C", "--no-sync"])  # fmt: skip
        _run(["mkdir", "-p", str(sockets)])
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        _run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             log)  # fmt: skip
        try:
            yield PgCluster("127.0.0.1", port, sockets, data)
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], log)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class PgDatabases:
    """Fresh databases copied from the migrated template (``CREATE DATABASE ... TEMPLATE``).

    A copy takes ~0.2 s, so a background thread keeps the next few ready while tests run, and
    drops the used ones. ``take()`` hands one out, ``give_back(name)`` drops it.
    """

    AHEAD = 4

    def __init__(self, admin: Engine) -> None:
        self._admin = admin
        self._names = (f"test_{os.getpid()}_{n}" for n in itertools.count())
        self._worker = ThreadPoolExecutor(max_workers=3, thread_name_prefix="pg-databases")
        self._ready: deque[Future[str]] = deque()
        self._pending: list[Future[None]] = []
        for _ in range(self.AHEAD):
            self._ready.append(self._worker.submit(self._create, next(self._names)))

    def _create(self, name: str) -> str:
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{PG_TEMPLATE}"'))
        return name

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def take(self) -> str:
        name = self._ready.popleft().result()
        self._ready.append(self._worker.submit(self._create, next(self._names)))
        return name

    def give_back(self, name: str) -> None:
        self._pending.append(self._worker.submit(self._drop, name))

    def close(self) -> None:
        """Wait for the drops; copies made ahead and never used go with the cluster."""
        for ahead in self._ready:
            ahead.cancel()
        self._worker.shutdown(wait=True)
        for drop in self._pending:
            drop.result()


@pytest.fixture(scope="session")
def pg_databases(pg_cluster: PgCluster) -> Iterator[PgDatabases]:
    """Creates the migrated template database on the cluster and hands out copies of it."""
    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{PG_TEMPLATE}"'))
        upgrade(pg_cluster.url(PG_TEMPLATE))
        databases = PgDatabases(admin)
        try:
            yield databases
        finally:
            databases.close()
    finally:
        admin.dispose()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, pg_databases: PgDatabases) -> Iterator[str]:
    """A fresh migrated PostgreSQL database of its own (given back after the test)."""
    name = pg_databases.take()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_databases.give_back(name)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on ``pg_url``."""
    made = make_engine(pg_url)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file every SQLite test database is copied from."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database of its own, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "vacant.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    yield request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine (:func:`vacant.store.engine.make_engine`) on ``db_url``, disposed after."""
    made = make_engine(db_url)
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on ``engine``; whatever it did not commit is rolled back after the test."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def db_url_factory(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Makes more databases of ``db_url``'s kind, empty and not migrated (no schema at all)."""
    made: list[str] = []
    counter = itertools.count()

    def make() -> str:
        n = next(counter)
        if db_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'extra-{n}.db'}"
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        name = f"extra_{os.getpid()}_{id(made)}_{n}"
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        made.append(name)
        return cluster.url(name)

    yield make
    if made:
        cluster = request.getfixturevalue("pg_cluster")
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for name in made:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
