"""Call records (CDRs): written in batches by the server, read by ``vacant calls list``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, Final

from sqlalchemy import Connection, Dialect, String, select
from sqlalchemy.orm import Session

from vacant.store.models import CallRow


@dataclass(slots=True, init=False, unsafe_hash=True)
class CallRecord:
    """One INVITE and what became of it. ``duration`` is in seconds from INVITE to the end.

    Immutable (``Final`` fields): compiled (the server's build, docs/sip.md) its fields cannot
    be set again; as Python, mypy sees to it. The ``__init__`` is written out, as the SIP
    values' are: compiled, the call handler makes one per call by a C call, where a dataclass's
    generated ``__init__`` stays interpreted (and a frozen one's sets every field through
    ``object.__setattr__``).
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
    prompt_seconds: Final[float | None]
    transfer_target: Final[str | None]
    outcome: Final[str | None]

    def __init__(
        self,
        *,
        started: datetime,
        call_id: str,
        caller: str,
        dialled: str,
        normalised: str | None,
        decision: str,
        range_name: str | None,
        status: int,
        duration: float,
        pool: str,
        prompt_seconds: float | None = None,
        transfer_target: str | None = None,
        outcome: str | None = None,
    ) -> None:
        self.started = started
        self.call_id = call_id
        self.caller = caller
        self.dialled = dialled
        self.normalised = normalised
        self.decision = decision
        self.range_name = range_name
        self.status = status
        self.duration = duration
        self.pool = pool
        self.prompt_seconds = prompt_seconds
        self.transfer_target = transfer_target
        self.outcome = outcome


def add_calls(s: Session, records: Sequence[CallRecord]) -> None:
    """Insert a batch of records in the session's transaction; over-long peer-supplied text is cut.

    The server writes every call's record, so this is on its budget (docs/benchmarks.md): one
    multi-row ``INSERT`` per ``ROWS_PER_INSERT`` records, sent as driver SQL with the columns'
    own bind processors applied once per value. SQLAlchemy's ``executemany`` of a Core
    ``INSERT`` spent 5 µs per record building parameters, and ran one statement per record: in
    the server's writer thread each of those gave up the GIL and took it back, a hand-over with
    the event loop's thread per record. Each statement's rows are made just before it is sent:
    the writer holds the GIL for one statement's worth of Python at a time (about 0.1 ms) and
    gives it up while SQLite runs the statement, so the event loop, woken by a datagram, does
    not wait for it longer (made all at once, the rows of a batch held it for 1.5 ms, and the
    loop waited up to the 0.5 ms switch interval, 36 times a second at 17,500 calls/s).

    Records go in groups by which columns they leave NULL, each group's rows with ``NULL`` written
    in those columns rather than sent as parameters (sqlite3 passes every ``None`` parameter
    through its adaptation protocol, which makes and drops an exception: 0.9 µs of a 6 µs
    record). A group's statement goes out once it has ``ROWS_PER_INSERT`` records, the rest at
    the end: full statements keep one SQL text per group, which the driver keeps prepared
    (statements of varying lengths are each compiled anew). So the rows' ids follow the groups
    (``list_calls`` orders by time).
    """
    connection = s.connection()
    dialect = connection.dialect
    groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
    for record in records:
        values = _VALUES(record)
        nulls = tuple([values[at] is None for at in _NULLABLE])
        group = groups.get(nulls)
        if group is None:
            group = groups[nulls] = []
        group.append(values)
        if len(group) == ROWS_PER_INSERT:
            _send(connection, _inserts(dialect, nulls), group)
            del groups[nulls]
    for nulls, group in groups.items():
        _send(connection, _inserts(dialect, nulls), group)


def _send(connection: Connection, insert: _Insert, group: list[tuple[Any, ...]]) -> None:
    parameters = chain.from_iterable([insert.row_of(values) for values in group])
    connection.exec_driver_sql(insert.sql(len(group)), tuple(parameters))


#: Rows per statement: 13 columns each stays far below SQLite's oldest bound on parameters (999).
ROWS_PER_INSERT = 50
#: The table itself (``CallRow.__table__`` is typed as any FROM clause).
_CALLS = CallRow.metadata.tables[CallRow.__tablename__]
_COLUMNS = tuple(f.name for f in fields(CallRecord))
#: A record's values in column order, got in one call.
_VALUES = attrgetter(*_COLUMNS)
#: Positions of the columns a record may leave NULL.
_NULLABLE = tuple(at for at, name in enumerate(_COLUMNS) if _CALLS.c[name].nullable)
#: (position, longest) of each text column: what a peer supplied is cut to what the table keeps.
_TEXT = tuple(
    (at, length)
    for at, name in enumerate(_COLUMNS)
    if isinstance(kind := _CALLS.c[name].type, String) and (length := kind.length) is not None
)
#: One ``_Insert`` per dialect class, parameter style and columns left NULL (not per engine:
#: tests make many).
_INSERTS: dict[tuple[type[Dialect], str, tuple[bool, ...]], _Insert] = {}


@dataclass(frozen=True, slots=True)
class _Insert:
    """The multi-row ``INSERT`` of call records that leave the same columns NULL, for one
    dialect."""

    #: "INSERT INTO calls (...) VALUES " and one row's placeholders, in the driver's style, with
    #: ``NULL`` where the records have nothing.
    head: str
    row: str
    #: A record's values in column order -> the values sent (those not NULL).
    sent: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    #: (position among those sent, longest) of each text value.
    texts: tuple[tuple[int, int], ...]
    #: (position among those sent, bind processor) of each value SQLAlchemy would process (a
    #: UTC timestamp).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.row] * rows)

    def row_of(self, values: tuple[Any, ...]) -> list[object]:
        """A record's parameters: text cut to its column, values processed as SQLAlchemy would."""
        row: list[Any] = list(self.sent(values))
        for at, longest in self.texts:
            text = row[at]
            if len(text) > longest:
                row[at] = text[:longest]
        for at, process in self.processors:
            row[at] = process(row[at])
        return row


def _inserts(dialect: Dialect, nulls: tuple[bool, ...]) -> _Insert:
    key = (type(dialect), dialect.paramstyle, nulls)
    insert = _INSERTS.get(key)
    if insert is None:
        insert = _INSERTS[key] = _insert(dialect, nulls)
    return insert


def _insert(dialect: Dialect, nulls: tuple[bool, ...]) -> _Insert:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg takes %s
    null = {at for at, is_null in zip(_NULLABLE, nulls, strict=True) if is_null}
    sent = [at for at in range(len(_COLUMNS)) if at not in null]  # at least the NOT NULL ones
    columns = [_CALLS.c[name] for name in _COLUMNS]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    longest = dict(_TEXT)
    return _Insert(
        head=f"INSERT INTO {_CALLS.name} ({', '.join(c.name for c in columns)}) VALUES ",
        row=f"({', '.join('NULL' if at in null else mark for at in range(len(columns)))})",
        sent=itemgetter(*sent),
        texts=tuple((to, longest[at]) for to, at in enumerate(sent) if at in longest),
        processors=tuple(
            (to, process) for to, at in enumerate(sent) if (process := processors[at]) is not None
        ),
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
