"""Loading what the routing snapshot is built from: all of it, or just what decides one number.

Both loaders use Core selects (no ORM objects) and build the values without re-validating them
(they were validated when written). Under READ COMMITTED (PostgreSQL's default) the loads are
bracketed by reads of the configuration version: every write bumps it, so equal versions mean
no write committed in between and the selects saw one configuration; otherwise they run again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vacant.errors import StoreError
from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    RoutingConfig,
)
from vacant.routing.numbers import Number
from vacant.store.directory import list_rules
from vacant.store.models import AnnouncementRow, AssignedNumberRow, RangeRow
from vacant.store.ranges import range_select, ranges_from_rows
from vacant.store.rows import (
    number_family,
    number_from_uri,
    number_key,
    read_version,
    to_announcement,
)

#: How many times a load is retried when writes keep landing during it.
ATTEMPTS = 5
#: Rows fetched at a time when the whole range table is loaded (a server-side cursor on
#: PostgreSQL): the rows are turned into values as they come, never all held at once.
STREAM_ROWS = 10_000


def _sort_key(value: NumberRange) -> tuple[int, int]:
    return value.sort_key


def config_version(s: Session) -> int:
    """The configuration version: it grows with every committed write."""
    return read_version(s)


def load_rules(s: Session) -> list[NormalisationRule]:
    """The normalisation rules in the order they apply (what a caller needs to normalise)."""
    return list_rules(s)


def _consistent(s: Session, load: Callable[[], RoutingConfig]) -> RoutingConfig:
    for _ in range(ATTEMPTS):
        before = read_version(s)
        config = load()
        if read_version(s) == before:
            return RoutingConfig(
                config.ranges, config.announcements, config.assigned, config.rules, before
            )
    raise StoreError(f"the configuration changed during {ATTEMPTS} attempts to load it")


def _announcements(s: Session, where: ColumnElement[bool] | None = None) -> list[Announcement]:
    """Every announcement with all its settings (the rendered prompt, a deferred column, stays
    in the database)."""
    query = select(AnnouncementRow).order_by(AnnouncementRow.pool, AnnouncementRow.name)
    if where is not None:
        query = query.where(where)
    return [to_announcement(row) for row in s.scalars(query)]


def _assigned(rows: Iterable[Any]) -> list[AssignedNumber]:
    return [AssignedNumber(number_from_uri(n), uri, owner) for n, uri, owner in rows]


def load_routing_config(s: Session) -> RoutingConfig:
    """Everything the routing snapshot needs: ranges in evaluation order, announcements,
    assigned numbers, normalisation rules, and the version they are at."""

    def load() -> RoutingConfig:
        t = AssignedNumberRow
        # The ranges through the session's connection (Core rows, not ORM-buffered) and streamed:
        # each batch of rows becomes values and is freed, so a million ranges load in about half
        # the memory, and the memory they leave behind is not fragmented by a million rows.
        return RoutingConfig(
            ranges=ranges_from_rows(
                s.connection().execute(range_select().execution_options(yield_per=STREAM_ROWS))
            ),
            announcements=_announcements(s),
            assigned=_assigned(s.execute(select(t.number, t.uri, t.owner).order_by(t.number))),
            rules=list_rules(s),
        )

    return _consistent(s, load)


def load_routing_config_for(s: Session, number: Number) -> RoutingConfig:
    """Only what decides a call to ``number`` (already normalised): every rule, the number's
    assignment if any, the numeric ranges covering it (an indexed query on the order keys),
    every pattern range, and the announcements those ranges name."""
    family, key = number_family(number), number_key(number)

    def load() -> RoutingConfig:
        r = RangeRow
        covering = (r.family == family) & (r.start_key <= key) & (r.end_key >= key)
        # Two indexed queries (covering ranges, pattern ranges) merged in evaluation order.
        ranges = ranges_from_rows(s.execute(range_select().where(covering)))
        ranges += ranges_from_rows(s.execute(range_select().where(r.family.is_(None))))
        ranges.sort(key=_sort_key)
        ids = sorted({str(x.announcement_id) for x in ranges if x.announcement_id is not None})
        t = AssignedNumberRow
        return RoutingConfig(
            ranges=ranges,
            announcements=_announcements(s, AnnouncementRow.id.in_(ids)) if ids else [],
            assigned=_assigned(
                s.execute(select(t.number, t.uri, t.owner).where(t.number == number.uri))
            ),
            rules=list_rules(s),
        )

    return _consistent(s, load)
