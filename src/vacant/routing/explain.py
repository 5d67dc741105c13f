"""Explanations: why a routing decision came out as it did, line by line (``vacant route``).

The slow path of :meth:`~vacant.routing.policy.Snapshot.decide` (``explain=True``): it rebuilds
what it tells from the snapshot's columns (:meth:`~vacant.routing.policy.Snapshot.range`,
:meth:`~vacant.routing.policy.Snapshot.matching`), since the snapshot keeps no range objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from vacant.routing.model import Announcement, AssignedNumber, NumberRange
from vacant.routing.numbers import Number
from vacant.routing.policy import (
    AnnouncementDecision,
    Assigned,
    AutoAttendant,
    Busy,
    CompiledRule,
    Decision,
    NotFound,
    Snapshot,
)


def explanation(
    snapshot: Snapshot,
    dialled: str | Number,
    decision: Decision,
    rule: CompiledRule | None,
    assigned: AssignedNumber | None,
    index: int | None,
) -> tuple[str, ...]:
    """The lines explaining ``decision``: how ``dialled`` was read and normalised (by ``rule``,
    if any), whether it is ``assigned``, which range (``index``) won and which were shadowed,
    and what the caller experiences."""
    return tuple(_Explainer(snapshot, dialled, decision, rule, assigned, index).lines())


@dataclass(frozen=True, slots=True)
class _Explainer:
    """Writes the explanation of one decision, line by line (the slow path of ``vacant route``)."""

    snapshot: Snapshot
    dialled: str | Number
    decision: Decision
    rule: CompiledRule | None
    assigned: AssignedNumber | None
    index: int | None

    def lines(self) -> list[str]:
        return [
            self._reading(),
            self._normalisation(),
            *self._assignment(),
            *self._ranges(),
            self._experience(),
        ]

    def _reading(self) -> str:
        number = self.decision.number
        if isinstance(self.dialled, Number) or self.dialled == str(number):
            return f"dialled number: {number}"
        return f"dialled {self.dialled!r}, read as {number}"

    def _normalisation(self) -> str:
        number, normalised = self.decision.number, self.decision.normalised
        if self.rule is not None:
            rule = self.rule.rule
            return (
                f"normalisation rule {rule.name!r} (position {rule.position}, pattern"
                f" {rule.pattern!r}, translation {rule.translation!r}) rewrote {number} to"
                f" {normalised}"
            )
        if self.snapshot.rules:
            return (
                f"no normalisation rule matched {number} (of {len(self.snapshot.rules)}):"
                " it is used as dialled"
            )
        return "no normalisation rules are configured: the number is used as dialled"

    def _assignment(self) -> list[str]:
        normalised = self.decision.normalised
        if self.assigned is None:
            return [f"{normalised} is not an assigned number"]
        owner = f" (owner {self.assigned.owner!r})" if self.assigned.owner else ""
        lines = [
            f"{normalised} is assigned to {self.assigned.uri}{owner}: an assigned number always"
            " wins over the unassigned number table"
        ]
        covering = self.snapshot.matching(normalised)
        if covering:
            names = ", ".join(_describe(self.snapshot.range(i)) for i in covering)
            lines.append(f"not used, because the number is assigned: {names}")
        return lines

    def _ranges(self) -> list[str]:
        if self.assigned is not None:
            return []
        normalised = self.decision.normalised
        if self.index is None:
            line = f"no range covers {normalised}"
            if normalised.subscriber.startswith("0"):
                line += (
                    " (a number with a leading 0 is in no numeric range: no bound starts with 0)"
                )
            return [line]
        won = self.snapshot.range(self.index)
        covering = self.snapshot.matching(normalised)
        why = (
            "the only range that does"
            if len(covering) == 1
            else f"the lowest (priority, position) of the {len(covering)} ranges that do wins"
        )
        lines = [
            f"range {_describe(won)} matches, with priority {won.priority} and position"
            f" {won.position}: {why}"
        ]
        for i in covering:
            if i == self.index:
                continue
            other = self.snapshot.range(i)
            if other.priority != won.priority:
                why = f"priority {other.priority} > {won.priority} (the lowest value wins)"
            elif other.position != won.position:
                why = (
                    f"same priority {won.priority}, created later"
                    f" (position {other.position} > {won.position})"
                )
            else:
                why = f"same priority {won.priority} and position {won.position}, listed later"
            lines.append(f"range {_describe(other)} also matches but is shadowed: {why}")
        return lines

    def _experience(self) -> str:
        decision = self.decision
        match decision:
            case Assigned(uri=uri):
                return f"the call is redirected to {uri}"
            case AnnouncementDecision(announcement=announcement):
                return _announcement_experience(announcement)
            case AutoAttendant(attendant=attendant):
                return (
                    f"the call is transferred to the Exchange UM auto-attendant {attendant}"
                    f" ({attendant.uri})"
                )
            case Busy(announcement=announcement, announcement_id=announcement_id):
                if announcement is None:
                    return (
                        f"the range's announcement {announcement_id} no longer exists (it was"
                        " removed): the caller hears a busy signal"
                    )
                return (
                    f"announcement {announcement.name!r} (pool {announcement.pool}) has no prompt"
                    " and no target: the caller hears a busy signal"
                )
            case NotFound():
                return "nothing handles the number: the call is refused as not found (404)"
            case _:
                assert_never(decision)


def _describe(rng: NumberRange) -> str:
    if rng.pattern is not None:
        return f"{rng.name!r} (pattern {rng.pattern!r})"
    return f"{rng.name!r} ({rng.start}..{rng.end})"


def _announcement_experience(announcement: Announcement) -> str:
    where = f"announcement {announcement.name!r} (pool {announcement.pool})"
    if announcement.audio_file:
        heard = f"the caller hears the audio file {announcement.audio_file!r} of {where}"
        if announcement.tts_text:
            heard += ", not its text-to-speech prompt (the audio file wins)"
    elif announcement.tts_text:
        heard = (
            f"the caller hears the text-to-speech prompt of {where} in {announcement.language}:"
            f" {announcement.tts_text[:80]!r}"
        )
    else:
        heard = f"{where} has no prompt: nothing is played"
    if announcement.target:
        return f"{heard}, then the call is transferred to {announcement.target}"
    return f"{heard}, then the call is disconnected"
