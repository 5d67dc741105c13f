"""Disaster recovery, as Lync's procedure does it by hand, in one transaction each way.

``failover(PRIMARY)`` copies every audio file of PRIMARY into its backup pool, recreates every
announcement of PRIMARY there (same name and settings; an identical one already there is kept; a
different one of the same name refuses the whole failover, naming both), and re-points every range
that uses an announcement of PRIMARY to the backup's copy. Auto-attendant ranges are left alone.
What it did is recorded (:class:`~vacant.store.models.FailoverRangeRow`,
:class:`~vacant.store.models.FailoverCopyRow`), so that ``failback(PRIMARY)`` re-points exactly
those ranges back (recreating their announcements, and the audio files they play, in PRIMARY when
it was rebuilt empty) and, with ``cleanup``, removes the copies nothing uses any more.

Rows are copied column by column from the table definitions, so every column, including derived
audio (normalised PCM, rendered text-to-speech), moves with them, and file contents are copied
by the database (``INSERT ... SELECT``) without passing through Python. An announcement's
*settings*, compared to decide "identical", are its columns other than the id, the pool, binary
data and timestamps.

Both run as one write (a SAVEPOINT and one configuration version bump) in the caller's
transaction: a crash halfway leaves nothing behind, and running them again is safe (a second
failover finds the copies identical and no range left to re-point; a second failback finds no
record). ``pause`` is called between steps (a test hook that makes "halfway" wide enough to kill).

Also here: the audio files of a pool as ``(name, content)`` for ``vacant announcement
export-files``, and every file row as a plain document for ``vacant config export --with-files``
and its restore.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, LargeBinary, Table, delete, insert, literal, select, update
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing import model
from vacant.store.models import (
    AnnouncementFileRow,
    AnnouncementRow,
    FailoverCopyRow,
    FailoverRangeRow,
    PoolRow,
    RangeRow,
    utc_now,
)
from vacant.store.rows import writing

Pause = Callable[[str], None]
#: Problems listed in one refusal (the count is always given).
MAX_PROBLEMS = 20

FILES: Table = AnnouncementFileRow.__table__  # type: ignore[assignment]
ANNOUNCEMENTS: Table = AnnouncementRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Step:
    """One line of a plan: ``action`` (``copy file``, ``keep announcement``, ``re-point range``
    ...) and what it applies to."""

    action: str
    detail: str

    def __str__(self) -> str:
        return f"{self.action}: {self.detail}"

    @property
    def changes(self) -> bool:
        return not self.action.startswith(("keep", "skip"))


@dataclass(frozen=True, slots=True)
class Plan:
    """What a failover or failback does (or, dry run, would do)."""

    operation: str
    primary: str
    backup: str
    steps: tuple[Step, ...] = field(default=())

    @property
    def changes(self) -> int:
        return sum(1 for step in self.steps if step.changes)


def no_pause(_step: str) -> None:
    """The default ``pause``: none."""
    return None


def _pool(s: Session, name: str) -> PoolRow:
    row = s.get(PoolRow, name.strip().lower())
    if row is None:
        raise NotFound(f"pool {name!r} does not exist")
    return row


def _is(column: Column[Any], kind: type) -> bool:
    """The column's type is ``kind`` (or a decorator of it, such as ``UTCDateTime``)."""
    return isinstance(getattr(column.type, "impl", column.type), kind)


def _settings_columns() -> list[Column[Any]]:
    return [
        c
        for c in ANNOUNCEMENTS.columns
        if c.name not in {"id", "pool"} and not _is(c, LargeBinary) and not _is(c, DateTime)
    ]


def _settings(s: Session, pool: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The announcements of ``pool``: name -> (id, settings)."""
    cols = _settings_columns()
    t = ANNOUNCEMENTS
    rows = s.execute(select(t.c.id, *cols).where(t.c.pool == pool)).all()
    return {r.name: (r.id, {c.name: getattr(r, c.name) for c in cols}) for r in rows}


def _files(s: Session, pool: str) -> dict[str, str]:
    """The files of ``pool``: name -> sha256 (never their content)."""
    t = AnnouncementFileRow
    return dict(s.execute(select(t.name, t.sha256).where(t.pool == pool)).all())


def _differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    return ", ".join(f"{k} {a[k]!r} vs {b[k]!r}" for k in sorted(a) if a[k] != b[k] and k != "name")


def _copy_file(s: Session, source: str, dest: str, name: str) -> None:
    """``INSERT ... SELECT`` every column of the file ``source/name`` into ``dest``."""
    cols = [c for c in FILES.columns if c.name != "id"]
    chosen = [literal(dest, c.type).label("pool") if c.name == "pool" else c for c in cols]
    s.execute(
        insert(FILES).from_select(
            [c.name for c in cols],
            select(*chosen).where(FILES.c.pool == source, FILES.c.name == name),
        )
    )


def _copy_announcement(s: Session, source_id: str, dest: str, new_id: str) -> None:
    """``INSERT ... SELECT`` every column of one announcement, with a new id and pool."""
    cols = list(ANNOUNCEMENTS.columns)
    chosen = [
        literal(new_id, c.type).label("id")
        if c.name == "id"
        else literal(dest, c.type).label("pool")
        if c.name == "pool"
        else c
        for c in cols
    ]
    s.execute(
        insert(ANNOUNCEMENTS).from_select(
            [c.name for c in cols], select(*chosen).where(ANNOUNCEMENTS.c.id == source_id)
        )
    )


def _refuse(operation: str, problems: list[str]) -> None:
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        extra = f"\n  ... and {more} more" if more > 0 else ""
        raise Conflict(f"{operation} refused, nothing changed:\n{shown}{extra}")


def _record_copy(s: Session, primary: str, backup: str, kind: str, name: str) -> None:
    t = FailoverCopyRow
    exists = s.scalar(select(t.id).where(t.primary_pool == primary, t.kind == kind, t.name == name))
    if exists is None:
        s.execute(
            insert(t).values(
                primary_pool=primary, backup_pool=backup, kind=kind, name=name, created=utc_now()
            )
        )


# --- failover ------------------------------------------------------------------------------


def failover(s: Session, primary: str, *, dry_run: bool = False, pause: Pause = no_pause) -> Plan:
    """Fail PRIMARY over to its backup pool (see the module docstring)."""
    p = _pool(s, primary)
    if p.backup is None:
        raise ValidationError(
            "backup", f"pool {p.name!r} has no backup pool (vacant pool set {p.name} --backup B)"
        )
    backup = p.backup
    steps: list[Step] = []
    problems: list[str] = []
    files_p, files_b = _files(s, p.name), _files(s, backup)
    copy_files = []
    for name, sha in sorted(files_p.items()):
        if name not in files_b:
            copy_files.append(name)
            steps.append(Step("copy file", f"{p.name}/{name} -> {backup}/{name}"))
        elif files_b[name] == sha:
            steps.append(Step("keep file", f"{backup}/{name} (identical)"))
        else:
            problems.append(
                f"file {name!r} of pool {backup!r} differs from file {name!r} of pool {p.name!r}"
                " (other content): rename or remove one"
            )
    anns_p, anns_b = _settings(s, p.name), _settings(s, backup)
    copies: dict[str, str] = {}  # primary id -> backup id
    create = []
    for name, (pid, settings) in sorted(anns_p.items()):
        if name in anns_b:
            bid, other = anns_b[name]
            if other == settings:
                copies[pid] = bid
                steps.append(Step("keep announcement", f"{backup}/{name} (identical)"))
            else:
                problems.append(
                    f"announcement {name!r} of pool {backup!r} differs from announcement"
                    f" {name!r} of pool {p.name!r} ({_differences(other, settings)}):"
                    " rename or remove one"
                )
        else:
            copies[pid] = str(uuid.uuid4())
            create.append((name, pid))
            steps.append(Step("create announcement", f"{backup}/{name} (copy of {p.name}/{name})"))
    r = RangeRow
    ids = [pid for pid, _ in anns_p.values()]
    ranges = (
        s.execute(
            select(r.name, r.announcement_id)
            .where(r.announcement_id.in_(ids))
            .order_by(r.priority, r.position)
        ).all()
        if ids
        else []
    )
    names_by_id = {pid: name for name, (pid, _) in anns_p.items()}
    for range_name, aid in ranges:
        assert aid is not None  # selected by id
        ann = names_by_id[aid]
        steps.append(Step("re-point range", f"{range_name}: {p.name}/{ann} -> {backup}/{ann}"))
    _refuse(f"failover of pool {p.name!r} to {backup!r}", problems)
    plan = Plan("failover", p.name, backup, tuple(steps))
    if dry_run or not plan.changes:
        return plan
    with writing(s, f"failover of pool {p.name!r}"):
        for name in copy_files:
            _copy_file(s, p.name, backup, name)
            _record_copy(s, p.name, backup, "file", name)
            pause(f"copied file {name}")
        for name, pid in create:
            _copy_announcement(s, pid, backup, copies[pid])
            _record_copy(s, p.name, backup, "announcement", name)
            pause(f"created announcement {name}")
        now = utc_now()
        f = FailoverRangeRow
        for range_name, aid in ranges:
            assert aid is not None
            s.execute(
                update(r)
                .where(r.name == range_name)
                .values(announcement_id=copies[aid])
                .execution_options(synchronize_session=False)
            )
            s.execute(delete(f).where(f.primary_pool == p.name, f.range_name == range_name))
            s.execute(
                insert(f).values(
                    primary_pool=p.name,
                    backup_pool=backup,
                    range_name=range_name,
                    announcement=names_by_id[aid],
                    primary_id=aid,
                    backup_id=copies[aid],
                    created=now,
                )
            )
            pause(f"re-pointed range {range_name}")
    return plan


# --- failback ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Failback:
    s: Session
    primary: str
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    actions: list[Callable[[], None]] = field(default_factory=list)
    #: The step of each action.
    acting: list[Step] = field(default_factory=list)

    def do(self, step: Step, action: Callable[[], None] | None = None) -> None:
        self.steps.append(step)
        if action is not None:
            self.actions.append(action)
            self.acting.append(step)


def failback(
    s: Session,
    primary: str,
    *,
    cleanup: bool = False,
    dry_run: bool = False,
    pause: Pause = no_pause,
) -> Plan:
    """Re-point the ranges a failover of PRIMARY re-pointed (see the module docstring)."""
    p = _pool(s, primary)
    f = FailoverRangeRow
    records = s.execute(
        select(f.range_name, f.announcement, f.primary_id, f.backup_id, f.backup_pool)
        .where(f.primary_pool == p.name)
        .order_by(f.range_name)
    ).all()
    c = FailoverCopyRow
    copies = s.execute(
        select(c.kind, c.name, c.backup_pool).where(c.primary_pool == p.name).order_by(c.name)
    ).all()
    backup = next((row.backup_pool for row in [*records, *copies]), p.backup or "(no backup pool)")
    job = _Failback(s, p.name)
    files_p = _files(s, p.name)
    anns_p = _settings(s, p.name)
    targets: dict[str, str] = {}  # announcement name -> its id in PRIMARY
    for rec in records:
        if rec.announcement in targets:
            continue
        if rec.announcement in anns_p:
            targets[rec.announcement] = anns_p[rec.announcement][0]
            continue
        _plan_recreate(job, rec.announcement, rec.primary_id, rec.backup_id, rec.backup_pool,
                       files_p, targets)  # fmt: skip
    r = RangeRow
    for rec in records:
        current = s.scalar(select(r.announcement_id).where(r.name == rec.range_name))
        name = rec.range_name

        def drop(name: str = name) -> None:
            s.execute(delete(f).where(f.primary_pool == p.name, f.range_name == name))

        if rec.announcement not in targets:
            continue  # a problem was noted
        if current != rec.backup_id:
            why = "was removed" if current is None else "was changed since the failover"
            job.do(Step("skip range", f"{name}: {why}; left as it is"), drop)
            continue
        target = targets[rec.announcement]

        def repoint(name: str = name, target: str = target) -> None:
            s.execute(
                update(r)
                .where(r.name == name)
                .values(announcement_id=target)
                .execution_options(synchronize_session=False)
            )
            s.execute(delete(f).where(f.primary_pool == p.name, f.range_name == name))

        job.do(
            Step(
                "re-point range",
                f"{name}: {rec.backup_pool}/{rec.announcement} -> {p.name}/{rec.announcement}",
            ),
            repoint,
        )
    if cleanup:
        _plan_cleanup(job, copies, {rec.backup_id for rec in records})
    _refuse(f"failback of pool {p.name!r}", job.problems)
    plan = Plan("failback", p.name, backup, tuple(job.steps))
    if dry_run or not job.actions:
        return plan
    with writing(s, f"failback of pool {p.name!r}"):
        for step, action in zip(job.acting, job.actions, strict=True):
            action()
            pause(str(step))
    return plan


def _plan_recreate(
    job: _Failback,
    name: str,
    primary_id: str,
    backup_id: str,
    backup: str,
    files_p: dict[str, str],
    targets: dict[str, str],
) -> None:
    """PRIMARY was rebuilt without announcement ``name``: recreate it from the backup's copy
    (with its old id when free, repairing anything still pointing at it), and its audio file."""
    s = job.s
    t = ANNOUNCEMENTS
    source = (
        s.execute(select(t.c.id, t.c.audio_file).where(t.c.id == backup_id)).first()
        or s.execute(
            select(t.c.id, t.c.audio_file).where(t.c.pool == backup, t.c.name == name)
        ).first()
    )
    if source is None:
        job.problems.append(
            f"announcement {name!r} is in neither pool {job.primary!r} nor {backup!r}:"
            " recreate it in the primary pool first"
        )
        return
    taken = s.scalar(select(t.c.id).where(t.c.id == primary_id)) is not None
    new_id = str(uuid.uuid4()) if taken else primary_id
    targets[name] = new_id
    audio = source.audio_file
    if audio is not None and audio not in files_p:
        files_p[audio] = "(recreated)"
        job.do(
            Step("copy file", f"{backup}/{audio} -> {job.primary}/{audio}"),
            lambda: _copy_file(s, backup, job.primary, audio),
        )
    job.do(
        Step("create announcement", f"{job.primary}/{name} (copy of {backup}/{name})"),
        lambda: _copy_announcement(s, source.id, job.primary, new_id),
    )


def _plan_cleanup(job: _Failback, copies: Sequence[Any], leaving: set[str]) -> None:
    """Remove the backup's copies that no range uses once the re-pointed ranges are back."""
    s = job.s
    t, r = ANNOUNCEMENTS, RangeRow
    removed_ids: set[str] = set()
    for copy in [x for x in copies if x.kind == "announcement"]:
        row = s.execute(
            select(t.c.id).where(t.c.pool == copy.backup_pool, t.c.name == copy.name)
        ).first()
        forget = _forget(s, job.primary, "announcement", copy.name)
        if row is None:
            job.do(
                Step("skip announcement", f"{copy.backup_pool}/{copy.name}: already gone"), forget
            )
            continue
        users = [
            n
            for n in s.scalars(select(r.name).where(r.announcement_id == row.id).order_by(r.name))
            if not (row.id in leaving and _leaves(s, job.primary, n))
        ]
        if users:
            job.do(Step("keep announcement", f"{copy.backup_pool}/{copy.name}: used by {users[0]}"))
            continue
        removed_ids.add(row.id)

        def remove(aid: str = row.id, forget: Callable[[], None] = forget) -> None:
            s.execute(delete(t).where(t.c.id == aid))
            forget()

        job.do(Step("remove announcement", f"{copy.backup_pool}/{copy.name}"), remove)
    for copy in [x for x in copies if x.kind == "file"]:
        forget = _forget(s, job.primary, "file", copy.name)
        users = [
            n
            for i, n in s.execute(
                select(t.c.id, t.c.name).where(
                    t.c.pool == copy.backup_pool, t.c.audio_file == copy.name
                )
            ).all()
            if i not in removed_ids
        ]
        if users:
            job.do(Step("keep file", f"{copy.backup_pool}/{copy.name}: used by {users[0]}"))
            continue

        def remove_file(pool: str = copy.backup_pool, name: str = copy.name,
                        forget: Callable[[], None] = forget) -> None:  # fmt: skip
            s.execute(delete(FILES).where(FILES.c.pool == pool, FILES.c.name == name))
            forget()

        job.do(Step("remove file", f"{copy.backup_pool}/{copy.name}"), remove_file)


def _leaves(s: Session, primary: str, range_name: str) -> bool:
    """True when this failback re-points ``range_name`` back to the primary."""
    f = FailoverRangeRow
    found = s.scalar(select(f.id).where(f.primary_pool == primary, f.range_name == range_name))
    return found is not None


def _forget(s: Session, primary: str, kind: str, name: str) -> Callable[[], None]:
    c = FailoverCopyRow

    def forget() -> None:
        s.execute(delete(c).where(c.primary_pool == primary, c.kind == kind, c.name == name))

    return forget


def failed_over(s: Session) -> dict[str, int]:
    """Pools with ranges re-pointed by a failover not yet failed back: pool -> ranges."""
    f = FailoverRangeRow
    counts: dict[str, int] = {}
    for pool in s.scalars(select(f.primary_pool)):
        counts[pool] = counts.get(pool, 0) + 1
    return counts


# --- files out and back in -----------------------------------------------------------------


def pool_files(s: Session, pool: str) -> Iterator[tuple[str, bytes]]:
    """Every audio file of ``pool`` as (name, original content), one loaded at a time."""
    name_of = _pool(s, pool).name
    t = AnnouncementFileRow
    for name in list(s.scalars(select(t.name).where(t.pool == name_of).order_by(t.name))):
        content = s.scalar(select(t.content).where(t.pool == name_of, t.name == name))
        assert content is not None
        yield name, content


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def file_documents(s: Session) -> Iterator[dict[str, Any]]:
    """Every file row, every column but the row id, as plain values (bytes as base64), one row
    loaded at a time: the ``files`` section of ``vacant config export --with-files``."""
    cols = [c for c in FILES.columns if c.name != "id"]
    keys = list(s.execute(select(FILES.c.id).order_by(FILES.c.pool, FILES.c.name)).scalars())
    for key in keys:
        row = s.execute(select(*cols).where(FILES.c.id == key)).one()
        yield {c.name: _plain(getattr(row, c.name)) for c in cols}


def _value(column: Column[Any], value: Any, where: str) -> Any:
    if isinstance(value, dict) and set(value) == {"base64"}:
        try:
            return base64.b64decode(str(value["base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"{where}.{column.name}", "is not valid base64") from None
    if _is(column, DateTime) and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{where}.{column.name}", "is not an ISO 8601 time") from None
    return value


def restore_files(s: Session, entries: list[dict[str, Any]]) -> list[str]:
    """Store the files of a ``--with-files`` document (their pools are created if missing, with
    nothing but a name: the document's import sets the rest). A file already stored with the
    same SHA-256 is left; one with other content is replaced. Returns the changes made."""
    cols = {c.name: c for c in FILES.columns if c.name != "id"}
    rows: list[dict[str, Any]] = []
    for n, entry in enumerate(entries):
        where = f"files[{n}]"
        unknown = sorted(set(entry) - set(cols))
        if unknown:
            raise ValidationError(where, f"unknown field(s) {', '.join(unknown)}")
        values = {k: _value(cols[k], v, where) for k, v in entry.items()}
        for required in ("pool", "name", "content", "media_type"):
            if values.get(required) in (None, ""):
                raise ValidationError(f"{where}.{required}", "is required to restore a file")
        pool = model.validate_pool_name(str(values["pool"]), f"{where}.pool")
        name = model.validate_file_name(str(values["name"]), f"{where}.name")
        content = values["content"]
        if not isinstance(content, bytes):
            raise ValidationError(f"{where}.content", "must be {base64: ...}")
        digest = hashlib.sha256(content).hexdigest()
        if values.get("sha256", digest) != digest:
            raise ValidationError(f"{where}.sha256", "does not match the content")
        values.update(pool=pool, name=name, sha256=digest, size=len(content))
        values.setdefault("created", utc_now())
        rows.append(values)
    changes: list[str] = []
    if not rows:
        return changes
    with writing(s, "restore of audio files"):
        for values in rows:
            pool, name = values["pool"], values["name"]
            if s.get(PoolRow, pool) is None:
                s.add(PoolRow(name=pool, backup=None, description=""))
                s.flush()
                changes.append(f"+ pool {pool}")
            where = (FILES.c.pool == pool) & (FILES.c.name == name)
            stored = s.scalar(select(FILES.c.sha256).where(where))
            if stored == values["sha256"]:
                continue
            if stored is None:
                s.execute(insert(FILES).values(**values))
                changes.append(f"+ file {pool}/{name}")
            else:
                s.execute(update(FILES).where(where).values(**values))
                changes.append(f"~ file {pool}/{name}: content restored")
    return changes
