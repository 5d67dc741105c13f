"""Alembic environment of vacant's store, driven from code by :func:`vacant.store.engine.upgrade`.

The caller passes an open connection in ``config.attributes["connection"]``; without one (the
``alembic`` command line pointed at this directory with ``-x url=...``), an engine is made from
that URL. ``render_as_batch`` lets the same migrations alter tables on SQLite.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from vacant.store.engine import make_engine
from vacant.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database with -x url=sqlite:///vacant.db")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
run_migrations_online()
