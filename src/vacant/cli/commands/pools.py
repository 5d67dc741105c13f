"""``vacant pool``: pools (groups of servers), their backup pools, their instances and health,
and disaster recovery (failover, failback; docs/pools.md)."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import Any

import click

from vacant.cli.context import CliContext, change, emit, json_option, pass_cli, table
from vacant.routing import model
from vacant.routing.model import Pool
from vacant.service.admin import cli_actor, jsonable
from vacant.store import repository as repo

#: Test hook: seconds to sleep between the steps of a failover or failback (inside its
#: transaction), so a test can kill the process halfway.
STEP_DELAY_ENV = "VACANT_TEST_STEP_DELAY"

auto_failover_option = click.option(
    "--auto-failover/--no-auto-failover",
    default=None,
    help="Let the backup pool answer this pool's ranges while it is down (default off).",
)
down_after_option = click.option(
    "--down-after",
    type=float,
    metavar="SECONDS",
    help=f"Down when no instance heartbeated for this long (default {model.DEFAULT_DOWN_AFTER:g}).",
)
failback_after_option = click.option(
    "--failback-after",
    type=float,
    metavar="SECONDS",
    help="The backup stops once an instance is healthy again this long"
    f" (default {model.DEFAULT_FAILBACK_AFTER:g}).",
)


@click.group("pool")
def pool_group() -> None:
    """Pools: groups of vacant servers; a pool may have a backup pool."""


@pool_group.command("add")
@click.argument("name")
@click.option("--backup", help="The pool that serves this pool's ranges during an outage.")
@click.option("--description", default="", help="Free text.")
@auto_failover_option
@down_after_option
@failback_after_option
@json_option
@pass_cli
def add(
    cli: CliContext,
    name: str,
    backup: str | None,
    description: str,
    auto_failover: bool | None,
    down_after: float | None,
    failback_after: float | None,
    as_json: bool,
) -> None:
    """Create pool NAME (an FQDN-like id, e.g. pool1.example.com)."""
    value = Pool.create(
        name,
        backup,
        description,
        auto_failover=bool(auto_failover),
        down_after=model.DEFAULT_DOWN_AFTER if down_after is None else down_after,
        failback_after=model.DEFAULT_FAILBACK_AFTER if failback_after is None else failback_after,
    )
    with cli.admin() as admin:
        pool = admin.add_pool(value)
    emit(pool, as_json, f"created pool {pool.name}")


@pool_group.command("set")
@click.argument("name")
@click.option("--backup", help="New backup pool.")
@click.option("--no-backup", is_flag=True, help="Remove the backup pool.")
@click.option("--description", help="New description.")
@auto_failover_option
@down_after_option
@failback_after_option
@json_option
@pass_cli
def set_(
    cli: CliContext,
    name: str,
    backup: str | None,
    no_backup: bool,
    description: str | None,
    auto_failover: bool | None,
    down_after: float | None,
    failback_after: float | None,
    as_json: bool,
) -> None:
    """Change pool NAME."""
    with cli.admin() as admin:
        pool = admin.update_pool(
            name,
            backup=change(backup, no_backup),
            description=repo.UNSET if description is None else description,
            auto_failover=repo.UNSET if auto_failover is None else auto_failover,
            down_after=repo.UNSET if down_after is None else down_after,
            failback_after=repo.UNSET if failback_after is None else failback_after,
        )
    emit(pool, as_json, f"updated pool {pool.name}")


@pool_group.command("list")
@json_option
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List pools."""
    with cli.session() as s:
        pools = repo.list_pools(s)
    rows = [
        [p.name, p.backup or "-", "on" if p.auto_failover else "off", p.description] for p in pools
    ]
    emit(pools, as_json, table(rows, ["NAME", "BACKUP", "AUTO-FAILOVER", "DESCRIPTION"]))


@pool_group.command("show")
@click.argument("name")
@json_option
@pass_cli
def show(cli: CliContext, name: str, as_json: bool) -> None:
    """Show pool NAME."""
    with cli.session() as s:
        pool = repo.get_pool(s, name)
    emit(pool, as_json)


@pool_group.command("remove")
@click.argument("name")
@pass_cli
def remove(cli: CliContext, name: str) -> None:
    """Remove pool NAME (it must have no announcements or files and back up no pool)."""
    with cli.admin() as admin:
        admin.remove_pool(name)
    click.echo(f"removed pool {name}")


# --- status ----------------------------------------------------------------------------------


def _ago(seconds: float) -> str:
    return f"{seconds:.1f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")


@pool_group.command("status")
@click.argument("name", required=False)
@json_option
@pass_cli
def status(cli: CliContext, name: str | None, as_json: bool) -> None:
    """Every pool (or NAME): backup, automatic failover, instances and their health, and which
    pool answers its ranges now."""
    from vacant.service.pools import pool_status

    with cli.session() as s:
        pools = pool_status(s, name)
    if as_json:
        emit([_status_json(p) for p in pools], True)
        return
    blocks = []
    for p in pools:
        lines = []
        if p.pool is None:
            lines.append(f"pool {p.name} (not configured: its instances answer every pool)")
        else:
            auto = (
                f"on (down after {p.pool.down_after:g} s, failback after"
                f" {p.pool.failback_after:g} s)"
                if p.pool.auto_failover
                else "off"
            )
            lines.append(f"pool {p.name}")
            lines.append(f"  backup: {p.pool.backup or '-'}   auto-failover: {auto}")
            since = f" since {_when(p.since)}" if p.since else ""
            health = "healthy" if p.healthy else "no healthy instance"
            lines.append(f"  state: {p.state}{since} ({health}; {p.transitions} transition(s))")
            shown = ", ".join(p.ranges) + (" ..." if p.range_count > len(p.ranges) else "")
            lines.append(
                f"  ranges: {p.range_count} answered by {p.served_by or 'nobody'}"
                + (f" ({shown})" if shown else "")
            )
            if p.covering:
                lines.append(f"  answering now for: {', '.join(p.covering)} (automatic failover)")
            if p.failed_over_ranges:
                lines.append(
                    f"  failed over: {p.failed_over_ranges} range(s) re-pointed to"
                    f" {p.pool.backup} (vacant pool failback {p.name})"
                )
        rows = [
            [
                i.instance.id[:8],
                i.health,
                i.instance.host,
                i.instance.sip,
                i.instance.http,
                _ago(i.silent_for),
                _when(i.instance.started),
                i.instance.version,
            ]
            for i in p.instances
        ]
        if rows:
            headers = [
                "INSTANCE",
                "HEALTH",
                "HOST",
                "SIP",
                "HTTP",
                "HEARTBEAT",
                "STARTED",
                "VERSION",
            ]
            lines += ["  " + line for line in table(rows, headers).splitlines()]
        else:
            lines.append("  no instances")
        blocks.append("\n".join(lines))
    click.echo("\n\n".join(blocks) if blocks else "No pools.")


def _status_json(p: Any) -> dict[str, Any]:
    return {
        "name": p.name,
        "configured": p.pool is not None,
        "backup": None if p.pool is None else p.pool.backup,
        "auto_failover": None if p.pool is None else p.pool.auto_failover,
        "down_after": None if p.pool is None else p.pool.down_after,
        "failback_after": None if p.pool is None else p.pool.failback_after,
        "state": p.state,
        "since": jsonable(p.since),
        "transitions": p.transitions,
        "healthy": p.healthy,
        "served_by": p.served_by,
        "range_count": p.range_count,
        "ranges": list(p.ranges),
        "covering": list(p.covering),
        "failed_over_ranges": p.failed_over_ranges,
        "instances": [
            {**jsonable(i.instance), "health": i.health, "silent_for": round(i.silent_for, 3)}
            for i in p.instances
        ],
    }


# --- disaster recovery -----------------------------------------------------------------------


def _pause() -> Any:
    delay = os.environ.get(STEP_DELAY_ENV)
    if not delay:
        return None

    def pause(step: str) -> None:
        click.echo(f"step done: {step}", err=True)
        sys.stderr.flush()
        time.sleep(float(delay))

    return pause


def _print_plan(plan: Any, dry_run: bool, as_json: bool) -> None:
    if as_json:
        emit(
            {
                "operation": plan.operation,
                "primary": plan.primary,
                "backup": plan.backup,
                "dry_run": dry_run,
                "changes": plan.changes,
                "steps": [{"action": s.action, "detail": s.detail} for s in plan.steps],
            },
            True,
        )
        return
    for step in plan.steps:
        click.echo(str(step))
    if dry_run:
        click.echo(
            f"{plan.operation} of {plan.primary}: would make {plan.changes} change(s) (dry run)"
        )
    elif plan.changes:
        click.echo(f"{plan.operation} of {plan.primary}: made {plan.changes} change(s)")
    else:
        click.echo(f"{plan.operation} of {plan.primary}: nothing to do")


@pool_group.command("failover")
@click.argument("primary")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
@pass_cli
def failover_(cli: CliContext, primary: str, dry_run: bool, as_json: bool) -> None:
    """Move PRIMARY's announcements to its backup pool: copy its audio files and announcements
    there and re-point every range using them, in one transaction (safe to run again)."""
    from vacant.service.pools import run_failover

    with cli.session() as s:
        plan = run_failover(s, cli_actor(), primary, dry_run=dry_run, pause=_pause())
    _print_plan(plan, dry_run, as_json)


@pool_group.command("failback")
@click.argument("primary")
@click.option("--cleanup", is_flag=True, help="Remove the backup's copies nothing uses any more.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
@pass_cli
def failback_(cli: CliContext, primary: str, cleanup: bool, dry_run: bool, as_json: bool) -> None:
    """Re-point exactly the ranges the failover of PRIMARY moved, back to PRIMARY (recreating
    its announcements first if it was rebuilt empty), in one transaction (safe to run again)."""
    from vacant.service.pools import run_failback

    with cli.session() as s:
        plan = run_failback(
            s, cli_actor(), primary, cleanup=cleanup, dry_run=dry_run, pause=_pause()
        )
    _print_plan(plan, dry_run, as_json)
