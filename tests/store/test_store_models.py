"""Pieces of the store that need no database: the UTC column type, the UNSET sentinel, keys."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from vacant.routing.numbers import Number, order_key
from vacant.store import timestamps
from vacant.store.models import UTCDateTime
from vacant.store.ranges import no_gc
from vacant.store.repository import UNSET, Unset
from vacant.store.rows import number_family, number_from_uri, number_key

DIALECT = sqlite.dialect()
PLUS_TWO = timezone(timedelta(hours=2))


def test_utc_datetime_stores_utc_and_reads_it_back_aware() -> None:
    column = UTCDateTime()
    local = datetime(2026, 1, 1, 12, 0, tzinfo=PLUS_TWO)
    assert column.process_bind_param(local, DIALECT) == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert column.process_bind_param(None, DIALECT) is None
    naive = datetime(2026, 1, 1, 10, 0)  # noqa: DTZ001 - what SQLite gives back
    assert column.process_result_value(naive, DIALECT) == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert column.process_result_value(local, DIALECT) == local
    assert column.process_result_value(local, DIALECT).tzinfo is UTC  # type: ignore[union-attr]
    assert column.process_result_value(None, DIALECT) is None


def test_utc_datetime_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), DIALECT)  # noqa: DTZ001


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 27, 4, 30, 5, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 4, 30, 5, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 1, 1, 1, 0, 0, 7, tzinfo=PLUS_TWO),  # the day before, in UTC
        datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),  # a three-digit year, zero-padded
    ],
)
def test_utc_datetime_binds_on_sqlite_as_sqlalchemys_datetime_would(value: datetime) -> None:
    """Our fast text for SQLite is SQLAlchemy's DATETIME storage format, character for
    character: what is already stored and what queries compare against stay the same."""
    ours = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    theirs = DateTime(timezone=True).dialect_impl(DIALECT).bind_processor(DIALECT)
    assert ours is not None
    assert theirs is not None
    assert ours(value) == theirs(value.astimezone(UTC))
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(value.replace(tzinfo=None))


def test_utc_datetime_text_keeps_a_bounded_number_of_minutes() -> None:
    """The text of each minute is kept (a batch of records shares it), a bounded number of
    them: times over many minutes, and the same minute again, all bind right."""
    ours = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
    theirs = DateTime(timezone=True).dialect_impl(DIALECT).bind_processor(DIALECT)
    assert ours is not None
    assert theirs is not None
    start = datetime(2026, 12, 31, 23, 0, 59, 999999, tzinfo=UTC)
    values = [start + timedelta(minutes=n, microseconds=n) for n in range(3 * 64)]
    for value in values + values[:3]:
        assert ours(value) == theirs(value)
        assert len(timestamps._MINUTES) <= timestamps._MINUTES_MAX


def test_unset_is_a_single_named_value() -> None:
    assert repr(UNSET) == "UNSET"
    assert isinstance(UNSET, Unset)
    assert list(Unset) == [UNSET]


@pytest.mark.parametrize(
    ("uri", "number", "family", "key"),
    [
        ("tel:+14255550100", Number("+14255550100"), "+", "1114255550100"),
        ("tel:+1;ext=12", Number("+1", "12"), "+;ext=12", "011"),
        ("tel:4000", Number("4000"), "", "044000"),
    ],
)
def test_number_keys(uri: str, number: Number, family: str, key: str) -> None:
    assert number_from_uri(uri) == number
    assert number.uri == uri
    assert (number_family(number), number_key(number)) == (family, key)


def test_number_keys_order_like_order_key() -> None:
    numbers = [Number(d) for d in ["9", "10", "0999", "1000", "99999", "123456789012345678"]]
    assert sorted(numbers, key=number_key) == sorted(numbers, key=order_key)


def test_no_gc_restores_the_collector_state() -> None:
    with no_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with no_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
