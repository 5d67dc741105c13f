"""``vacant calls``: the call records (CDRs) every INVITE leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.errors import ValidationError
from vacant.store.calls import list_calls

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime) -> datetime:
    """``30m``, ``2h``, ``7d`` ago, or an ISO 8601 time (UTC when it names no zone)."""
    unit = _UNITS.get(value[-1:])
    if unit and value[:-1].isdigit():
        return now - timedelta(**{unit: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "since", f"{value!r} is neither like 30m, 2h, 7d nor an ISO 8601 time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    ]
    emit(records, as_json, table(rows, headers))


def register(cli: click.Group) -> None:
    cli.add_command(calls_group)
