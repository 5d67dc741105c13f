"""Loading the routing configuration: all of it, or what decides one number."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from vacant.errors import StoreError
from vacant.routing.model import Announcement, AssignedNumber, NormalisationRule, Pool
from vacant.routing.numbers import Number, family, order_key, parse_bound
from vacant.store import repository as repo
from vacant.store import routing


def test_every_write_bumps_the_version_and_reads_do_not(
    session: Session, announcement: Announcement
) -> None:
    start = repo.config_version(session)
    repo.add_range(session, "r1", pattern="1", announcement=(announcement.pool, "busy"))
    repo.update_range(session, "r1", priority=2)
    repo.list_ranges(session)
    repo.load_routing_config(session)
    repo.remove_range(session, "r1")
    assert repo.config_version(session) == start + 3


def test_the_version_row_is_recreated_if_missing(session: Session) -> None:
    from sqlalchemy import delete

    from vacant.store.models import ConfigVersionRow

    session.execute(delete(ConfigVersionRow))
    assert repo.config_version(session) == 0
    repo.add_pool(session, Pool.create("a.example.com"))
    assert repo.config_version(session) == 1


def test_load_routing_config_has_everything(session: Session, announcement: Announcement) -> None:
    target = (announcement.pool, "busy")
    r2 = repo.add_range(session, "r2", start="+1425", end="+1426", announcement=target, priority=1)
    r1 = repo.add_range(session, "r1", pattern=r"\+1\d+", auto_attendant="+1", priority=0)
    number = repo.add_number(session, AssignedNumber.create("+14255550100", "sip:a@example.com"))
    rule = repo.add_rule(session, NormalisationRule.create("four", r"(\d{4})", "+1425555$1"))
    config = repo.load_routing_config(session)
    assert config.ranges == [r1, r2]
    assert config.announcements == [announcement]
    assert config.assigned == [number]
    assert config.rules == [rule]
    assert config.version == repo.config_version(session)


def test_load_routing_config_for_one_number_has_only_what_decides_it(
    session: Session, pool: Pool
) -> None:
    a = repo.add_announcement(session, Announcement.create(pool.name, "a", target="tel:+1"))
    b = repo.add_announcement(session, Announcement.create(pool.name, "b", target="tel:+2"))
    c = repo.add_announcement(session, Announcement.create(pool.name, "c", target="tel:+3"))
    wide = repo.add_range(
        session, "wide", start="+1", end="+19999999999", announcement=(a.pool, "a"), priority=1
    )
    near = repo.add_range(
        session,
        "near",
        start="+14255550100",
        end="+14255550199",
        announcement=(b.pool, "b"),
        priority=0,
    )
    repo.add_range(
        session, "other", start="+14255550200", end="+14255550299", announcement=(c.pool, "c")
    )
    repo.add_range(session, "local", start="14255550100", end="14255550199", auto_attendant="1")
    repo.add_range(
        session, "ext", start="+14255550100;ext=1", end="+14255550199;ext=1", auto_attendant="1"
    )
    pattern = repo.add_range(session, "pattern", pattern=r"\+1999\d+", auto_attendant="1")
    assigned = repo.add_number(session, AssignedNumber.create("+14255550150", "sip:x@example.com"))
    repo.add_number(session, AssignedNumber.create("+14255550151", "sip:y@example.com"))
    rule = repo.add_rule(session, NormalisationRule.create("r", r"(\d{4})", "+1425555$1"))

    config = repo.load_routing_config_for(session, Number("+14255550150"))
    assert config.ranges == [near, wide, pattern]
    assert config.announcements == [a, b]
    assert config.assigned == [assigned]
    assert config.rules == [rule]
    assert config.version == repo.config_version(session)

    nothing = repo.load_routing_config_for(session, Number("+29999999999"))
    assert (nothing.ranges, nothing.announcements, nothing.assigned) == ([pattern], [], [])
    with_ext = repo.load_routing_config_for(session, Number("+14255550100", "1"))
    assert [r.name for r in with_ext.ranges] == ["ext", "pattern"]
    long = repo.load_routing_config_for(session, Number("+1" + "2" * 30))
    assert [r.name for r in long.ranges] == ["pattern"]


def test_a_load_that_keeps_seeing_writes_gives_up(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = iter(range(100))
    monkeypatch.setattr(routing, "read_version", lambda s: next(versions))
    with pytest.raises(StoreError, match=r"changed during 5 attempts"):
        repo.load_routing_config(session)


def test_a_load_is_retried_when_a_write_lands_during_it(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = iter([1, 2, 2, 2])
    monkeypatch.setattr(routing, "read_version", lambda s: next(versions))
    assert repo.load_routing_config(session).version == 2


_BOUND = st.integers(1, 999).map(str)
_FAMILY = st.sampled_from(["+", ""])
_EXT = st.sampled_from([None, "7"])


@st.composite
def _ranges(draw: st.DrawFn) -> list[tuple[str, str]]:
    out = []
    for _ in range(draw(st.integers(1, 12))):
        sign, ext = draw(_FAMILY), draw(_EXT)
        lo, hi = sorted([int(draw(_BOUND)), int(draw(_BOUND))])
        suffix = "" if ext is None else f";ext={ext}"
        out.append((f"{sign}{lo}{suffix}", f"{sign}{hi}{suffix}"))
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ranges=_ranges(),
    numbers=st.lists(
        st.tuples(_FAMILY, st.integers(0, 1200), st.sampled_from([None, "7", "07"])), max_size=6
    ),
)
def test_the_indexed_query_finds_the_covering_ranges_like_brute_force(
    session: Session, ranges: list[tuple[str, str]], numbers: list[tuple[str, int, str | None]]
) -> None:
    session.rollback()
    for i, (lo, hi) in enumerate(ranges):
        repo.add_range(session, f"r{i}", start=lo, end=hi, auto_attendant="1")
    for sign, digits, ext in numbers:
        number = Number(f"{sign}{digits:0{(digits % 3) + 1}d}", ext)
        expected = {
            f"r{i}"
            for i, (lo, hi) in enumerate(ranges)
            if family(parse_bound(lo)) == family(number)
            and order_key(parse_bound(lo)) <= order_key(number) <= order_key(parse_bound(hi))
        }
        found = repo.load_routing_config_for(session, number).ranges
        assert {r.name for r in found} == expected
    session.rollback()
