"""``vacant pool``: pools (groups of servers) and their backup pools."""

from __future__ import annotations

import click

from vacant.cli.context import CliContext, change, emit, json_option, pass_cli, table
from vacant.routing.model import Pool
from vacant.store import repository as repo


@click.group("pool")
def pool_group() -> None:
    """Pools: groups of vacant servers; a pool may have a backup pool."""


@pool_group.command("add")
@click.argument("name")
@click.option("--backup", help="The pool that serves this pool's ranges during an outage.")
@click.option("--description", default="", help="Free text.")
@json_option
@pass_cli
def add(cli: CliContext, name: str, backup: str | None, description: str, as_json: bool) -> None:
    """Create pool NAME (an FQDN-like id, e.g. pool1.example.com)."""
    with cli.admin() as admin:
        pool = admin.add_pool(Pool.create(name, backup, description))
    emit(pool, as_json, f"created pool {pool.name}")


@pool_group.command("set")
@click.argument("name")
@click.option("--backup", help="New backup pool.")
@click.option("--no-backup", is_flag=True, help="Remove the backup pool.")
@click.option("--description", help="New description.")
@json_option
@pass_cli
def set_(
    cli: CliContext,
    name: str,
    backup: str | None,
    no_backup: bool,
    description: str | None,
    as_json: bool,
) -> None:
    """Change pool NAME."""
    with cli.admin() as admin:
        pool = admin.update_pool(
            name,
            backup=change(backup, no_backup),
            description=repo.UNSET if description is None else description,
        )
    emit(pool, as_json, f"updated pool {pool.name}")


@pool_group.command("list")
@json_option
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List pools."""
    with cli.session() as s:
        pools = repo.list_pools(s)
    rows = [[p.name, p.backup or "-", p.description] for p in pools]
    emit(pools, as_json, table(rows, ["NAME", "BACKUP", "DESCRIPTION"]))


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
