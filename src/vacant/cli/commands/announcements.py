"""``vacant announcement``: what callers hear and where they go next, per pool."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import click

from vacant.cli.context import CliContext, change, emit, json_option, pass_cli, table
from vacant.routing.model import DEFAULT_MAX_FILE_SIZE, Announcement
from vacant.store import repository as repo

pool_option = click.option("--pool", required=True, help="The pool the announcement belongs to.")


@click.group("announcement")
def announcement_group() -> None:
    """Announcements (audio file or text-to-speech, then transfer or hang up) and audio files."""


@announcement_group.command("add")
@click.argument("name")
@pool_option
@click.option("--id", "ann_id", help="Reuse this UUID (repairs ranges that point at it).")
@click.option("--audio-file", help="An audio file imported into the pool (import-file).")
@click.option("--tts", help="Text-to-speech prompt (needs --language).")
@click.option("--language", help="TTS locale, one of Lync's 26 (e.g. en-US).")
@click.option("--target", help="Transfer target: sip:user@domain[;user=phone], tel:+...")
@json_option
@pass_cli
def add(
    cli: CliContext,
    name: str,
    pool: str,
    ann_id: str | None,
    audio_file: str | None,
    tts: str | None,
    language: str | None,
    target: str | None,
    as_json: bool,
) -> None:
    """Create announcement NAME in a pool. No prompt and no target means callers hear busy."""
    ann = Announcement.create(
        pool, name, id=ann_id, audio_file=audio_file, tts_text=tts, language=language, target=target
    )
    with cli.admin() as admin:
        created = admin.add_announcement(ann)
    _warn(created)
    emit(created, as_json, f"created announcement {created.pool}/{created.name} ({created.id})")


@announcement_group.command("set")
@click.argument("name")
@pool_option
@click.option("--name", "new_name", help="Rename (names are unique within a pool).")
@click.option("--audio-file", help="New audio file.")
@click.option("--no-audio-file", is_flag=True, help="Clear the audio file.")
@click.option("--tts", help="New text-to-speech prompt.")
@click.option("--no-tts", is_flag=True, help="Clear the text-to-speech prompt.")
@click.option("--language", help="New TTS locale.")
@click.option("--target", help="New transfer target.")
@click.option("--no-target", is_flag=True, help="Clear the target (hang up after the prompt).")
@json_option
@pass_cli
def set_(
    cli: CliContext,
    name: str,
    pool: str,
    new_name: str | None,
    audio_file: str | None,
    no_audio_file: bool,
    tts: str | None,
    no_tts: bool,
    language: str | None,
    target: str | None,
    no_target: bool,
    as_json: bool,
) -> None:
    """Change announcement NAME of a pool."""
    with cli.admin() as admin:
        updated = admin.update_announcement(
            pool,
            name,
            new_name=repo.UNSET if new_name is None else new_name,
            audio_file=change(audio_file, no_audio_file),
            tts_text=change(tts, no_tts),
            language=change(language, no_tts and language is None),
            target=change(target, no_target),
        )
    _warn(updated)
    emit(updated, as_json, f"updated announcement {updated.pool}/{updated.name}")


@announcement_group.command("list")
@click.option("--pool", help="Only this pool.")
@json_option
@pass_cli
def list_(cli: CliContext, pool: str | None, as_json: bool) -> None:
    """List announcements."""
    with cli.session() as s:
        anns = repo.list_announcements(s, pool)
    rows = [[a.pool, a.name, _prompt(a), a.target or "-", str(a.id)] for a in anns]
    emit(anns, as_json, table(rows, ["POOL", "NAME", "PROMPT", "TARGET", "ID"]))


@announcement_group.command("show")
@click.argument("name")
@pool_option
@json_option
@pass_cli
def show(cli: CliContext, name: str, pool: str, as_json: bool) -> None:
    """Show announcement NAME of a pool."""
    with cli.session() as s:
        ann = repo.get_announcement(s, pool, name)
    emit(ann, as_json)


@announcement_group.command("remove")
@click.argument("name")
@pool_option
@click.option("--force", is_flag=True, help="Remove even if ranges use it (their calls get busy).")
@pass_cli
def remove(cli: CliContext, name: str, pool: str, force: bool) -> None:
    """Remove announcement NAME of a pool."""
    with cli.admin() as admin:
        dangling = admin.remove_announcement(pool, name, force=force)
    click.echo(f"removed announcement {pool}/{name}")
    if dangling:
        click.echo(
            f"warning: ranges {', '.join(dangling)} keep its id; their callers now hear busy",
            err=True,
        )


@announcement_group.command("import-file")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pool_option
@click.option("--name", help="Name in the pool's file store (default: the file's name).")
@click.option("--replace", is_flag=True, help="Replace a file of the same name.")
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_SIZE,
    show_default=True,
    help="Refuse files larger than this many bytes.",
)
@json_option
@pass_cli
def import_file(
    cli: CliContext,
    file: Path,
    pool: str,
    name: str | None,
    replace: bool,
    max_size: int,
    as_json: bool,
) -> None:
    """Store FILE in a pool's file store, for announcements' --audio-file."""
    size = file.stat().st_size
    if size > max_size:
        # Refuse before reading a file that cannot be stored.
        raise click.BadParameter(f"{size} bytes is over the limit of {max_size}", param_hint="FILE")
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    with cli.admin() as admin:
        stored = admin.add_file(
            pool,
            name or file.name,
            file.read_bytes(),
            media_type,
            max_size=max_size,
            replace=replace,
        )
    emit(stored, as_json, f"imported {stored.pool}/{stored.name} ({stored.size} bytes)")


@announcement_group.command("files")
@click.option("--pool", help="Only this pool.")
@json_option
@pass_cli
def files(cli: CliContext, pool: str | None, as_json: bool) -> None:
    """List the audio files in the pools' file stores."""
    with cli.session() as s:
        stored = repo.list_files(s, pool)
    rows = [[f.pool, f.name, f.media_type, str(f.size), f.sha256[:12]] for f in stored]
    emit(stored, as_json, table(rows, ["POOL", "NAME", "TYPE", "BYTES", "SHA256"]))


def _prompt(ann: Announcement) -> str:
    if ann.audio_file:
        return f"audio {ann.audio_file}"
    if ann.tts_text:
        return f"tts {ann.language}"
    return "-"


def _warn(ann: Announcement) -> None:
    for warning in ann.warnings():
        click.echo(f"warning: {warning}", err=True)
