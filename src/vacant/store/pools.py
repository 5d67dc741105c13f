"""Pools, the audio files imported into them, and their announcements."""

from __future__ import annotations

import hashlib
import re
import uuid

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing import model
from vacant.routing.model import Announcement, AnnouncementFile, Pool
from vacant.store.models import AnnouncementFileRow, AnnouncementRow, PoolRow, RangeRow, utc_now
from vacant.store.prompts import decode_file, render_tts, tts_needs_render
from vacant.store.rows import (
    UNSET,
    Unset,
    fill_announcement_row,
    to_announcement,
    to_pool,
    writing,
)

#: RFC 6838 §4.2: type "/" subtype, restricted names (parameters allowed after ";").
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?:\s*;.{0,120})?"
)
_LIST_LIMIT = 10


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_LIST_LIMIT])
    more = len(names) - _LIST_LIMIT
    return shown + (f" and {more} more" if more > 0 else "")


def _pool_key(name: str) -> str:
    return name.strip().lower()


# --- pools ---------------------------------------------------------------------------------


def _pool_row(s: Session, name: str) -> PoolRow:
    row = s.get(PoolRow, _pool_key(name))
    if row is None:
        raise NotFound(f"pool {name!r} does not exist")
    return row


def _require_backup(s: Session, backup: str | None) -> None:
    if backup is not None and s.get(PoolRow, backup) is None:
        raise NotFound(f"backup pool {backup!r} does not exist")


def add_pool(s: Session, pool: Pool) -> Pool:
    """Add a pool. Conflict if it exists; its backup pool must exist (NotFound)."""
    value = Pool.create(
        pool.name,
        pool.backup,
        pool.description,
        auto_failover=pool.auto_failover,
        down_after=pool.down_after,
        failback_after=pool.failback_after,
    )
    with writing(s, f"pool {value.name!r}"):
        if s.get(PoolRow, value.name) is not None:
            raise Conflict(f"pool {value.name!r} already exists")
        _require_backup(s, value.backup)
        s.add(
            PoolRow(
                name=value.name,
                backup=value.backup,
                description=value.description,
                auto_failover=value.auto_failover,
                down_after=value.down_after,
                failback_after=value.failback_after,
            )
        )
    return value


def update_pool(
    s: Session,
    name: str,
    *,
    backup: str | Unset | None = UNSET,
    description: str | Unset = UNSET,
    auto_failover: bool | Unset = UNSET,
    down_after: float | Unset = UNSET,
    failback_after: float | Unset = UNSET,
) -> Pool:
    """Change a pool's backup (``None`` removes it), description or automatic failover."""
    row = _pool_row(s, name)
    value = Pool.create(
        row.name,
        row.backup if backup is UNSET else backup,
        row.description if description is UNSET else description,
        auto_failover=row.auto_failover if auto_failover is UNSET else auto_failover,
        down_after=row.down_after if down_after is UNSET else down_after,
        failback_after=row.failback_after if failback_after is UNSET else failback_after,
    )
    with writing(s, f"pool {value.name!r}"):
        _require_backup(s, value.backup)
        row.backup, row.description = value.backup, value.description
        row.auto_failover, row.down_after = value.auto_failover, value.down_after
        row.failback_after = value.failback_after
    return value


def get_pool(s: Session, name: str) -> Pool:
    return to_pool(_pool_row(s, name))


def list_pools(s: Session) -> list[Pool]:
    return [to_pool(row) for row in s.scalars(select(PoolRow).order_by(PoolRow.name))]


def remove_pool(s: Session, name: str) -> None:
    """Remove a pool. Conflict while it has announcements or files or backs up another pool."""
    row = _pool_row(s, name)
    announcements = list(
        s.scalars(
            select(AnnouncementRow.name)
            .where(AnnouncementRow.pool == row.name)
            .order_by(AnnouncementRow.name)
        )
    )
    if announcements:
        raise Conflict(
            f"pool {row.name!r} still has {len(announcements)} announcement(s)"
            f" ({_listed(announcements)}): remove them first"
        )
    files = list(
        s.scalars(
            select(AnnouncementFileRow.name)
            .where(AnnouncementFileRow.pool == row.name)
            .order_by(AnnouncementFileRow.name)
        )
    )
    if files:
        raise Conflict(
            f"pool {row.name!r} still has {len(files)} audio file(s) ({_listed(files)}):"
            " remove them first"
        )
    backed = list(
        s.scalars(select(PoolRow.name).where(PoolRow.backup == row.name).order_by(PoolRow.name))
    )
    if backed:
        raise Conflict(
            f"pool {row.name!r} is the backup of pool(s) {_listed(backed)}: change their backup"
            " first"
        )
    with writing(s, f"pool {row.name!r}"):
        s.delete(row)


# --- files ---------------------------------------------------------------------------------


def _file_id(s: Session, pool: str, name: str) -> int | None:
    """The row id of a file (its content, maybe megabytes, is never loaded to check it)."""
    t = AnnouncementFileRow
    return s.scalar(select(t.id).where(t.pool == _pool_key(pool), t.name == name))


def add_file(
    s: Session,
    pool: str,
    name: str,
    content: bytes,
    media_type: str,
    *,
    max_size: int = model.DEFAULT_MAX_FILE_SIZE,
    max_duration: float = model.DEFAULT_MAX_DURATION,
    replace: bool = False,
) -> AnnouncementFile:
    """Import an audio file into a pool's file store (``replace`` overwrites one of that name).

    The file is decoded first (:func:`vacant.media.prompts.decode`): one that is not readable
    audio, truncated, silent or longer than ``max_duration`` seconds is refused (ValidationError
    ``file``) and nothing is stored. The original and its decoded prompt are stored together."""
    file_name = model.validate_file_name(name, "file")
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise ValidationError("media-type", f"{media_type[:40]!r} is not a type/subtype media type")
    if not content:
        raise ValidationError("file", f"{file_name!r} is empty")
    if len(content) > max_size:
        raise ValidationError(
            "file",
            f"{file_name!r} is {len(content)} bytes: larger than the limit of {max_size} bytes",
        )
    pool_row = _pool_row(s, pool)
    decoded = decode_file(content, max_duration=max_duration)
    digest = hashlib.sha256(content).hexdigest()
    now = utc_now()
    fields = {
        "content": content,
        "media_type": media_type,
        "size": len(content),
        "sha256": digest,
        "created": now,
        "pcm": decoded.pcm,
        "pcm_sha256": hashlib.sha256(decoded.pcm).hexdigest(),
        "duration": decoded.duration,
        "peak_dbfs": decoded.peak_dbfs,
    }
    with writing(s, f"file {pool_row.name}/{file_name}"):
        file_id = _file_id(s, pool_row.name, file_name)
        if file_id is not None and not replace:
            raise Conflict(
                f"file {file_name!r} already exists in pool {pool_row.name!r} (replace it to"
                " overwrite)"
            )
        if file_id is None:
            s.execute(
                insert(AnnouncementFileRow).values(pool=pool_row.name, name=file_name, **fields)
            )
        else:
            s.execute(
                update(AnnouncementFileRow)
                .where(AnnouncementFileRow.id == file_id)
                .values(**fields)
                .execution_options(synchronize_session=False)
            )
    return AnnouncementFile(
        pool_row.name,
        file_name,
        media_type,
        len(content),
        digest,
        now,
        decoded.duration,
        decoded.peak_dbfs,
    )


def list_files(s: Session, pool: str | None = None) -> list[AnnouncementFile]:
    """The files' metadata (never their content), by pool then name."""
    t = AnnouncementFileRow
    query = select(
        t.pool, t.name, t.media_type, t.size, t.sha256, t.created, t.duration, t.peak_dbfs
    )
    if pool is not None:
        query = query.where(t.pool == _pool_row(s, pool).name)
    return [AnnouncementFile(*r) for r in s.execute(query.order_by(t.pool, t.name))]


def get_file_content(s: Session, pool: str, name: str) -> bytes:
    content = s.scalar(
        select(AnnouncementFileRow.content).where(
            AnnouncementFileRow.pool == _pool_key(pool), AnnouncementFileRow.name == name
        )
    )
    if content is None:
        raise NotFound(f"file {name!r} does not exist in pool {pool!r}")
    return content


def remove_file(s: Session, pool: str, name: str) -> None:
    """Remove a file. Conflict while an announcement plays it."""
    file_id = _file_id(s, pool, name)
    if file_id is None:
        raise NotFound(f"file {name!r} does not exist in pool {pool!r}")
    pool_name = _pool_key(pool)
    users = list(
        s.scalars(
            select(AnnouncementRow.name)
            .where(AnnouncementRow.pool == pool_name, AnnouncementRow.audio_file == name)
            .order_by(AnnouncementRow.name)
        )
    )
    if users:
        raise Conflict(
            f"file {name!r} of pool {pool_name!r} is used by announcement(s) {_listed(users)}"
        )
    with writing(s, f"file {pool_name}/{name}"):
        s.execute(
            delete(AnnouncementFileRow)
            .where(AnnouncementFileRow.id == file_id)
            .execution_options(synchronize_session=False)
        )


# --- announcements -------------------------------------------------------------------------


def announcement_row(s: Session, pool: str, name: str) -> AnnouncementRow:
    row = s.scalar(
        select(AnnouncementRow).where(
            AnnouncementRow.pool == _pool_key(pool), AnnouncementRow.name == name.strip()
        )
    )
    if row is None:
        raise NotFound(f"announcement {name!r} does not exist in pool {pool!r}")
    return row


def _check_audio_file(s: Session, value: Announcement) -> None:
    if value.audio_file is not None and _file_id(s, value.pool, value.audio_file) is None:
        raise NotFound(
            f"audio file {value.audio_file!r} is not imported into pool {value.pool!r}"
            " (import it first)"
        )


def _check_name_free(s: Session, value: Announcement) -> None:
    other = s.scalar(
        select(AnnouncementRow.id).where(
            AnnouncementRow.pool == value.pool,
            AnnouncementRow.name == value.name,
            AnnouncementRow.id != str(value.id),
        )
    )
    if other is not None:
        raise Conflict(f"announcement {value.name!r} already exists in pool {value.pool!r}")


def add_announcement(s: Session, ann: Announcement) -> Announcement:
    """Add an announcement. Giving the id of a removed announcement repairs the ranges left
    pointing at it."""
    value = revalidate(ann)
    _pool_row(s, value.pool)
    _check_audio_file(s, value)
    rendered = render_tts(value)
    with writing(s, f"announcement {value.pool}/{value.name}"):
        existing = s.get(AnnouncementRow, str(value.id))
        if existing is not None:
            raise Conflict(
                f"announcement id {value.id} is already used by {existing.pool}/{existing.name}"
            )
        _check_name_free(s, value)
        row = AnnouncementRow(id=str(value.id), pool=value.pool, name=value.name)
        fill_announcement_row(row, value)
        if rendered is not None:
            row.tts_pcm, row.tts_sha256 = rendered.pcm, rendered.sha256
        s.add(row)
    return value


def revalidate(ann: Announcement) -> Announcement:
    """``ann`` checked again by :meth:`Announcement.create` (a value may be built directly)."""
    return Announcement.create(
        ann.pool,
        ann.name,
        id=ann.id,
        audio_file=ann.audio_file,
        tts_text=ann.tts_text,
        language=ann.language,
        target=ann.target,
        repeat=ann.repeat,
        early_media=ann.early_media,
        early_status=ann.early_status,
        redirect_without_answer=ann.redirect_without_answer,
        sit=ann.sit,
    )


def update_announcement(
    s: Session,
    pool: str,
    name: str,
    *,
    new_name: str | Unset = UNSET,
    audio_file: str | Unset | None = UNSET,
    tts_text: str | Unset | None = UNSET,
    language: str | Unset | None = UNSET,
    target: str | Unset | None = UNSET,
    repeat: int | Unset = UNSET,
    early_media: bool | Unset = UNSET,
    early_status: int | Unset = UNSET,
    redirect_without_answer: bool | Unset = UNSET,
    sit: bool | Unset = UNSET,
) -> Announcement:
    """Change an announcement (``None`` clears a field); the result is validated as a whole.
    A new text-to-speech text or language is rendered before anything is written."""
    row = announcement_row(s, pool, name)
    current = to_announcement(row)
    value = Announcement.create(
        current.pool,
        current.name if new_name is UNSET else new_name,
        id=current.id,
        audio_file=current.audio_file if audio_file is UNSET else audio_file,
        tts_text=current.tts_text if tts_text is UNSET else tts_text,
        language=current.language if language is UNSET else language,
        target=current.target if target is UNSET else target,
        repeat=current.repeat if repeat is UNSET else repeat,
        early_media=current.early_media if early_media is UNSET else early_media,
        early_status=current.early_status if early_status is UNSET else early_status,
        redirect_without_answer=(
            current.redirect_without_answer
            if redirect_without_answer is UNSET
            else redirect_without_answer
        ),
        sit=current.sit if sit is UNSET else sit,
    )
    if value.audio_file != current.audio_file:
        _check_audio_file(s, value)
    rendered = render_tts(value) if tts_needs_render(current, value, row.tts_pcm) else None
    with writing(s, f"announcement {value.pool}/{value.name}"):
        if value.name != current.name:
            _check_name_free(s, value)
        row.name = value.name
        fill_announcement_row(row, value)
        if value.tts_text is None:
            row.tts_pcm = row.tts_sha256 = None
        elif rendered is not None:
            row.tts_pcm, row.tts_sha256 = rendered.pcm, rendered.sha256
    return value


def get_announcement(s: Session, pool: str, name: str) -> Announcement:
    return to_announcement(announcement_row(s, pool, name))


def parse_id(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationError("id", f"{value[:40]!r} is not a UUID") from None


def get_announcement_by_id(s: Session, id: uuid.UUID | str) -> Announcement:
    key = parse_id(id)
    row = s.get(AnnouncementRow, str(key))
    if row is None:
        raise NotFound(f"no announcement has the id {key}")
    return to_announcement(row)


def list_announcements(s: Session, pool: str | None = None) -> list[Announcement]:
    query = select(AnnouncementRow).order_by(AnnouncementRow.pool, AnnouncementRow.name)
    if pool is not None:
        query = query.where(AnnouncementRow.pool == _pool_row(s, pool).name)
    return [to_announcement(row) for row in s.scalars(query)]


def ranges_using(s: Session, announcement_id: uuid.UUID) -> list[str]:
    return list(
        s.scalars(
            select(RangeRow.name)
            .where(RangeRow.announcement_id == str(announcement_id))
            .order_by(RangeRow.priority, RangeRow.position)
        )
    )


def remove_announcement(s: Session, pool: str, name: str, *, force: bool = False) -> list[str]:
    """Remove an announcement; returns the names of the ranges now pointing at its dangling id
    (their calls get busy until an announcement with that id is added again). Without ``force``,
    Conflict while ranges use it."""
    row = announcement_row(s, pool, name)
    users = ranges_using(s, uuid.UUID(row.id))
    if users and not force:
        raise Conflict(
            f"announcement {row.pool}/{row.name} is used by range(s) {_listed(users)}"
            " (force to remove it anyway: their calls will get busy)"
        )
    with writing(s, f"announcement {row.pool}/{row.name}"):
        s.delete(row)
    return users
