"""make_engine, session_scope and upgrade (DESIGN.md §7)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from vacant.errors import ConfigError, Conflict
from vacant.routing.model import Pool
from vacant.store import repository as repo
from vacant.store.engine import alembic_config, make_engine, parse_url, session_scope, upgrade
from vacant.store.models import PoolRow
from vacant.store.rows import writing


@pytest.mark.parametrize(
    "url",
    ["not a url", "mysql://u@h/db", "postgresql://u@h:notaport/db", "postgresql://u@h/", "://"],
)
def test_an_unusable_database_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"database URL"):
        make_engine(url)


def test_a_password_is_never_shown_in_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        make_engine("mysql://user:secret@host/db")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
        ("sqlite://", "sqlite"),
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str, driver: str) -> None:
    assert parse_url(url).drivername == driver


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_upgrade_from_a_url_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    upgrade(url)
    engine = make_engine(url)
    try:
        assert {"pools", "ranges", "config_version", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
        with session_scope(engine) as s:
            assert repo.config_version(s) == 0
    finally:
        engine.dispose()


def test_upgrade_accepts_an_engine(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == ScriptDirectory.from_config(alembic_config()).get_current_head()
        )


def test_session_scope_commits_when_the_block_ends(engine: Engine) -> None:
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create("a.example.com"))
    with session_scope(engine) as s:
        assert [p.name for p in repo.list_pools(s)] == ["a.example.com"]


def test_session_scope_rolls_back_on_any_exception(engine: Engine) -> None:
    def fail() -> None:
        with session_scope(engine) as s:
            repo.add_pool(s, Pool.create("a.example.com"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    with session_scope(engine) as s:
        assert repo.list_pools(s) == []


def test_a_failed_write_leaves_nothing_and_the_session_usable(session: Session) -> None:
    repo.add_pool(session, Pool.create("a.example.com"))
    version = repo.config_version(session)
    with pytest.raises(Conflict):
        repo.add_pool(session, Pool.create("a.example.com"))
    assert repo.config_version(session) == version
    repo.add_pool(session, Pool.create("b.example.com"))
    assert [p.name for p in repo.list_pools(session)] == ["a.example.com", "b.example.com"]


def test_a_uniqueness_the_database_enforces_becomes_a_conflict(session: Session) -> None:
    """A concurrent writer that slipped past the checks: the database refuses, nothing stays."""
    repo.add_pool(session, Pool.create("a.example.com"))
    with (
        pytest.raises(Conflict, match=r"pool 'a.example.com': the database refused"),
        writing(session, "pool 'a.example.com'"),
    ):
        session.add(PoolRow(name="a.example.com", backup=None, description=""))
    assert session.scalars(select(PoolRow.name)).all() == ["a.example.com"]


def _sqlite_pair(tmp_path: Path) -> tuple[Engine, Engine]:
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    upgrade(url)
    return make_engine(url), make_engine(url)


def _commit_a_pool(engine: Engine, name: str) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA busy_timeout = 50")
        connection.execute(PoolRow.__table__.insert().values(name=name, description=""))
        connection.commit()


def test_a_sqlite_reader_that_then_writes_fails_after_another_commit(tmp_path: Path) -> None:
    """Why writers begin IMMEDIATE: in WAL mode a transaction begun as a reader cannot write once
    another connection has committed since its first read (SQLITE_BUSY_SNAPSHOT, no busy wait)."""
    ours, theirs = _sqlite_pair(tmp_path)
    with (  # noqa: PT012
        pytest.raises(OperationalError, match="locked"),
        session_scope(ours, write=False) as s,
    ):
        s.scalars(select(PoolRow)).all()
        _commit_a_pool(theirs, "b")
        s.add(PoolRow(name="a", description=""))
        s.flush()


def test_a_sqlite_writing_session_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    """session_scope begins IMMEDIATE: the write lock is taken before the first read, so another
    writer waits (here it gives up after its short busy timeout) and ours cannot fail."""
    ours, theirs = _sqlite_pair(tmp_path)
    with session_scope(ours) as s:
        s.scalars(select(PoolRow)).all()
        with pytest.raises(OperationalError, match="locked"):
            _commit_a_pool(theirs, "b")
        s.add(PoolRow(name="a", description=""))
    with session_scope(ours, write=False) as s:
        assert [row.name for row in s.scalars(select(PoolRow))] == ["a"]


def test_savepoints_roll_back_inside_a_committed_transaction(engine: Engine) -> None:
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create("a.example.com"))
        with pytest.raises(Conflict):
            repo.add_pool(s, Pool.create("a.example.com"))
        repo.add_pool(s, Pool.create("b.example.com", backup="a.example.com"))
    with session_scope(engine) as s:
        assert [p.name for p in repo.list_pools(s)] == ["a.example.com", "b.example.com"]


def test_the_alembic_command_line_can_drive_the_migrations(tmp_path: Path) -> None:
    """``alembic -x url=...`` pointed at vacant/store/migrations (no connection passed)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config = alembic_config()
    assert "connection" not in config.attributes
    config.cmd_opts = Namespace(x=[f"url={url}"])
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        assert "ranges" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_alembic_command_line_needs_a_url_and_online_mode() -> None:
    config = alembic_config()
    with pytest.raises(SystemExit, match="-x url="):
        command.upgrade(config, "head")
    with pytest.raises(SystemExit, match="offline"):
        command.upgrade(config, "head", sql=True)
