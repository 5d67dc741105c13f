"""``vacant audit``: the log of every configuration change (CLI, REST API, console)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.service.imports import parse_since
from vacant.store.audit import MAX_LIMIT, list_audit


@click.group("audit")
def audit_group() -> None:
    """Who changed what, when: before and after."""


def _brief(value: Any) -> str:
    return "-" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@audit_group.command("list")
@click.option("--since", help="Only changes since: 30m, 2h, 7d or an ISO 8601 time.")
@click.option("--actor", help="Only this actor (user:NAME, token:NAME, cli:NAME; or user: etc.).")
@click.option("--action", help="Only this action (range.update) or kind of object (range).")
@click.option("--object", "obj", help="Only changes of this object (a range's name, pool/name).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=100, show_default=True)
@json_option
@pass_cli
def list_(
    cli: CliContext,
    since: str | None,
    actor: str | None,
    action: str | None,
    obj: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List changes, newest first (with --json: the objects before and after)."""
    start = None if since is None else parse_since(since, datetime.now(UTC))
    with cli.session() as s:
        entries = list_audit(s, since=start, actor=actor, action=action, object=obj, limit=limit)
    rows = [
        [
            f"{e.time:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.action,
            e.object,
            _brief(e.before)[:60],
            _brief(e.after)[:60],
        ]
        for e in entries
    ]
    headers = ["TIME (UTC)", "ACTOR", "ACTION", "OBJECT", "BEFORE", "AFTER"]
    emit(entries, as_json, table(rows, headers))
