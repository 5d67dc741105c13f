"""Call records (CDRs): written in batches by the server, read by ``vacant calls list``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vacant.store.models import CallRow

MAX_FIELD = 256
MAX_OUTCOME = 32


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One INVITE and what became of it. ``duration`` is in seconds from INVITE to the end."""

    started: datetime
    call_id: str
    caller: str
    dialled: str
    normalised: str | None
    decision: str
    range_name: str | None
    status: int
    duration: float
    pool: str
    #: Announcement calls: seconds of prompt played, the transfer target (from configuration),
    #: and the outcome (``vacant.service.announce.Outcome``); None for other calls.
    prompt_seconds: float | None = None
    transfer_target: str | None = None
    outcome: str | None = None


def add_calls(s: Session, records: Sequence[CallRecord]) -> None:
    """Insert a batch of records (one round trip); over-long peer-supplied text is cut.

    A Core ``INSERT`` of the table with one dict per record (an ``executemany``), not the ORM's
    bulk path over ``dataclasses.asdict``: the ORM path and ``asdict``'s deep copies cost 25 µs
    per record, this 10 µs (1,000-record batches into SQLite, docs/benchmarks.md), and the
    server writes every call's record.
    """
    if records:
        rows = [_row(r) for r in records]
        s.execute(insert(_CALLS), rows)


#: The table itself (``CallRow.__table__`` is typed as any FROM clause).
_CALLS = CallRow.metadata.tables[CallRow.__tablename__]
_COLUMNS = tuple(f.name for f in fields(CallRecord))


def _row(record: CallRecord) -> dict[str, object]:
    row: dict[str, object] = {}
    for name in _COLUMNS:
        value = getattr(record, name)
        row[name] = value[:MAX_FIELD] if isinstance(value, str) else value
    if record.outcome is not None:
        row["outcome"] = record.outcome[:MAX_OUTCOME]
    return row


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
