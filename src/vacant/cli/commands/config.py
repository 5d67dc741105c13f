"""``vacant db`` and ``vacant config`` (export/import as YAML)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from vacant.cli.context import CliContext, pass_cli
from vacant.service.imports import parse_config_document
from vacant.store import repository as repo
from vacant.store.engine import upgrade

#: Imports smaller than this finish too fast to need progress lines.
PROGRESS_FROM = 1000


@click.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@pass_cli
def db_upgrade(cli: CliContext) -> None:
    """Create or migrate the schema to the latest version."""
    upgrade(cli.engine)
    click.echo(f"database is up to date: {cli.engine.url.render_as_string(hide_password=True)}")


@click.group("config")
def config_group() -> None:
    """The whole configuration as one YAML document (audio file contents excluded)."""


@config_group.command("export")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@pass_cli
def export(cli: CliContext, out: Path | None) -> None:
    """Write the configuration as YAML."""
    with cli.session() as s:
        document = repo.export_config(s)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"exported to {out}", err=True)


@config_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the changes; change nothing.")
@pass_cli
def import_(cli: CliContext, file: Path, dry_run: bool) -> None:
    """Make the configuration match FILE (all or nothing)."""
    document = parse_config_document(file.read_text(encoding="utf-8"), file.name)

    def progress(done: int) -> None:
        if done >= PROGRESS_FROM:
            click.echo(f"  {done} items checked", err=True)

    with cli.admin() as admin:
        changes = admin.import_config(document, file.name, dry_run=dry_run, progress=progress)
    for change in changes:
        click.echo(change)
    verb = "would change" if dry_run else "applied"
    click.echo(f"{verb} {len(changes)} item(s)" + (" (dry run)" if dry_run else ""), err=True)
