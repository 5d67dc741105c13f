"""``vacant range``: the unassigned number table (ranges and patterns, in evaluation order)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.routing.model import NumberRange
from vacant.store import repository as repo

F = TypeVar("F", bound=Callable[..., None])
T = TypeVar("T")


def given(value: T | None) -> T | repo.Unset:
    """A ``set`` option: the new value, or left alone when not given."""
    return repo.UNSET if value is None else value


@click.group("range")
def range_group() -> None:
    """Unassigned number ranges: lowest priority value wins; ties go to the older range."""


def _target_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--start", help="First number, e.g. +14255551000 (tel: optional)."),
            click.option("--end", help="Last number; same extension as --start, if any."),
            click.option("--pattern", help="Regular expression matching the whole number."),
            click.option("--announcement", help="Announcement NAME (with --pool)."),
            click.option("--pool", help="Pool of the announcement."),
            click.option("--auto-attendant", help="Auto-attendant number to redirect to."),
            click.option(
                "--priority", type=click.IntRange(min=0), help="Lower wins; default: last."
            ),
            click.option("--description", help="Free text."),
        ]
    ):
        func = option(func)
    return func


def _announcement(announcement: str | None, pool: str | None) -> tuple[str, str] | None:
    if (announcement is None) != (pool is None):
        raise click.UsageError("--announcement and --pool go together (as in Lync)")
    return None if announcement is None or pool is None else (pool, announcement)


@range_group.command("add")
@click.argument("name")
@_target_options
@json_option
@pass_cli
def add(
    cli: CliContext,
    name: str,
    start: str | None,
    end: str | None,
    pattern: str | None,
    announcement: str | None,
    pool: str | None,
    auto_attendant: str | None,
    priority: int | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Create range NAME (the name is global, unique and cannot change)."""
    with cli.admin() as admin:
        created = admin.add_range(
            name,
            start=start,
            end=end,
            pattern=pattern,
            announcement=_announcement(announcement, pool),
            auto_attendant=auto_attendant,
            priority=priority,
            description=description or "",
        )
    emit(created, as_json, f"created range {created.name} (priority {created.priority})")


@range_group.command("set")
@click.argument("name")
@_target_options
@json_option
@pass_cli
def set_(
    cli: CliContext,
    name: str,
    start: str | None,
    end: str | None,
    pattern: str | None,
    announcement: str | None,
    pool: str | None,
    auto_attendant: str | None,
    priority: int | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Change range NAME; switching to --pattern or --auto-attendant clears the other kind."""
    target = _announcement(announcement, pool)

    with cli.admin() as admin:
        updated = admin.update_range(
            name,
            start=given(start),
            end=given(end),
            pattern=given(pattern),
            announcement=given(target),
            auto_attendant=given(auto_attendant),
            priority=given(priority),
            description=given(description),
        )
    emit(updated, as_json, f"updated range {updated.name}")


def _rows(ranges: list[NumberRange], announcements: dict[str, str]) -> list[list[str]]:
    rows = []
    for r in ranges:
        span = [r.pattern or "", ""] if r.pattern else [str(r.start), str(r.end)]
        if r.auto_attendant is not None:
            dest = f"auto attendant {r.auto_attendant}"
        else:
            dest = announcements.get(str(r.announcement_id), f"(removed {r.announcement_id})")
        rows.append([r.name, str(r.priority), *span, dest])
    return rows


@range_group.command("list")
@click.option("--filter", "name_filter", help="Only ranges whose name contains this text.")
@json_option
@pass_cli
def list_(cli: CliContext, name_filter: str | None, as_json: bool) -> None:
    """List ranges in evaluation order (first match wins)."""
    with cli.session() as s:
        ranges = repo.list_ranges(s)
        anns = {str(a.id): f"{a.pool}/{a.name}" for a in repo.list_announcements(s)}
    if name_filter:
        ranges = [r for r in ranges if name_filter.lower() in r.name.lower()]
    headers = ["NAME", "PRIORITY", "START/PATTERN", "END", "DESTINATION"]
    emit(ranges, as_json, table(_rows(ranges, anns), headers))


@range_group.command("show")
@click.argument("name")
@json_option
@pass_cli
def show(cli: CliContext, name: str, as_json: bool) -> None:
    """Show range NAME."""
    with cli.session() as s:
        found = repo.get_range(s, name)
    emit(found, as_json)


@range_group.command("remove")
@click.argument("name")
@pass_cli
def remove(cli: CliContext, name: str) -> None:
    """Remove range NAME."""
    with cli.admin() as admin:
        admin.remove_range(name)
    click.echo(f"removed range {name}")


@range_group.command("move")
@click.argument("name")
@click.option("--up", is_flag=True, help="One place earlier in evaluation order.")
@click.option("--down", is_flag=True, help="One place later.")
@click.option("--before", metavar="OTHER", help="Just before range OTHER.")
@json_option
@pass_cli
def move(
    cli: CliContext, name: str, up: bool, down: bool, before: str | None, as_json: bool
) -> None:
    """Move range NAME in evaluation order, like Lync's Move up / Move down."""
    if sum((up, down, before is not None)) != 1:
        raise click.UsageError("give exactly one of --up, --down, --before OTHER")
    with cli.admin() as admin:
        order = admin.move_range(name, up=up, down=down, before=before)
    names = [r.name for r in order]
    emit(names, as_json, "\n".join(f"{i + 1:>4}  {n}" for i, n in enumerate(names)))
