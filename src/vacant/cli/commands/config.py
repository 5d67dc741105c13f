"""``vacant db`` and ``vacant config`` (export/import as YAML)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from vacant.cli.context import CliContext, pass_cli
from vacant.errors import ValidationError
from vacant.service.admin import Admin
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
@click.option(
    "--with-files",
    is_flag=True,
    help="Include the audio files (base64): a complete backup `config import` restores.",
)
@pass_cli
def export(cli: CliContext, out: Path | None, with_files: bool) -> None:
    """Write the configuration as YAML."""
    with cli.session() as s:
        document = repo.export_config(s)
        if with_files:
            from vacant.store.failover import file_documents

            document["files"] = list(file_documents(s))
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

    files = document.get("files")
    with_files = isinstance(files, list) and any(
        isinstance(f, dict) and "content" in f for f in files
    )
    with cli.admin() as admin:
        if with_files:
            changes = _import_with_files(admin, document, file.name, dry_run, progress)
        else:
            changes = admin.import_config(document, file.name, dry_run=dry_run, progress=progress)
    for change in changes:
        click.echo(change)
    verb = "would change" if dry_run else "applied"
    click.echo(f"{verb} {len(changes)} item(s)" + (" (dry run)" if dry_run else ""), err=True)


#: The fields of a ``files`` entry the configuration document itself reads.
_FILE_FIELDS = ("pool", "name", "media_type", "size", "sha256")


def _import_with_files(
    admin: Admin,
    document: dict[str, Any],
    source: str,
    dry_run: bool,
    progress: Callable[[int], None],
) -> list[str]:
    """A ``--with-files`` document: store its audio files first (creating their pools), then
    import the rest, in one SAVEPOINT (rolled back for a dry run)."""
    from vacant.store import audit
    from vacant.store.failover import restore_files

    entries = document["files"]
    if not all(isinstance(f, dict) for f in entries):
        raise ValidationError("files", "every entry must be a mapping")
    nested = admin.s.begin_nested()
    try:
        restored = restore_files(admin.s, entries)
        if restored:
            audit.record(
                admin.s,
                actor=admin.actor,
                action="file.restore",
                object=source,
                after={"count": len(restored), "changes": restored[:1000]},
            )
        stripped = [{k: f[k] for k in _FILE_FIELDS if k in f} for f in entries]
        changes = admin.import_config(
            {**document, "files": stripped}, source, dry_run=False, progress=progress
        )
    except BaseException:
        nested.rollback()
        raise
    if dry_run:
        nested.rollback()
    else:
        nested.commit()
    return restored + changes
