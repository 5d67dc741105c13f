"""Inbound normalisation rules and their order."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from vacant.errors import Conflict, InvalidNumber, NotFound, ValidationError
from vacant.routing.model import NormalisationRule
from vacant.store import repository as repo


def _rule(name: str, position: int = 0) -> NormalisationRule:
    return NormalisationRule.create(name, r"(\d{4})", "+1425555$1", position)


def _order(session: Session) -> list[tuple[str, int]]:
    return [(r.name, r.position) for r in repo.list_rules(session)]


def test_rules_without_a_position_go_last(session: Session) -> None:
    assert repo.add_rule(session, _rule("a")).position == 1
    assert repo.add_rule(session, _rule("b")).position == 2
    assert repo.add_rule(session, _rule("c", 99)).position == 3
    assert _order(session) == [("a", 1), ("b", 2), ("c", 3)]
    assert repo.get_rule(session, "b") == NormalisationRule("b", r"(\d{4})", "+1425555$1", 2)


def test_a_rule_at_a_position_moves_the_others_down(session: Session) -> None:
    for name in "abc":
        repo.add_rule(session, _rule(name))
    assert repo.add_rule(session, _rule("x", 2)).position == 2
    assert _order(session) == [("a", 1), ("x", 2), ("b", 3), ("c", 4)]
    repo.add_rule(session, _rule("y", 1))
    assert _order(session) == [("y", 1), ("a", 2), ("x", 3), ("b", 4), ("c", 5)]


def test_add_rule_validates(session: Session) -> None:
    with pytest.raises(ValidationError, match=r"position: must be an integer >= 0"):
        repo.add_rule(session, NormalisationRule("a", "1", "2", -1))
    with pytest.raises(InvalidNumber, match=r"translation: .2 refers to a group"):
        repo.add_rule(session, NormalisationRule("a", r"(\d)", "$2"))
    with pytest.raises(InvalidNumber, match=r"pattern"):
        repo.add_rule(session, NormalisationRule("a", "(", "1"))
    repo.add_rule(session, _rule("a"))
    with pytest.raises(Conflict, match=r"rule 'a' already exists"):
        repo.add_rule(session, _rule("a"))
    assert _order(session) == [("a", 1)]


def test_remove_rule_closes_the_gap(session: Session) -> None:
    for name in "abc":
        repo.add_rule(session, _rule(name))
    repo.remove_rule(session, "b")
    assert _order(session) == [("a", 1), ("c", 2)]
    with pytest.raises(NotFound, match=r"rule 'b' does not exist"):
        repo.remove_rule(session, "b")
    with pytest.raises(NotFound):
        repo.get_rule(session, "b")
    assert repo.load_rules(session) == repo.list_rules(session)
