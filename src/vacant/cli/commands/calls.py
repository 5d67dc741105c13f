"""``vacant calls``: the call records (CDRs) every INVITE leaves."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.service.imports import parse_since
from vacant.store.calls import list_calls

__all__ = ["parse_since"]


@click.group("calls")
def calls_group() -> None:
    """Call records."""


@calls_group.command("list")
@click.option("--since", help="Only calls since: 30m, 2h, 7d or an ISO 8601 time.")
@click.option("--number", help="Only calls to this number (as dialled or normalised).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@json_option
@pass_cli
def list_(
    cli: CliContext, since: str | None, number: str | None, limit: int, as_json: bool
) -> None:
    """List call records, newest first."""
    start = None if since is None else parse_since(since, datetime.now(UTC))
    with cli.session() as s:
        records = list_calls(s, since=start, number=number, limit=limit)
    rows = [
        [
            r.started.strftime("%Y-%m-%d %H:%M:%S"),
            r.caller,
            r.dialled,
            r.normalised or "-",
            r.decision,
            r.range_name or "-",
            str(r.status),
            f"{r.duration * 1000:.1f} ms",
            "-" if r.prompt_seconds is None else f"{r.prompt_seconds:.1f} s",
            r.outcome or "-",
            r.transfer_target or "-",
        ]
        for r in records
    ]
    headers = [
        "TIME (UTC)",
        "CALLER",
        "DIALLED",
        "NORMALISED",
        "DECISION",
        "RANGE",
        "STATUS",
        "DURATION",
        "PROMPT",
        "OUTCOME",
        "TRANSFER TO",
    ]
    emit(records, as_json, table(rows, headers))
