"""Routing: numbers (parse, normalise), the range/pattern table and the decision for a call.

Pure: no I/O, no clock. The service builds a :class:`Snapshot` from the store, swaps it whole when
the configuration changes, and asks it :meth:`Snapshot.decide` for every call.
"""

from vacant.routing.numbers import Number, parse_bound, parse_dialled
from vacant.routing.policy import (
    AnnouncementDecision,
    Assigned,
    AutoAttendant,
    Busy,
    Decision,
    NotFound,
    Snapshot,
    decision_to_json,
)
from vacant.routing.table import PatternTable, RangeTable

__all__ = [
    "AnnouncementDecision",
    "Assigned",
    "AutoAttendant",
    "Busy",
    "Decision",
    "NotFound",
    "Number",
    "PatternTable",
    "RangeTable",
    "Snapshot",
    "decision_to_json",
    "parse_bound",
    "parse_dialled",
]
