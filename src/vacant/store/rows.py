"""What every repository module shares: row ↔ value conversion, the lookup keys of numbers, the
``UNSET`` sentinel of partial updates, and the write guard (savepoint + version bump)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vacant.errors import Conflict
from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
)
from vacant.routing.numbers import Number
from vacant.store.models import (
    AnnouncementRow,
    AssignedNumberRow,
    ConfigVersionRow,
    NormalisationRuleRow,
    PoolRow,
    RangeRow,
)


class Unset(enum.Enum):
    """The type of :data:`UNSET`: "leave this field as it is" in an update (``None`` clears)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET

#: The PostgreSQL notification channel of configuration changes (``vacant serve`` LISTENs).
CONFIG_CHANNEL: Final = "vacant_config"


# --- numbers -------------------------------------------------------------------------------


def number_family(number: Number) -> str:
    """Numbers comparable with each other share a family: ``+`` when global, then the extension."""
    sign = "+" if number.is_global else ""
    return sign if number.ext is None else f"{sign};ext={number.ext}"


def number_key(number: Number) -> str:
    """A string key ordering the numbers of one family as numbers: two digits of length, then the
    digits (the digits of a range bound never start with 0; a dialled number of up to 99 digits
    still gets a comparable key)."""
    subscriber = number.subscriber
    return f"{len(subscriber):02d}{subscriber}"


def number_from_uri(uri: str) -> Number:
    """The :class:`Number` of a stored ``tel:`` URI (``tel:+14255550100;ext=12``)."""
    digits, _, ext = uri.removeprefix("tel:").partition(";ext=")
    return Number(digits, ext or None)


def describe_number(number: Number | None) -> str:
    return "" if number is None else str(number)


# --- rows to values ------------------------------------------------------------------------


def to_pool(row: PoolRow) -> Pool:
    return Pool(
        row.name,
        row.backup,
        row.description,
        row.auto_failover,
        row.down_after,
        row.failback_after,
    )


def to_announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=uuid.UUID(row.id),
        pool=row.pool,
        name=row.name,
        audio_file=row.audio_file,
        tts_text=row.tts_text,
        language=row.language,
        target=row.target,
        repeat=row.repeat,
        early_media=row.early_media,
        early_status=row.early_status,
        redirect_without_answer=row.redirect_without_answer,
        sit=row.sit,
    )


def fill_announcement_row(row: AnnouncementRow, value: Announcement) -> None:
    """Copy a validated announcement's fields (not its id, pool or name, nor the rendered
    prompt) into a row."""
    row.audio_file, row.tts_text, row.language = value.audio_file, value.tts_text, value.language
    row.target, row.repeat = value.target, value.repeat
    row.early_media, row.early_status = value.early_media, value.early_status
    row.redirect_without_answer, row.sit = value.redirect_without_answer, value.sit


def to_range(row: RangeRow) -> NumberRange:
    return NumberRange(
        name=row.name,
        start=None if row.start_number is None else number_from_uri(row.start_number),
        end=None if row.end_number is None else number_from_uri(row.end_number),
        pattern=row.pattern,
        announcement_id=None if row.announcement_id is None else uuid.UUID(row.announcement_id),
        auto_attendant=None if row.auto_attendant is None else number_from_uri(row.auto_attendant),
        priority=row.priority,
        position=row.position,
        description=row.description,
    )


def to_number(row: AssignedNumberRow) -> AssignedNumber:
    return AssignedNumber(number_from_uri(row.number), row.uri, row.owner)


def to_rule(row: NormalisationRuleRow) -> NormalisationRule:
    return NormalisationRule(row.name, row.pattern, row.translation, row.position, row.description)


def fill_range_row(row: RangeRow, value: NumberRange) -> None:
    """Copy a validated range's fields (not its name or keys of order) into a row."""
    if value.start is not None and value.end is not None:
        row.start_number, row.end_number = value.start.uri, value.end.uri
        row.family = number_family(value.start)
        row.start_key, row.end_key = number_key(value.start), number_key(value.end)
    else:
        row.start_number = row.end_number = row.family = row.start_key = row.end_key = None
    row.pattern = value.pattern
    row.announcement_id = None if value.announcement_id is None else str(value.announcement_id)
    row.auto_attendant = None if value.auto_attendant is None else value.auto_attendant.uri
    row.priority = value.priority
    row.description = value.description


# --- writes --------------------------------------------------------------------------------


def bump_version(s: Session, step: int = 1) -> None:
    """Bump the configuration version. Done first in every write: on PostgreSQL the row lock
    also serialises writers, so "max + 1" positions and uniqueness checks cannot race."""
    result = s.execute(
        update(ConfigVersionRow)
        .where(ConfigVersionRow.id == 1)
        .values(version=ConfigVersionRow.version + step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        s.add(ConfigVersionRow(id=1, version=1))
        s.flush()
    if s.get_bind().dialect.name == "postgresql":
        # Delivered to every LISTENing server when (and only if) the transaction commits; a
        # rolled-back SAVEPOINT drops it, and PostgreSQL folds repeats within one transaction.
        s.execute(text(f"NOTIFY {CONFIG_CHANNEL}"))


def read_version(s: Session) -> int:
    return s.scalar(select(ConfigVersionRow.version).where(ConfigVersionRow.id == 1)) or 0


@contextmanager
def writing(s: Session, what: str) -> Iterator[None]:
    """One write: inside a SAVEPOINT (a failure leaves nothing of it, and the caller's
    transaction usable), bumping the configuration version. A uniqueness or reference rule the
    database enforces (a concurrent writer) becomes :class:`Conflict` naming ``what``."""
    try:
        with s.begin_nested():
            bump_version(s)
            yield
            s.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what}: the database refused the change: {exc.orig}") from None
