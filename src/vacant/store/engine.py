"""Engines, sessions and schema migrations.

``make_engine(url)`` accepts ``sqlite:///path`` (or ``sqlite://`` for memory) and
``postgresql://user@host/db`` (driven by psycopg 3). SQLite connections get foreign keys ON, the
WAL journal (readers never block the writer) and real transactions: the ``sqlite3`` module's
legacy transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself, so SAVEPOINTs
and transactional DDL behave as on PostgreSQL.

A SQLite transaction that reads and then writes must take the write lock when it begins
(``BEGIN IMMEDIATE``): begun as a reader, its first write fails at once with "database is locked"
(SQLITE_BUSY_SNAPSHOT, no busy wait) whenever another process — a server's heartbeat or call
records — committed since its first read. ``session_scope`` therefore begins IMMEDIATE unless the
caller says the transaction only reads (``write=False``); writers then queue on the busy timeout.

``upgrade(engine_or_url)`` runs the Alembic migrations of ``vacant/store/migrations`` to head,
driven from code (there is no ``alembic.ini``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from vacant.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL for ``url``, with the driver vacant uses; ConfigError when unusable."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"database URL {_redact(url)!r} cannot be read: expected sqlite:///PATH or"
            " postgresql://USER@HOST[:PORT]/DATABASE"
        ) from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"database URL {_redact(url)!r}: {parsed.drivername!r} is not supported"
            " (use sqlite:///PATH or postgresql://USER@HOST[:PORT]/DATABASE)"
        )
    if driver.startswith("postgresql") and not parsed.database:
        raise ConfigError(f"database URL {_redact(url)!r} names no database")
    return parsed.set(drivername=driver)


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url[:80]


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (see the module docstring). Dispose of it when done."""
    parsed = parse_url(url)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError, TypeError) as exc:  # pragma: no cover - defensive
        raise ConfigError(f"database URL {_redact(url)!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # No BEGIN from the sqlite3 module: SQLAlchemy emits it (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA busy_timeout = 5000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


#: Execution option of the connections of a transaction that writes (see the module docstring).
_WRITE = "vacant_write"


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session inside one transaction: committed when the block ends, rolled back on any
    exception (which propagates). ``write=False`` promises the transaction only reads: on SQLite
    it then takes no write lock (see the module docstring)."""
    bind = engine.execution_options(**{_WRITE: True}) if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of vacant's migrations, optionally bound to a connection.

    Alembic is imported here, not at module level: only ``db upgrade`` and tests need it, and
    every other command starts faster without it.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the newest by default)."""
    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)
        try:
            _upgrade(engine, revision)
        finally:
            engine.dispose()
    else:
        _upgrade(engine_or_url, revision)


def _upgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        from alembic import command

        command.upgrade(alembic_config(connection), revision)
    logger.info("database schema at %s", revision)
