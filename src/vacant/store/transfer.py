"""Export the whole configuration as a plain (YAML-able) document, and import one.

The document (``format: 1``) has the sections ``pools``, ``files`` (metadata only: file contents
are imported with ``vacant announcement import-file``), ``announcements`` (with their ids),
``ranges`` (in evaluation order, with their priority), ``numbers`` and ``rules`` (in the order they
apply). Import makes each section present in the document match it exactly (adding, changing
and removing), leaves an absent section as it is, and is all or nothing: the whole document is
checked first and every problem is reported in one :class:`ValidationError`. It writes through
the caller's session and never commits, so rolling back gives a dry run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vacant.errors import ValidationError
from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
)
from vacant.store.directory import bulk_insert_numbers, list_numbers, list_rules
from vacant.store.document import (
    ANNOUNCEMENT_OPTIONS,
    FORMAT,
    POOL_OPTIONS,
    Doc,
    Reader,
    check_document,
    read_document,
)
from vacant.store.models import (
    AnnouncementFileRow,
    AnnouncementRow,
    AssignedNumberRow,
    NormalisationRuleRow,
    PoolRow,
    RangeRow,
    utc_now,
)
from vacant.store.pools import list_announcements, list_files, list_pools
from vacant.store.prompts import Rendered, render_tts
from vacant.store.ranges import list_ranges
from vacant.store.rows import (
    bump_version,
    describe_number,
    fill_announcement_row,
    fill_range_row,
    to_announcement,
    to_range,
    writing,
)

_BATCH = 1000

Progress = Callable[[int], None]


# --- export --------------------------------------------------------------------------------


def export_config(s: Session) -> dict[str, Any]:
    """Everything but file contents, as plain lists and dicts (``None`` fields left out)."""
    announcements = list_announcements(s)
    by_id = {a.id: a for a in announcements}
    return {
        "format": FORMAT,
        "pools": [
            _compact(
                {
                    "name": p.name,
                    "backup": p.backup,
                    "description": p.description,
                    **{k: getattr(p, k) for k, v in POOL_OPTIONS.items() if getattr(p, k) != v},
                }
            )
            for p in list_pools(s)
        ],
        "files": [
            {
                "pool": f.pool,
                "name": f.name,
                "media_type": f.media_type,
                "size": f.size,
                "sha256": f.sha256,
            }
            for f in list_files(s)
        ],
        "announcements": [_announcement_doc(a) for a in announcements],
        "ranges": [_range_doc(r, by_id) for r in list_ranges(s)],
        "numbers": [
            _compact({"number": str(n.number), "uri": n.uri, "owner": n.owner})
            for n in list_numbers(s)
        ],
        "rules": [
            _compact(
                {
                    "name": r.name,
                    "pattern": r.pattern,
                    "translation": r.translation,
                    "description": r.description,
                }
            )
            for r in list_rules(s)
        ],
    }


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None and v != ""}


def _announcement_doc(a: Announcement) -> dict[str, Any]:
    return _compact(
        {
            "id": str(a.id),
            "pool": a.pool,
            "name": a.name,
            "audio_file": a.audio_file,
            "tts_text": a.tts_text,
            "language": a.language,
            "target": a.target,
        }
    ) | {
        key: getattr(a, key)
        for key, default in ANNOUNCEMENT_OPTIONS.items()
        if getattr(a, key) != default
    }


def _range_doc(r: NumberRange, by_id: dict[uuid.UUID, Announcement]) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": r.name}
    if r.pattern is not None:
        doc["pattern"] = r.pattern
    else:
        doc["start"], doc["end"] = describe_number(r.start), describe_number(r.end)
    if r.announcement_id is not None:
        target = by_id.get(r.announcement_id)
        if target is not None:
            doc["announcement"] = {"pool": target.pool, "name": target.name}
        doc["announcement_id"] = str(r.announcement_id)
    else:
        doc["auto_attendant"] = describe_number(r.auto_attendant)
    doc["priority"] = r.priority
    if r.description:
        doc["description"] = r.description
    return doc


# --- import --------------------------------------------------------------------------------


def import_config(
    s: Session, data: dict[str, Any], *, progress: Progress | None = None
) -> list[str]:
    """Make the store match ``data`` (see the module docstring); returns the changes made, one
    line each: ``+ range r1``, ``~ announcement p/a: target 'x' -> 'y'``, ``- number +1425…``.
    Raises :class:`ValidationError` listing every problem, having changed nothing."""
    reader = Reader()
    doc = read_document(data, reader)
    plan = check_document(s, doc, reader)
    if reader.problems:
        raise ValidationError(
            "config",
            f"{len(reader.problems)} problem(s), nothing imported:\n" + "\n".join(reader.problems),
        )
    changes: list[str] = []
    counter = _Counter(changes, progress)
    rendered = {} if plan.announcements is None else _render_prompts(s, plan.announcements)
    with writing(s, "configuration import"):
        new_pools: set[str] = set()
        if doc.pools is not None:
            new_pools = _apply_pools(s, doc.pools, changes)
        if plan.announcements is not None:
            _apply_announcements(s, plan.announcements, changes, rendered)
        counter.report()
        if plan.ranges is not None:
            _apply_ranges(s, plan.ranges, changes)
        counter.report()
        if doc.numbers is not None:
            _apply_numbers(s, doc.numbers, changes, counter)
        if doc.rules is not None:
            _apply_rules(s, doc.rules, changes)
        if doc.pools is not None:
            _apply_backups(s, doc.pools, new_pools, changes)
        if not changes:
            bump_version(s, -1)  # nothing changed: the version stays (the row stays locked)
        _note_files(s, doc, changes)
        counter.report()
    return changes


@dataclass(slots=True)
class _Counter:
    changes: list[str]
    progress: Progress | None

    def report(self, count: int | None = None) -> None:
        """Report ``count`` changes applied so far (all those listed, by default)."""
        if self.progress is not None:
            self.progress(len(self.changes) if count is None else count)


def _diff(fields: Iterable[tuple[str, Any, Any]]) -> str:
    parts = []
    for name, old, new in fields:
        if old != new:
            parts.append(f"{name} {_show(old)} -> {_show(new)}")
    return ", ".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _apply_pools(s: Session, pools: list[Pool], changes: list[str]) -> set[str]:
    """Add the new pools (their backups are set last) and describe the others; returns the
    names of the new pools."""
    stored = {row.name: row for row in s.scalars(select(PoolRow))}
    added = set()
    for p in pools:
        row = stored.get(p.name)
        options = {k: getattr(p, k) for k in POOL_OPTIONS}
        if row is None:
            s.add(PoolRow(name=p.name, backup=None, description=p.description, **options))
            changes.append(f"+ pool {p.name}")
            added.add(p.name)
            continue
        diff = _diff(
            [("description", row.description, p.description)]
            + [(k, getattr(row, k), v) for k, v in options.items()]
        )
        if diff:
            changes.append(f"~ pool {p.name}: {diff}")
            row.description = p.description
            for k, v in options.items():
                setattr(row, k, v)
    s.flush()
    return added


def _apply_backups(s: Session, pools: list[Pool], added: set[str], changes: list[str]) -> None:
    """Set every pool's backup, then remove the pools the document does not have."""
    wanted = {p.name: p for p in pools}
    rows = list(s.scalars(select(PoolRow).order_by(PoolRow.name)))
    for row in rows:
        new = wanted[row.name].backup if row.name in wanted else None
        if row.backup != new:
            if row.name in wanted and row.name not in added:
                changes.append(f"~ pool {row.name}: {_diff([('backup', row.backup, new)])}")
            row.backup = new
    s.flush()
    for row in rows:
        if row.name not in wanted:
            s.delete(row)
            changes.append(f"- pool {row.name}")
    s.flush()


def _render_prompts(s: Session, wanted: list[Announcement]) -> dict[str, Rendered]:
    """Render, before anything is written, the text-to-speech prompts that are new or changed
    (by announcement id). A locale without a voice or an unspeakable text refuses the import."""
    t = AnnouncementRow
    stored = {
        key: (text, language, has_pcm)
        for key, text, language, has_pcm in s.execute(
            select(t.id, t.tts_text, t.language, t.tts_sha256.is_not(None))
        )
    }
    rendered: dict[str, Rendered] = {}
    problems = []
    for a in wanted:
        old = stored.get(str(a.id))
        before = None if old is None else (old[0], old[1])
        if a.tts_text is None or (before == (a.tts_text, a.language) and old and old[2]):
            continue
        try:
            made = render_tts(a)
        except ValidationError as exc:
            problems.append(f"announcements {a.pool}/{a.name}.{exc.field}: {exc.rule}")
            continue
        if made is not None:
            rendered[str(a.id)] = made
    if problems:
        raise ValidationError(
            "config", f"{len(problems)} problem(s), nothing imported:\n" + "\n".join(problems)
        )
    return rendered


def _apply_announcements(
    s: Session, wanted: list[Announcement], changes: list[str], rendered: dict[str, Rendered]
) -> None:
    stored = {row.id: row for row in s.scalars(select(AnnouncementRow))}
    before = {key: to_announcement(row) for key, row in stored.items()}
    keep = {str(a.id) for a in wanted}
    for key in sorted(set(stored) - keep, key=lambda k: (before[k].pool, before[k].name)):
        s.delete(stored.pop(key))
        changes.append(f"- announcement {before[key].pool}/{before[key].name}")
    s.flush()
    for a in wanted:
        row = stored.get(str(a.id))
        if row is not None and (row.pool, row.name) != (a.pool, a.name):
            row.name = f"~{a.id}"  # out of the way (two names may be swapped); set below
    s.flush()
    for a in wanted:
        row = stored.get(str(a.id))
        made = rendered.get(str(a.id))
        if row is None:
            row = AnnouncementRow(id=str(a.id), pool=a.pool, name=a.name)
            fill_announcement_row(row, a)
            if made is not None:
                row.tts_pcm, row.tts_sha256 = made.pcm, made.sha256
            s.add(row)
            changes.append(f"+ announcement {a.pool}/{a.name}")
            continue
        current = before[str(a.id)]
        diff = _diff(
            [
                ("pool", current.pool, a.pool),
                ("name", current.name, a.name),
                ("audio_file", current.audio_file, a.audio_file),
                ("tts_text", current.tts_text, a.tts_text),
                ("language", current.language, a.language),
                ("target", current.target, a.target),
                *((key, getattr(current, key), getattr(a, key)) for key in ANNOUNCEMENT_OPTIONS),
            ]
        )
        if diff:
            changes.append(f"~ announcement {a.pool}/{a.name}: {diff}")
        row.pool, row.name = a.pool, a.name
        fill_announcement_row(row, a)
        if a.tts_text is None:
            row.tts_pcm = row.tts_sha256 = None
        elif made is not None:
            row.tts_pcm, row.tts_sha256 = made.pcm, made.sha256
    s.flush()


def _apply_ranges(s: Session, wanted: list[NumberRange], changes: list[str]) -> None:
    stored = {row.name: row for row in s.scalars(select(RangeRow))}
    names = {r.name for r in wanted}
    for name in sorted(set(stored) - names):
        s.delete(stored.pop(name))
        changes.append(f"- range {name}")
    s.flush()
    top = max((row.position for row in stored.values()), default=0)
    now = utc_now()
    for value in wanted:
        row = stored.get(value.name)
        if row is None:
            top += 1
            row = RangeRow(name=value.name, position=top, created=now)
            fill_range_row(row, value)
            s.add(row)
            stored[value.name] = row
            changes.append(f"+ range {value.name}")
            continue
        current = to_range(row)
        diff = _diff(
            [
                ("start", describe_number(current.start), describe_number(value.start)),
                ("end", describe_number(current.end), describe_number(value.end)),
                ("pattern", current.pattern, value.pattern),
                ("announcement", current.announcement_id, value.announcement_id),
                (
                    "auto_attendant",
                    describe_number(current.auto_attendant),
                    describe_number(value.auto_attendant),
                ),
                ("priority", current.priority, value.priority),
                ("description", current.description, value.description),
            ]
        )
        if diff:
            changes.append(f"~ range {value.name}: {diff}")
            fill_range_row(row, value)
    # The document's order (stable by priority) is the evaluation order; renumber if it differs.
    desired = [v.name for v in sorted(wanted, key=lambda v: v.priority)]
    actual = sorted(desired, key=lambda n: (stored[n].priority, stored[n].position))
    if actual != desired:
        for position, name in enumerate(desired, start=1):
            stored[name].position = position
        changes.append("~ ranges: evaluation order")
    s.flush()


def _apply_numbers(
    s: Session, wanted: list[AssignedNumber], changes: list[str], counter: _Counter
) -> None:
    t = AssignedNumberRow
    stored = {
        n: (i, uri, owner) for i, n, uri, owner in s.execute(select(t.id, t.number, t.uri, t.owner))
    }
    keep = {n.number.uri for n in wanted}
    gone = sorted(n for n in stored if n not in keep)
    for i in range(0, len(gone), _BATCH):
        chunk = gone[i : i + _BATCH]
        s.execute(delete(t).where(t.number.in_(chunk)).execution_options(synchronize_session=False))
        changes.extend(f"- number {n.removeprefix('tel:')}" for n in chunk)
    updates = []
    added = []
    for n in wanted:
        old = stored.get(n.number.uri)
        if old is None:
            added.append(n)
            changes.append(f"+ number {n.number} -> {n.uri}")
        elif (old[1], old[2]) != (n.uri, n.owner):
            updates.append({"id": old[0], "uri": n.uri, "owner": n.owner})
            diff = _diff([("uri", old[1], n.uri), ("owner", old[2], n.owner)])
            changes.append(f"~ number {n.number}: {diff}")
    for i in range(0, len(updates), _BATCH):
        s.execute(update(t), updates[i : i + _BATCH])
    before = len(changes) - len(added)
    bulk_insert_numbers(s, added, lambda done: counter.report(before + done))
    s.expire_all()


def _apply_rules(s: Session, wanted: list[NormalisationRule], changes: list[str]) -> None:
    stored = {row.name: row for row in s.scalars(select(NormalisationRuleRow))}
    names = {r.name for r in wanted}
    for name in sorted(set(stored) - names):
        s.delete(stored.pop(name))
        changes.append(f"- rule {name}")
    old_order = [n for n in sorted(stored, key=lambda n: stored[n].position) if n in names]
    for value in wanted:
        row = stored.get(value.name)
        if row is None:
            s.add(
                NormalisationRuleRow(
                    name=value.name,
                    pattern=value.pattern,
                    translation=value.translation,
                    position=value.position,
                    description=value.description,
                )
            )
            changes.append(f"+ rule {value.name}")
            continue
        diff = _diff(
            [
                ("pattern", row.pattern, value.pattern),
                ("translation", row.translation, value.translation),
                ("description", row.description, value.description),
            ]
        )
        if diff:
            changes.append(f"~ rule {value.name}: {diff}")
        row.pattern, row.translation = value.pattern, value.translation
        row.description, row.position = value.description, value.position
    if old_order != [v.name for v in wanted if v.name in old_order]:
        changes.append("~ rules: order")
    s.flush()


def _note_files(s: Session, doc: Doc, changes: list[str]) -> None:
    if not doc.files:
        return
    stored = {
        (pool, name): sha
        for pool, name, sha in s.execute(
            select(AnnouncementFileRow.pool, AnnouncementFileRow.name, AnnouncementFileRow.sha256)
        )
    }
    for pool, name, sha256, _where in doc.files:
        if sha256 is not None and stored.get((pool, name)) not in (None, sha256):
            changes.append(f"! file {pool}/{name}: the stored content differs from the document's")
