"""Configuration changes pushed by PostgreSQL: LISTEN on a dedicated connection.

Every configuration write on PostgreSQL also runs ``NOTIFY vacant_config`` in its transaction
(:func:`vacant.store.rows.bump_version`), so the notification arrives when, and only if, the
change commits. :func:`listen` holds one asynchronous psycopg connection in autocommit mode,
LISTENs on the channel and calls ``on_notify`` for each notification; it also calls it right
after every (re)connection, since notifications sent while it was disconnected are lost. A
broken connection is retried after ``retry`` seconds, then less and less often (up to
:data:`MAX_RETRY`), until ``stop`` is set. SQLite has no
notifications: the server keeps polling the configuration version (and does on PostgreSQL too,
as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

#: How long one wait for notifications lasts before ``stop`` is looked at again.
WAKE_INTERVAL = 0.5
#: The longest wait between two attempts to reconnect.
MAX_RETRY = 10.0


def conninfo(url: URL) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    url: URL,
    channel: str,
    on_notify: Callable[[], None],
    stop: asyncio.Event,
    *,
    retry: float = 1.0,
) -> None:
    """Call ``on_notify`` for every notification on ``channel`` until ``stop`` is set."""
    if not channel.isidentifier():
        raise ValueError(f"channel {channel!r} is not an identifier")
    connected_once = False
    delay = retry
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo(url), autocommit=True, connect_timeout=5
            ) as conn:
                await conn.execute(f"LISTEN {channel}")
                if connected_once:
                    log.info("listening for configuration changes again")
                connected_once, delay = True, retry
                on_notify()  # whatever changed while we were not listening
                while not stop.is_set():
                    async for _ in conn.notifies(timeout=WAKE_INTERVAL):
                        on_notify()
        except psycopg.Error as exc:
            # The first failure in a row is a warning; then DEBUG, retried less and less often
            # (up to MAX_RETRY): the 1 s poll keeps the configuration current meanwhile.
            level = logging.WARNING if delay == retry else logging.DEBUG
            log.log(level, "LISTEN %s: %s; retrying in %.1f s", channel, exc, delay)
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass
            delay = min(delay * 2, max(retry, MAX_RETRY))
