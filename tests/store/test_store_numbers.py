"""The directory of assigned numbers, and its all-or-nothing bulk import."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vacant.errors import Conflict, InvalidNumber, NotFound, ValidationError
from vacant.routing.model import AssignedNumber
from vacant.routing.numbers import Number
from vacant.store import repository as repo
from vacant.store.models import AssignedNumberRow

URI = "sip:alice@example.com"


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AssignedNumberRow)) or 0


def test_add_number(session: Session) -> None:
    added = repo.add_number(session, AssignedNumber.create("tel:+14255550100", URI, " Alice "))
    assert added == AssignedNumber(Number("+14255550100"), URI, "Alice")
    assert repo.list_numbers(session) == [added]
    assert repo.get_number(session, "+14255550100") == added


def test_add_number_validates_a_value_built_without_create(session: Session) -> None:
    with pytest.raises(ValidationError, match=r"uri"):
        repo.add_number(session, AssignedNumber(Number("+14255550100"), "alice"))
    with pytest.raises(InvalidNumber, match=r"number"):
        repo.add_number(session, AssignedNumber(Number("+0425"), URI))
    assert repo.list_numbers(session) == []


def test_a_number_is_assigned_once(session: Session) -> None:
    repo.add_number(session, AssignedNumber.create("+14255550100", URI))
    with pytest.raises(Conflict, match=r"\+14255550100 is already assigned \(to sip:alice"):
        repo.add_number(session, AssignedNumber.create("tel:+14255550100", "sip:bob@example.com"))
    repo.add_number(session, AssignedNumber.create("+14255550100;ext=1", URI))
    repo.add_number(session, AssignedNumber.create("14255550100", URI))
    assert len(repo.list_numbers(session)) == 3


def test_remove_number(session: Session) -> None:
    repo.add_number(session, AssignedNumber.create("+14255550100", URI))
    repo.remove_number(session, "tel:+14255550100")
    assert repo.list_numbers(session) == []
    with pytest.raises(NotFound, match=r"number 'tel:.14255550100' is not assigned"):
        repo.remove_number(session, "tel:+14255550100")
    with pytest.raises(NotFound):
        repo.get_number(session, "+14255550100")
    with pytest.raises(InvalidNumber):
        repo.remove_number(session, "not a number")


def test_import_numbers_adds_every_row_and_reports_progress(session: Session) -> None:
    rows = [(i + 2, f"+1425555{i:04d}", URI, f"owner {i}") for i in range(25_000)]
    seen: list[int] = []
    assert repo.import_numbers(session, rows, progress=seen.append) == 25_000
    assert seen == [10_000, 20_000, 25_000]
    assert _count(session) == 25_000
    assert repo.import_numbers(session, []) == 0


def test_import_numbers_is_fast(session: Session) -> None:
    rows = [(i, f"+1425{i:07d}", URI, "") for i in range(100_000)]
    started = time.perf_counter()
    assert repo.import_numbers(session, rows) == 100_000
    assert time.perf_counter() - started < 20
    assert _count(session) == 100_000


def test_import_numbers_reports_every_bad_line_and_imports_nothing(session: Session) -> None:
    repo.add_number(session, AssignedNumber.create("+14255550001", URI))
    version = repo.config_version(session)
    rows = [
        (2, "+14255550100", URI, ""),
        (3, "+0425", URI, ""),
        (4, "+14255550101", "alice", ""),
        (5, "+14255550100", URI, ""),
        (6, "+14255550001", URI, ""),
        (7, "+14255550102", URI, "x" * 300),
        (8, "+14255550103", URI, ""),
    ]
    with pytest.raises(ValidationError) as info:
        repo.import_numbers(session, rows)
    lines = str(info.value).splitlines()
    assert lines[0] == "numbers: 5 bad line(s), nothing imported:"
    assert [line.split(":")[0] for line in lines[1:]] == [f"line {n}" for n in (3, 4, 5, 6, 7)]
    assert lines[1].startswith("line 3: number: '+0425' does not match")
    assert lines[2].startswith("line 4: uri: 'alice' is not")
    assert lines[3] == "line 5: number: +14255550100 repeats line 2"
    assert lines[4] == "line 6: number: +14255550001 is already assigned"
    assert lines[5].startswith("line 7: owner: must be at most")
    assert _count(session) == 1
    assert repo.config_version(session) == version


def test_import_checks_a_large_store_in_chunks(session: Session) -> None:
    repo.import_numbers(session, [(i, f"+1425{i:07d}", URI, "") for i in range(3000)])
    rows = [(1, "+14250000005", URI, ""), (2, "+19990000000", URI, "")]
    with pytest.raises(ValidationError, match=r"line 1: number: \+14250000005 is already"):
        repo.import_numbers(session, rows)
    assert repo.import_numbers(session, rows[1:]) == 1
