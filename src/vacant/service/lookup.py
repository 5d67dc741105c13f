"""The dry run: what happens to a call to a number, and why, straight from the store.

It loads only the rows that can decide this number (the rules, the assigned number, the ranges
covering it, the patterns), so it answers in well under a second on a table of a million ranges,
and decides with the same :class:`~vacant.routing.policy.Snapshot` code the server uses.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vacant.routing.model import RoutingConfig
from vacant.routing.policy import Decision, Snapshot
from vacant.store import repository as repo


def route(session: Session, dialled: str) -> Decision:
    """Decide ``dialled`` with an explanation. Raises InvalidNumber when it is no number."""
    dial_plan = Snapshot.build(RoutingConfig(rules=repo.load_rules(session)))
    normalised = dial_plan.decide(dialled).normalised
    relevant = repo.load_routing_config_for(session, normalised)
    return Snapshot.build(relevant).decide(dialled, explain=True)
