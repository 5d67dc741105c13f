"""The unassigned number table: ranges, their order, and Move up / Move down."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from vacant.errors import Conflict, InvalidNumber, NotFound, ValidationError
from vacant.routing.model import Announcement, NumberRange
from vacant.routing.numbers import Number
from vacant.store import repository as repo

START, END = "+14255550100", "+14255550199"


@pytest.fixture
def target(announcement: Announcement) -> tuple[str, str]:
    return (announcement.pool, announcement.name)


def _names(session: Session) -> list[str]:
    return [r.name for r in repo.list_ranges(session)]


def _keys(session: Session) -> list[tuple[str, int, int]]:
    return [(r.name, r.priority, r.position) for r in repo.list_ranges(session)]


def test_add_a_numeric_range(
    session: Session, announcement: Announcement, target: tuple[str, str]
) -> None:
    added = repo.add_range(
        session, "r1", start=f"tel:{START}", end=END, announcement=target, description="sales"
    )
    assert added == NumberRange(
        "r1",
        Number(START),
        Number(END),
        None,
        announcement.id,
        None,
        priority=0,
        position=1,
        description="sales",
    )
    assert repo.get_range(session, "r1") == added
    assert repo.list_ranges(session) == [added]


def test_add_a_pattern_range_to_an_auto_attendant(session: Session) -> None:
    added = repo.add_range(session, "p1", pattern=r"\+1425555\d{4}", auto_attendant="+14255550000")
    assert (added.pattern, added.start, added.auto_attendant) == (
        r"\+1425555\d{4}",
        None,
        Number("+14255550000"),
    )
    assert repo.get_range(session, "p1") == added


def test_ranges_with_extensions_and_local_numbers(session: Session) -> None:
    ext = repo.add_range(
        session, "ext", start="+14255550100;ext=10", end="+14255550100;ext=10", auto_attendant="1"
    )
    local = repo.add_range(session, "local", start="100", end="99999", auto_attendant="1")
    assert repo.get_range(session, "ext") == ext
    assert ext.start == Number("+14255550100", "10")
    assert repo.get_range(session, "local") == local


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": START, "end": "+14255550099"}, "end"),
        ({"start": START, "end": "14255550199"}, "end"),
        ({"start": "+0123", "end": END}, "start"),
        ({"start": START}, "start"),
        ({"start": START, "end": END, "pattern": "1"}, "pattern"),
        ({"pattern": "(unclosed"}, "pattern"),
        ({"pattern": ".*"}, "pattern"),
    ],
)
def test_add_range_validates_numbers_and_patterns(
    session: Session, target: tuple[str, str], kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        repo.add_range(session, "r1", announcement=target, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert repo.list_ranges(session) == []


def test_a_range_needs_exactly_one_target(session: Session, target: tuple[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"target: give exactly one"):
        repo.add_range(session, "r1", start=START, end=END)
    with pytest.raises(ValidationError, match=r"target: give exactly one"):
        repo.add_range(
            session, "r1", start=START, end=END, announcement=target, auto_attendant="+1425"
        )
    with pytest.raises(InvalidNumber, match=r"auto-attendant"):
        repo.add_range(session, "r1", start=START, end=END, auto_attendant="sip:x@y")
    with pytest.raises(ValidationError, match=r"priority"):
        repo.add_range(session, "r1", start=START, end=END, auto_attendant="1", priority=-1)


def test_the_announcement_of_a_range_must_exist(session: Session, target: tuple[str, str]) -> None:
    with pytest.raises(NotFound, match=r"announcement 'nope' does not exist"):
        repo.add_range(session, "r1", start=START, end=END, announcement=(target[0], "nope"))
    with pytest.raises(NotFound):
        repo.add_range(session, "r1", start=START, end=END, announcement=("x.example.com", "a"))
    assert repo.list_ranges(session) == []


def test_a_range_name_is_unique(session: Session) -> None:
    repo.add_range(session, "r1", start=START, end=END, auto_attendant="1")
    with pytest.raises(Conflict, match=r"range 'r1' already exists"):
        repo.add_range(session, "r1", pattern="1", auto_attendant="1")


def test_a_new_range_goes_last_unless_given_a_priority(session: Session) -> None:
    a = repo.add_range(session, "a", pattern="1", auto_attendant="1")
    b = repo.add_range(session, "b", pattern="2", auto_attendant="1")
    c = repo.add_range(session, "c", pattern="3", auto_attendant="1", priority=0)
    d = repo.add_range(session, "d", pattern="4", auto_attendant="1", priority=7)
    assert [(x.priority, x.position) for x in (a, b, c, d)] == [(0, 1), (1, 2), (0, 3), (7, 4)]
    assert _names(session) == ["a", "c", "b", "d"]
    assert repo.add_range(session, "e", pattern="5", auto_attendant="1").priority == 8


def test_update_range_changes_only_what_is_given(
    session: Session, announcement: Announcement, target: tuple[str, str]
) -> None:
    repo.add_range(session, "r1", start=START, end=END, announcement=target)
    updated = repo.update_range(session, "r1", end="+14255550150", priority=3, description="d")
    assert (updated.start, updated.end, updated.priority, updated.description) == (
        Number(START),
        Number("+14255550150"),
        3,
        "d",
    )
    assert updated.announcement_id == announcement.id
    assert updated.position == 1
    assert repo.get_range(session, "r1") == updated
    assert repo.update_range(session, "r1") == updated


def test_update_range_switches_between_numbers_and_pattern(session: Session) -> None:
    repo.add_range(session, "r1", start=START, end=END, auto_attendant="1")
    as_pattern = repo.update_range(session, "r1", pattern=r"\+1425\d+")
    assert (as_pattern.start, as_pattern.end, as_pattern.pattern) == (None, None, r"\+1425\d+")
    assert repo.get_range(session, "r1") == as_pattern
    as_numbers = repo.update_range(session, "r1", start=START, end=END)
    assert (as_numbers.start, as_numbers.pattern) == (Number(START), None)
    assert repo.get_range(session, "r1") == as_numbers


def test_update_range_switches_between_announcement_and_auto_attendant(
    session: Session, announcement: Announcement, target: tuple[str, str]
) -> None:
    repo.add_range(session, "r1", start=START, end=END, announcement=target)
    to_aa = repo.update_range(session, "r1", auto_attendant="+14255550000")
    assert (to_aa.announcement_id, to_aa.auto_attendant) == (None, Number("+14255550000"))
    to_ann = repo.update_range(session, "r1", announcement=target)
    assert (to_ann.announcement_id, to_ann.auto_attendant) == (announcement.id, None)
    assert repo.get_range(session, "r1") == to_ann


def test_update_range_validates_the_whole(session: Session, target: tuple[str, str]) -> None:
    original = repo.add_range(session, "r1", start=START, end=END, auto_attendant="1")
    cases: list[dict[str, object]] = [
        {"end": "+14255550000"},
        {"start": None},
        {"pattern": "1", "start": START},
        {"auto_attendant": None},
        {"announcement": target, "auto_attendant": "1"},
        {"priority": -1},
        {"description": "x" * 5000},
    ]
    for kwargs in cases:
        with pytest.raises(ValidationError):
            repo.update_range(session, "r1", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match=r"announcement 'nope'"):
        repo.update_range(session, "r1", announcement=(target[0], "nope"))
    with pytest.raises(NotFound, match=r"range 'nope' does not exist"):
        repo.update_range(session, "nope", priority=1)
    assert repo.get_range(session, "r1") == original
    # Clearing the kind a range does not have changes nothing.
    assert repo.update_range(session, "r1", pattern=None, announcement=None) == original
    repo.add_range(session, "p1", pattern="1", announcement=target)
    with pytest.raises(ValidationError, match=r"start: a range needs"):
        repo.update_range(session, "p1", pattern=None)
    with pytest.raises(ValidationError, match=r"target: give exactly one"):
        repo.update_range(session, "p1", announcement=None)


def test_remove_range(session: Session) -> None:
    repo.add_range(session, "r1", start=START, end=END, auto_attendant="1")
    repo.remove_range(session, "r1")
    assert repo.list_ranges(session) == []
    with pytest.raises(NotFound):
        repo.remove_range(session, "r1")
    with pytest.raises(NotFound):
        repo.get_range(session, "r1")


def _abc(session: Session, priorities: tuple[int, ...] = (0, 0, 0, 0)) -> None:
    for name, priority in zip("abcd", priorities, strict=True):
        repo.add_range(session, name, pattern=f"{ord(name)}", auto_attendant="1", priority=priority)


def test_move_up_and_down_swap_neighbours(session: Session) -> None:
    _abc(session)
    assert [r.name for r in repo.move_range(session, "c", up=True)] == list("acbd")
    assert _keys(session) == [("a", 0, 1), ("c", 0, 2), ("b", 0, 3), ("d", 0, 4)]
    assert [r.name for r in repo.move_range(session, "a", down=True)] == list("cabd")
    assert _keys(session) == [("c", 0, 1), ("a", 0, 2), ("b", 0, 3), ("d", 0, 4)]


def test_moving_the_first_up_or_the_last_down_changes_nothing(session: Session) -> None:
    _abc(session)
    version = repo.config_version(session)
    assert [r.name for r in repo.move_range(session, "a", up=True)] == list("abcd")
    assert [r.name for r in repo.move_range(session, "d", down=True)] == list("abcd")
    assert [r.name for r in repo.move_range(session, "b", before="b")] == list("abcd")
    assert repo.config_version(session) == version


def test_a_range_moved_past_another_priority_takes_that_key(session: Session) -> None:
    _abc(session, (0, 0, 5, 5))
    repo.move_range(session, "c", up=True)
    assert _keys(session) == [("a", 0, 1), ("c", 0, 2), ("b", 5, 3), ("d", 5, 4)]


def test_move_before_another_range(session: Session) -> None:
    _abc(session, (0, 1, 2, 3))
    assert [r.name for r in repo.move_range(session, "d", before="b")] == list("adbc")
    assert _keys(session) == [("a", 0, 1), ("d", 1, 2), ("b", 2, 3), ("c", 3, 4)]
    assert [r.name for r in repo.move_range(session, "a", before="c")] == list("dbac")
    assert _keys(session) == [("d", 0, 1), ("b", 1, 2), ("a", 2, 3), ("c", 3, 4)]


def test_move_needs_one_direction_and_known_ranges(session: Session) -> None:
    _abc(session)
    with pytest.raises(ValidationError, match=r"move: give exactly one"):
        repo.move_range(session, "a")
    with pytest.raises(ValidationError, match=r"move: give exactly one"):
        repo.move_range(session, "a", up=True, before="b")
    with pytest.raises(NotFound, match=r"range 'x' does not exist"):
        repo.move_range(session, "x", up=True)
    with pytest.raises(NotFound, match=r"range 'x' .to move 'a' before. does not exist"):
        repo.move_range(session, "a", before="x")
    assert _names(session) == list("abcd")


def test_get_range_after_a_move_sees_the_new_key(session: Session) -> None:
    _abc(session, (0, 1, 2, 3))
    repo.get_range(session, "b")  # loaded before the move
    repo.move_range(session, "b", up=True)
    assert (repo.get_range(session, "b").priority, repo.get_range(session, "a").priority) == (0, 1)


_MOVES = st.lists(
    st.tuples(st.sampled_from(["up", "down", "before"]), st.integers(0, 5), st.integers(0, 5)),
    max_size=8,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(priorities=st.lists(st.integers(0, 2), min_size=6, max_size=6), moves=_MOVES)
def test_moves_reorder_like_a_list_and_keep_the_keys(
    session: Session, priorities: list[int], moves: list[tuple[str, int, int]]
) -> None:
    """Moves behave as list operations on the evaluation order; the multiset of keys stays."""
    session.rollback()
    for i, p in enumerate(priorities):
        repo.add_range(session, f"r{i}", pattern=str(i + 1), auto_attendant="1", priority=p)
    order = _names(session)
    keys = sorted((r.priority, r.position) for r in repo.list_ranges(session))
    for kind, i, j in moves:
        name = f"r{i}"
        k = order.index(name)
        if kind == "up":
            result = repo.move_range(session, name, up=True)
            if k > 0:
                order[k - 1], order[k] = order[k], order[k - 1]
        elif kind == "down":
            result = repo.move_range(session, name, down=True)
            if k < len(order) - 1:
                order[k], order[k + 1] = order[k + 1], order[k]
        else:
            other = f"r{j}"
            result = repo.move_range(session, name, before=other)
            if other != name:
                order.remove(name)
                order.insert(order.index(other), name)
        assert [r.name for r in result] == order
        assert [(r.priority, r.position) for r in result] == keys
    session.rollback()


def test_list_ranges_ids_are_shared(session: Session, target: tuple[str, str]) -> None:
    repo.add_range(session, "r1", start=START, end=END, announcement=target)
    repo.add_range(session, "r2", pattern="1", announcement=target)
    a, b = repo.list_ranges(session)
    assert isinstance(a.announcement_id, uuid.UUID)
    assert a.announcement_id == b.announcement_id
