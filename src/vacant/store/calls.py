"""Call records (CDRs): written in batches by the server, read by ``vacant calls list``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any, Final, get_args, get_type_hints

from sqlalchemy import Dialect, select
from sqlalchemy.orm import Session

from vacant.store.models import CallRow

MAX_FIELD = 256
MAX_OUTCOME = 32


@dataclass(slots=True, unsafe_hash=True)
class CallRecord:
    """One INVITE and what became of it. ``duration`` is in seconds from INVITE to the end.

    Immutable as far as mypy sees (``Final`` fields), not at run time: the call handler makes
    one per call, and a frozen dataclass's ``__init__`` (every field set through
    ``object.__setattr__``) took 1.3 us where this one takes 0.45.
    """

    started: Final[datetime]
    call_id: Final[str]
    caller: Final[str]
    dialled: Final[str]
    normalised: Final[str | None]
    decision: Final[str]
    range_name: Final[str | None]
    status: Final[int]
    duration: Final[float]
    pool: Final[str]
    #: Announcement calls: seconds of prompt played, the transfer target (from configuration),
    #: and the outcome (``vacant.service.announce.Outcome``); None for other calls.
    prompt_seconds: Final[float | None] = None
    transfer_target: Final[str | None] = None
    outcome: Final[str | None] = None


def add_calls(s: Session, records: Sequence[CallRecord]) -> None:
    """Insert a batch of records in the session's transaction; over-long peer-supplied text is cut.

    The server writes every call's record, so this is on its budget (docs/benchmarks.md): one
    multi-row ``INSERT`` per ``ROWS_PER_INSERT`` records, sent as driver SQL with the columns'
    own bind processors applied once per value. SQLAlchemy's ``executemany`` of a Core
    ``INSERT`` spent 5 µs per record building parameters, and ran one statement per record: in
    the server's writer thread each of those gave up the GIL and took it back, a hand-over with
    the event loop's thread per record.
    """
    if not records:
        return
    connection = s.connection()
    insert = _inserts(connection.dialect)
    rows = [insert.row_of(r) for r in records]
    for at in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[at : at + ROWS_PER_INSERT]
        connection.exec_driver_sql(insert.sql(len(chunk)), tuple(chain.from_iterable(chunk)))


#: Rows per statement: 13 columns each stays far below SQLite's oldest bound on parameters (999).
ROWS_PER_INSERT = 50
#: The table itself (``CallRow.__table__`` is typed as any FROM clause).
_CALLS = CallRow.metadata.tables[CallRow.__tablename__]
_COLUMNS = tuple(f.name for f in fields(CallRecord))
#: A record's values in column order, got in one call.
_VALUES = attrgetter(*_COLUMNS)
#: (position, longest) of each text column: what a peer supplied is cut to what the table keeps.
_HINTS = {name: get_args(hint)[0] for name, hint in get_type_hints(CallRecord).items()}  # Final[X]
_TEXT = tuple(
    (at, MAX_OUTCOME if name == "outcome" else MAX_FIELD)
    for at, name in enumerate(_COLUMNS)
    if _HINTS[name] is str or str in get_args(_HINTS[name])
)
#: One ``_Insert`` per dialect class and parameter style (not per engine: tests make many).
_INSERTS: dict[tuple[type[Dialect], str], _Insert] = {}


@dataclass(frozen=True, slots=True)
class _Insert:
    """The multi-row ``INSERT`` of call records for one dialect."""

    #: "INSERT INTO calls (...) VALUES " and one row's placeholders, in the driver's style.
    head: str
    row: str
    #: (position, bind processor) of each column SQLAlchemy would process (a UTC timestamp).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.row] * rows)

    def row_of(self, record: CallRecord) -> list[object]:
        """``record``'s parameters: text cut to its column, values processed as SQLAlchemy would."""
        values: list[Any] = list(_VALUES(record))
        for at, longest in _TEXT:
            text = values[at]
            if text is not None and len(text) > longest:
                values[at] = text[:longest]
        for at, process in self.processors:
            value = values[at]
            if value is not None:
                values[at] = process(value)
        return values


def _inserts(dialect: Dialect) -> _Insert:
    key = (type(dialect), dialect.paramstyle)
    insert = _INSERTS.get(key)
    if insert is None:
        insert = _INSERTS[key] = _insert(dialect)
    return insert


def _insert(dialect: Dialect) -> _Insert:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg takes %s
    columns = [_CALLS.c[name] for name in _COLUMNS]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    return _Insert(
        head=f"INSERT INTO {_CALLS.name} ({', '.join(c.name for c in columns)}) VALUES ",
        row=f"({', '.join([mark] * len(columns))})",
        processors=tuple((at, p) for at, p in enumerate(processors) if p is not None),
    )


def list_calls(
    s: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    number: str | None = None,
    decision: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CallRecord]:
    """Newest first; ``number`` matches the dialled or the normalised number exactly;
    ``outcome`` an announcement call's outcome; ``since`` is inclusive, ``until`` exclusive."""
    query = select(CallRow).order_by(CallRow.started.desc(), CallRow.id.desc())
    if since is not None:
        query = query.where(CallRow.started >= since)
    if until is not None:
        query = query.where(CallRow.started < until)
    if decision is not None:
        query = query.where(CallRow.decision == decision)
    if outcome is not None:
        query = query.where(CallRow.outcome == outcome)
    if number is not None:
        query = query.where((CallRow.dialled == number) | (CallRow.normalised == number))
    rows = s.scalars(query.limit(limit).offset(offset))
    return [
        CallRecord(
            started=r.started,
            call_id=r.call_id,
            caller=r.caller,
            dialled=r.dialled,
            normalised=r.normalised,
            decision=r.decision,
            range_name=r.range_name,
            status=r.status,
            duration=r.duration,
            pool=r.pool,
            prompt_seconds=r.prompt_seconds,
            transfer_target=r.transfer_target,
            outcome=r.outcome,
        )
        for r in rows
    ]
