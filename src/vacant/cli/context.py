"""What every command shares: the database URL, an engine made on first use, output helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vacant.service.admin import Admin, cli_actor, jsonable
from vacant.store.engine import make_engine, session_scope
from vacant.store.repository import UNSET, Unset

DEFAULT_DB = "sqlite:///vacant.db"


class CliContext:
    """Owns the engine for one CLI invocation; disposed when the command ends."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        with session_scope(self.engine) as session:
            yield session

    @contextmanager
    def admin(self) -> Iterator[Admin]:
        """One transaction of audited configuration writes by ``cli:<os user>``."""
        with self.session() as session:
            yield Admin(session, cli_actor())

    def __enter__(self) -> CliContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._engine is not None:
            self._engine.dispose()


def emit(value: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``value`` as JSON, or ``text`` (default: a ``key: value`` block) for people."""
    if as_json:
        click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))
    elif text is not None:
        click.echo(text)
    else:
        data = jsonable(value)
        click.echo("\n".join(f"{k}: {'' if v is None else v}" for k, v in data.items()))


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain text table with aligned columns."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


pass_cli = click.make_pass_decorator(CliContext)


def change(value: str | None, clear: bool) -> str | Unset | None:
    """An optional field of a ``set`` command: a new value, ``None`` (cleared with ``--no-X``),
    or :data:`UNSET` (left alone)."""
    if value is not None and clear:
        raise click.UsageError("give a new value or clear it, not both")
    if clear:
        return None
    return UNSET if value is None else value
