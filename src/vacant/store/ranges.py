"""The unassigned number table: ranges, their evaluation order, and Move up / Move down.

Ranges are evaluated in ``(priority, position)`` order. A new range gets ``position`` = the
largest + 1 (ties of priority go to the range created first); a move re-deals the existing
``(priority, position)`` keys to the ranges in their new order, so a range moved past a range
of another priority takes that priority, and the ranges outside the moved span keep their keys.
"""

from __future__ import annotations

import dataclasses
import gc
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import NumberRange
from vacant.store.models import RangeRow, utc_now
from vacant.store.pools import announcement_row
from vacant.store.rows import (
    UNSET,
    Unset,
    describe_number,
    fill_range_row,
    number_from_uri,
    to_range,
    writing,
)

_PLACEHOLDER_ID = uuid.UUID(int=0)
_ORDER = (RangeRow.priority, RangeRow.position, RangeRow.id)


def range_select() -> Select[*tuple[Any, ...]]:
    """The columns :func:`ranges_from_rows` turns into values, in evaluation order."""
    t = RangeRow
    return select(
        t.name,
        t.start_number,
        t.end_number,
        t.pattern,
        t.announcement_id,
        t.auto_attendant,
        t.priority,
        t.position,
        t.description,
    ).order_by(*_ORDER)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects: otherwise
    its collections, triggered by the allocations, take longer than the building."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ranges_from_rows(rows: Iterable[Any]) -> list[NumberRange]:
    """Build range values from :func:`range_select` rows, fast (no re-validation: the rows were
    validated when written)."""
    with no_gc():
        return _build_ranges(rows)


def _build_ranges(rows: Iterable[Any]) -> list[NumberRange]:
    ids: dict[str, uuid.UUID] = {}
    out: list[NumberRange] = []
    append = out.append
    from_uri = number_from_uri
    for name, start, end, pattern, ann, aa, priority, position, description in rows:
        if ann is not None:
            ann_id = ids.get(ann)
            if ann_id is None:
                ann_id = ids[ann] = uuid.UUID(ann)
        else:
            ann_id = None
        append(
            NumberRange(
                name,
                None if start is None else from_uri(start),
                None if end is None else from_uri(end),
                pattern,
                ann_id,
                None if aa is None else from_uri(aa),
                priority,
                position,
                description,
            )
        )
    return out


def _range_row(s: Session, name: str) -> RangeRow:
    row = s.scalar(select(RangeRow).where(RangeRow.name == name.strip()))
    if row is None:
        raise NotFound(f"range {name!r} does not exist")
    return row


def _resolve_announcement(s: Session, announcement: tuple[str, str]) -> uuid.UUID:
    pool, name = announcement
    return uuid.UUID(announcement_row(s, pool, name).id)


def _max(s: Session, column: Any) -> int | None:
    value: int | None = s.scalar(select(func.max(column)))
    return value


def add_range(
    s: Session,
    name: str,
    *,
    start: str | None = None,
    end: str | None = None,
    pattern: str | None = None,
    announcement: tuple[str, str] | None = None,
    auto_attendant: str | None = None,
    priority: int | None = None,
    description: str = "",
) -> NumberRange:
    """Add a range (numbers ``start`` to ``end`` or a ``pattern``) sending calls to an announcement
    ``(pool, name)`` or to an auto-attendant number. ``priority`` ``None``: after every other."""
    value = NumberRange.create(
        name,
        start=start,
        end=end,
        pattern=pattern,
        announcement_id=None if announcement is None else _PLACEHOLDER_ID,
        auto_attendant=auto_attendant,
        priority=0 if priority is None else priority,
        description=description,
    )
    announcement_id = None if announcement is None else _resolve_announcement(s, announcement)
    with writing(s, f"range {value.name!r}"):
        if s.scalar(select(RangeRow.id).where(RangeRow.name == value.name)) is not None:
            raise Conflict(f"range {value.name!r} already exists")
        if priority is None:
            top = _max(s, RangeRow.priority)
            priority = 0 if top is None else top + 1
        value = dataclasses.replace(
            value,
            announcement_id=announcement_id,
            priority=priority,
            position=(_max(s, RangeRow.position) or 0) + 1,
        )
        row = RangeRow(name=value.name, position=value.position, created=utc_now())
        fill_range_row(row, value)
        s.add(row)
    return value


def update_range(
    s: Session,
    name: str,
    *,
    start: str | Unset | None = UNSET,
    end: str | Unset | None = UNSET,
    pattern: str | Unset | None = UNSET,
    announcement: tuple[str, str] | Unset | None = UNSET,
    auto_attendant: str | Unset | None = UNSET,
    priority: int | Unset = UNSET,
    description: str | Unset = UNSET,
) -> NumberRange:
    """Change a range (its name is its identity). Setting numbers clears a pattern and the other
    way round; setting an announcement clears an auto-attendant and the other way round. The
    result is validated as a whole."""
    row = _range_row(s, name)
    current = to_range(row)
    new_start: str | None = describe_number(current.start) or None
    new_end: str | None = describe_number(current.end) or None
    new_pattern = current.pattern
    if start is not UNSET or end is not UNSET:
        new_pattern = None
    if pattern is not UNSET and pattern is not None:
        new_start = new_end = None
    new_start = new_start if start is UNSET else start
    new_end = new_end if end is UNSET else end
    new_pattern = new_pattern if pattern is UNSET else pattern

    new_ann: uuid.UUID | None = current.announcement_id
    new_aa: str | None = describe_number(current.auto_attendant) or None
    if announcement is not UNSET and announcement is not None:
        new_ann, new_aa = _PLACEHOLDER_ID, None
    if auto_attendant is not UNSET:
        new_aa = auto_attendant
        if auto_attendant is not None and announcement is UNSET:
            new_ann = None
    if announcement is None:
        new_ann = None

    value = NumberRange.create(
        current.name,
        start=new_start,
        end=new_end,
        pattern=new_pattern,
        announcement_id=new_ann,
        auto_attendant=new_aa,
        priority=current.priority if priority is UNSET else priority,
        position=current.position,
        description=current.description if description is UNSET else description,
    )
    if isinstance(announcement, tuple):
        value = dataclasses.replace(value, announcement_id=_resolve_announcement(s, announcement))
    with writing(s, f"range {value.name!r}"):
        fill_range_row(row, value)
    return value


def get_range(s: Session, name: str) -> NumberRange:
    return to_range(_range_row(s, name))


def list_ranges(s: Session, *, limit: int | None = None, offset: int = 0) -> list[NumberRange]:
    """Every range in evaluation order (a page of them with ``limit``/``offset``)."""
    query = range_select()
    if limit is not None:
        query = query.limit(max(0, limit))
    if offset:
        query = query.offset(max(0, offset))
    return ranges_from_rows(s.execute(query))


def remove_range(s: Session, name: str) -> None:
    row = _range_row(s, name)
    with writing(s, f"range {row.name!r}"):
        s.delete(row)


def move_range(
    s: Session,
    name: str,
    *,
    up: bool = False,
    down: bool = False,
    before: str | None = None,
) -> list[NumberRange]:
    """Move a range one step up or down in evaluation order, or just before another range.
    Moving the first range up or the last down changes nothing. Returns the new order."""
    if (up, down, before is not None).count(True) != 1:
        raise ValidationError("move", "give exactly one of up, down or before")
    t = RangeRow
    rows = list(s.execute(select(t.id, t.name, t.priority, t.position).order_by(*_ORDER)))
    names = [r.name for r in rows]
    wanted = name.strip()
    if wanted not in names:
        raise NotFound(f"range {name!r} does not exist")
    index = names.index(wanted)
    order = list(range(len(rows)))
    if up and index > 0:
        order[index - 1], order[index] = order[index], order[index - 1]
    elif down and index < len(rows) - 1:
        order[index], order[index + 1] = order[index + 1], order[index]
    elif before is not None and before.strip() != wanted:
        if before.strip() not in names:
            raise NotFound(f"range {before!r} (to move {wanted!r} before) does not exist")
        order.pop(index)
        order.insert(order.index(names.index(before.strip())), index)
    changes = [
        {"id": rows[moved].id, "priority": key.priority, "position": key.position}
        for key, moved in zip(rows, order, strict=True)
        if (rows[moved].priority, rows[moved].position) != (key.priority, key.position)
    ]
    if changes:
        with writing(s, f"range {wanted!r}"):
            s.flush()
            s.execute(update(RangeRow), changes)
            s.expire_all()
    return list_ranges(s)
