"""``vacant announcement``: what callers hear and where they go next, per pool."""

from __future__ import annotations

import mimetypes
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from vacant.cli.context import CliContext, change, emit, json_option, pass_cli, table
from vacant.routing.model import DEFAULT_MAX_DURATION, DEFAULT_MAX_FILE_SIZE, Announcement
from vacant.store import repository as repo
from vacant.store.prompts import SAMPLE_RATE, playout

pool_option = click.option("--pool", required=True, help="The pool the announcement belongs to.")


def option_flags(f: Callable[..., None]) -> Callable[..., None]:
    """The options beyond Lync, on ``add`` and ``set`` (left out of ``set``: unchanged)."""
    f = click.option(
        "--sit/--no-sit",
        default=None,
        help="Play the Special Information Tone (vacant code) before the prompt.",
    )(f)
    f = click.option(
        "--redirect-without-answer/--no-redirect-without-answer",
        default=None,
        help="No prompt but a target: answer 302 to the target instead of REFER after answer.",
    )(f)
    f = click.option(
        "--early-status",
        type=int,
        metavar="CODE",
        help="Final response after an early-media prompt without a target (4xx-6xx; 404).",
    )(f)
    f = click.option(
        "--early-media/--no-early-media",
        default=None,
        help="Play the prompt in a 183 Session Progress, never answering (caller not charged).",
    )(f)
    f = click.option("--repeat", type=int, metavar="N", help="Play the prompt N times (1-100).")(f)
    return f


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
@option_flags
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
    repeat: int | None,
    early_media: bool | None,
    early_status: int | None,
    redirect_without_answer: bool | None,
    sit: bool | None,
    as_json: bool,
) -> None:
    """Create announcement NAME in a pool. No prompt and no target means callers hear busy.
    A text-to-speech prompt is rendered now (offline, espeak-ng)."""
    ann = Announcement.create(
        pool,
        name,
        id=ann_id,
        audio_file=audio_file,
        tts_text=tts,
        language=language,
        target=target,
        repeat=1 if repeat is None else repeat,
        early_media=bool(early_media),
        early_status=404 if early_status is None else early_status,
        redirect_without_answer=bool(redirect_without_answer),
        sit=bool(sit),
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
@option_flags
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
    repeat: int | None,
    early_media: bool | None,
    early_status: int | None,
    redirect_without_answer: bool | None,
    sit: bool | None,
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
            repeat=_keep(repeat),
            early_media=_keep(early_media),
            early_status=_keep(early_status),
            redirect_without_answer=_keep(redirect_without_answer),
            sit=_keep(sit),
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
    rows = [[a.pool, a.name, _prompt(a), a.target or "-", _options(a), str(a.id)] for a in anns]
    emit(anns, as_json, table(rows, ["POOL", "NAME", "PROMPT", "TARGET", "OPTIONS", "ID"]))


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
@click.option(
    "--max-duration",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_DURATION,
    show_default=True,
    help="Refuse files longer than this many seconds.",
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
    max_duration: float,
    as_json: bool,
) -> None:
    """Store FILE in a pool's file store, for announcements' --audio-file.

    FILE is decoded now (WAV of any PCM width or rate, A-law, µ-law, float; MP3, OGG/Opus,
    FLAC, WMA): unreadable, truncated, silent (peak below -60 dBFS) or too long files are
    refused and nothing is stored. The original and a mono 16 kHz version are kept."""
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
            max_duration=max_duration,
            replace=replace,
        )
    emit(
        stored,
        as_json,
        f"imported {stored.pool}/{stored.name} ({stored.size} bytes,"
        f" {stored.duration or 0:.2f} s, peak {stored.peak_dbfs or 0:.1f} dBFS)",
    )


@announcement_group.command("preview")
@click.argument("name")
@pool_option
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The WAV file to write (16 kHz, mono, 16-bit).",
)
@json_option
@pass_cli
def preview(cli: CliContext, name: str, pool: str, out: Path, as_json: bool) -> None:
    """Write what a caller of announcement NAME hears to a WAV file: the Special Information
    Tone when set and the prompt, repeated as configured."""
    with cli.session() as s:
        ann = repo.get_announcement(s, pool, name)
        heard = playout(s, ann)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        for chunk in heard.chunks():
            wav.writeframes(chunk)
    report = {
        "file": str(out),
        "duration": round(heard.duration, 3),
        "sit": bool(heard.sit),
        "prompt_seconds": round(heard.prompt.duration, 3),
        "repeat": heard.repeat,
        "version": heard.prompt.version,
    }
    sit = "SIT and " if heard.sit else ""
    emit(
        report,
        as_json,
        f"wrote {out} ({heard.duration:.2f} s: {sit}{heard.prompt.duration:.2f} s of prompt,"
        f" x {heard.repeat})",
    )


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


@announcement_group.command("export-files")
@click.option("--pool", required=True, help="The pool whose audio files are written.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace files already in DIRECTORY.")
@pass_cli
def export_files(cli: CliContext, pool: str, directory: Path, overwrite: bool) -> None:
    """Write every audio file of POOL, as imported, into DIRECTORY (created if needed)."""
    from vacant.store.failover import pool_files

    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with cli.session() as s:
        for name, content in pool_files(s, pool):
            path = directory / name
            if path.exists() and not overwrite:
                raise click.ClickException(f"{path} exists (--overwrite to replace it)")
            path.write_bytes(content)
            count += 1
    click.echo(f"exported {count} audio file(s) of pool {pool} to {directory}")


_T = TypeVar("_T")


def _keep(value: _T | None) -> _T | repo.Unset:
    """An option of ``set``: left out (None) leaves the field as it is."""
    return repo.UNSET if value is None else value


def _options(ann: Announcement) -> str:
    """The options that differ from Lync's behaviour, for the list."""
    shown = []
    if ann.repeat != 1:
        shown.append(f"repeat={ann.repeat}")
    if ann.early_media:
        shown.append(f"early-media({ann.early_status})")
    if ann.redirect_without_answer:
        shown.append("redirect-without-answer")
    if ann.sit:
        shown.append("sit")
    return ",".join(shown) or "-"


def _prompt(ann: Announcement) -> str:
    if ann.audio_file:
        return f"audio {ann.audio_file}"
    if ann.tts_text:
        return f"tts {ann.language}"
    return "-"


def _warn(ann: Announcement) -> None:
    for warning in ann.warnings():
        click.echo(f"warning: {warning}", err=True)
