"""The routing snapshot and its decision: what happens to a call to a number, and why.

A :class:`Snapshot` is built whole from a :class:`~vacant.routing.model.RoutingConfig` and never
changes; the service swaps in a new one when the configuration changes. :meth:`Snapshot.decide`
follows Lync's inbound order:

1. read the dialled number (:func:`~vacant.routing.numbers.parse_dialled`, skipped for a string
   already canonical such as ``+14255551234``; a number that cannot be read raises
   :class:`~vacant.errors.InvalidNumber`, which callers answer with 484);
2. normalise it with the first rule (position order) whose pattern matches the whole number;
3. an assigned number is redirected to its URI — assignment always wins over ranges;
4. otherwise the best range by ``(priority, position)`` among the numeric ranges (resolved by the
   :class:`~vacant.routing.table.RangeTable` in O(log n)) and the pattern ranges decides:
   an announcement (busy when it was removed or has neither prompt nor target, as in Lync) or an
   Exchange UM auto-attendant;
5. nothing matches: not found.

The result is a :class:`Decision`, a tagged union matched with ``match`` and ``assert_never``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, TypeAlias, assert_never

from vacant.errors import InvalidNumber
from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    RoutingConfig,
)
from vacant.routing.numbers import (
    Number,
    compile_pattern,
    compile_translation,
    parse_dialled,
)
from vacant.routing.table import PatternTable, RangeTable, order_of

# Decisions are frozen slotted dataclasses. One is made per call, and the __init__ a frozen
# dataclass generates sets each field through object.__setattr__ (about 100 ns a field), so each
# decision class has its own __init__ that stores through the slot descriptors instead: the same
# object, equality, repr, hash and immutability, at half the cost.


@dataclass(frozen=True, slots=True, init=False)
class _Decision:
    """What every decision carries: the number as dialled and as normalised, the range that
    decided (``None`` when none did) and, when asked for, the explanation."""

    number: Number
    normalised: Number
    range: str | None
    explanation: tuple[str, ...]


@dataclass(frozen=True, slots=True, init=False)
class Assigned(_Decision):
    """The number is assigned: redirect the call to ``uri``."""

    kind: ClassVar[str] = "assigned"
    uri: str

    def __init__(
        self,
        number: Number,
        normalised: Number,
        range: str | None,
        explanation: tuple[str, ...],
        uri: str,
    ) -> None:
        _set_number(self, number)
        _set_normalised(self, normalised)
        _set_range(self, range)
        _set_explanation(self, explanation)
        _set_uri(self, uri)


@dataclass(frozen=True, slots=True, init=False)
class AnnouncementDecision(_Decision):
    """A range sends the call to ``announcement``, played by the servers of its pool."""

    kind: ClassVar[str] = "announcement"
    announcement: Announcement

    def __init__(
        self,
        number: Number,
        normalised: Number,
        range: str | None,
        explanation: tuple[str, ...],
        announcement: Announcement,
    ) -> None:
        _set_number(self, number)
        _set_normalised(self, normalised)
        _set_range(self, range)
        _set_explanation(self, explanation)
        _set_announcement(self, announcement)

    @property
    def pool(self) -> str:
        """The pool whose servers play the announcement."""
        return self.announcement.pool


@dataclass(frozen=True, slots=True, init=False)
class AutoAttendant(_Decision):
    """A range sends the call to the Exchange UM auto-attendant number ``attendant``."""

    kind: ClassVar[str] = "auto-attendant"
    attendant: Number

    def __init__(
        self,
        number: Number,
        normalised: Number,
        range: str | None,
        explanation: tuple[str, ...],
        attendant: Number,
    ) -> None:
        _set_number(self, number)
        _set_normalised(self, normalised)
        _set_range(self, range)
        _set_explanation(self, explanation)
        _set_attendant(self, attendant)


@dataclass(frozen=True, slots=True, init=False)
class Busy(_Decision):
    """A range matched, but its announcement was removed (``announcement`` is ``None``; the id is
    kept dangling, as Lync keeps AnnouncementId) or has no prompt and no target."""

    kind: ClassVar[str] = "busy"
    announcement_id: uuid.UUID | None
    announcement: Announcement | None

    def __init__(
        self,
        number: Number,
        normalised: Number,
        range: str | None,
        explanation: tuple[str, ...],
        announcement_id: uuid.UUID | None,
        announcement: Announcement | None,
    ) -> None:
        _set_number(self, number)
        _set_normalised(self, normalised)
        _set_range(self, range)
        _set_explanation(self, explanation)
        _set_busy_id(self, announcement_id)
        _set_busy_announcement(self, announcement)


@dataclass(frozen=True, slots=True, init=False)
class NotFound(_Decision):
    """The number is neither assigned nor in any range."""

    kind: ClassVar[str] = "not-found"

    def __init__(
        self,
        number: Number,
        normalised: Number,
        range: str | None,
        explanation: tuple[str, ...],
    ) -> None:
        _set_number(self, number)
        _set_normalised(self, normalised)
        _set_range(self, range)
        _set_explanation(self, explanation)


Decision: TypeAlias = Assigned | AnnouncementDecision | AutoAttendant | Busy | NotFound

_Setter: TypeAlias = Callable[[object, object], None]


def _slot(cls: type, name: str) -> _Setter:
    setter: _Setter = vars(cls)[name].__set__
    return setter


_set_number = _slot(_Decision, "number")
_set_normalised = _slot(_Decision, "normalised")
_set_range = _slot(_Decision, "range")
_set_explanation = _slot(_Decision, "explanation")
_set_uri = _slot(Assigned, "uri")
_set_announcement = _slot(AnnouncementDecision, "announcement")
_set_attendant = _slot(AutoAttendant, "attendant")
_set_busy_id = _slot(Busy, "announcement_id")
_set_busy_announcement = _slot(Busy, "announcement")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A normalisation rule ready to apply: its pattern compiled, its translation a template."""

    rule: NormalisationRule
    regex: re.Pattern[str]
    template: str

    @classmethod
    def compile(cls, rule: NormalisationRule) -> CompiledRule:
        regex = compile_pattern(rule.pattern, f"rule {rule.name!r} pattern")
        return cls(rule, regex, compile_translation(regex, rule.translation))

    def rewrite(self, text: str, match: re.Match[str]) -> Number:
        """The number ``text`` becomes, given the ``match`` of this rule's pattern on it.

        Raises :class:`~vacant.errors.InvalidNumber` naming the rule when the result is not a
        telephone number.
        """
        result = match.expand(self.template)
        try:
            return parse_dialled(result)
        except InvalidNumber as exc:
            raise InvalidNumber(
                "number",
                f"normalisation rule {self.rule.name!r} rewrote {text!r} to {result[:40]!r},"
                f" which is not a telephone number ({exc.rule})",
            ) from None


#: A dialled number already in canonical form (``+`` and digits, or digits), as most Request-URIs
#: give it after the SBC: read without :func:`~vacant.routing.numbers.parse_dialled`, and made
#: through the slots like the decisions (Number's __init__ only stores its two fields).
_canonical = re.compile(r"\+?[0-9]{1,32}").fullmatch
_new_object = object.__new__
_set_digits = _slot(Number, "digits")
_set_ext = _slot(Number, "ext")

#: A pattern that refers to a group by number (or a conditional), which an alternation renumbers.
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?\(")


def _any_rule(rules: Sequence[CompiledRule]) -> Callable[[str], re.Match[str] | None] | None:
    """One alternation of every rule's pattern, to learn in one regex call that no rule matches
    (then the rules need not be tried one by one); ``None`` when there is only one rule, when a
    pattern refers to groups by number, or when the alternation does not compile (e.g. a global
    flag in the middle)."""
    patterns = [rule.rule.pattern for rule in rules]
    if len(patterns) < 2 or any(_GROUP_REFERENCE.search(pattern) for pattern in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)).fullmatch
    except re.error:
        return None


@dataclass(frozen=True, slots=True)
class BusyTarget:
    """Where a range sends callers who must hear busy: its announcement was removed
    (``announcement`` is ``None``) or has no prompt and no target."""

    announcement_id: uuid.UUID | None
    announcement: Announcement | None


#: A range's target, resolved when the snapshot is built.
Target: TypeAlias = Announcement | Number | BusyTarget


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything routing needs, built once from a configuration and never changed.

    Per range ``i`` (columns, for the per-call path): ``names[i]``; ``targets[i]``, its target
    resolved (the :class:`Announcement` to play, the auto-attendant :class:`Number`, or a
    :class:`BusyTarget`); ``pattern_first[i]``, 1 when some pattern range is ordered before it
    (only then are patterns tried after the numeric table found range ``i``).
    """

    version: int
    ranges: tuple[NumberRange, ...]
    names: tuple[str, ...]
    targets: tuple[Target, ...]
    pattern_first: bytes
    table: RangeTable
    patterns: PatternTable
    announcements: Mapping[uuid.UUID, Announcement]
    assigned: Mapping[Number, AssignedNumber]
    assigned_digits: Mapping[str, AssignedNumber]
    """The assigned numbers without an extension, by digits: a str hashes faster than a Number."""
    rules: tuple[CompiledRule, ...]
    any_rule: Callable[[str], re.Match[str] | None] | None

    @classmethod
    def build(cls, config: RoutingConfig) -> Snapshot:
        """Compile ``config``: rules in position order, assigned numbers by number (the first of
        duplicates is kept; the store keeps them unique), announcements by id, ranges resolved.

        Raises :class:`~vacant.errors.ValidationError` when a rule, pattern or bound is invalid.
        """
        ranges = tuple(config.ranges)
        rules = tuple(CompiledRule.compile(rule) for rule in sorted(config.rules, key=_position))
        assigned: dict[Number, AssignedNumber] = {}
        for entry in config.assigned:
            assigned.setdefault(entry.number, entry)
        announcements = {announcement.id: announcement for announcement in config.announcements}
        resolved: dict[uuid.UUID | None, Announcement | BusyTarget] = {}
        for announcement_id, announcement in announcements.items():
            busy = announcement.is_busy
            resolved[announcement_id] = (
                BusyTarget(announcement_id, announcement) if busy else announcement
            )
        targets: list[Target] = []
        for rng in ranges:
            if rng.auto_attendant is not None:
                targets.append(rng.auto_attendant)
                continue
            target = resolved.get(rng.announcement_id)
            if target is None:  # removed: the id is left dangling, as Lync leaves it
                target = resolved[rng.announcement_id] = BusyTarget(rng.announcement_id, None)
            targets.append(target)
        patterns = PatternTable.build(ranges)
        pattern_first = bytearray(len(ranges) if patterns.keys else 0)
        if patterns.keys:
            first = patterns.keys[0]
            for i, rng in enumerate(ranges):
                pattern_first[i] = (rng.priority, rng.position, i) > first
        return cls(
            version=config.version,
            ranges=ranges,
            names=tuple(rng.name for rng in ranges),
            targets=tuple(targets),
            pattern_first=bytes(pattern_first),
            table=RangeTable.build(ranges),
            patterns=patterns,
            announcements=announcements,
            assigned=assigned,
            assigned_digits={n.digits: entry for n, entry in assigned.items() if n.ext is None},
            rules=rules,
            any_rule=_any_rule(rules),
        )

    def decide(self, dialled: str | Number, *, explain: bool = False) -> Decision:
        """What happens to a call to ``dialled``. With ``explain``, the decision says why.

        Raises :class:`~vacant.errors.InvalidNumber` when ``dialled`` is not a telephone number or
        a normalisation rule rewrites it into something that is not one.
        """
        if isinstance(dialled, Number):
            number = dialled
        elif _canonical(dialled):
            number = _new_object(Number)
            _set_digits(number, dialled)
            _set_ext(number, None)
        else:
            number = parse_dialled(dialled)
        normalised = number
        applied = None
        if self.rules:
            text = number.digits if number.ext is None else str(number)
            if self.any_rule is None or self.any_rule(text):
                for rule in self.rules:
                    match = rule.regex.fullmatch(text)
                    if match is not None:
                        normalised, applied = rule.rewrite(text, match), rule
                        break
        if normalised.ext is None:
            assigned = self.assigned_digits.get(normalised.digits)
        else:
            assigned = self.assigned.get(normalised)
        index = None
        decision: Decision
        if assigned is not None:
            decision = Assigned(number, normalised, None, (), assigned.uri)
        else:
            index = self.table.lookup(normalised)
            if self.patterns.keys and (index is None or self.pattern_first[index]):
                below = None if index is None else order_of(self.ranges, index)
                found = self.patterns.first(str(normalised), below)
                if found is not None:
                    index = found
            if index is None:
                decision = NotFound(number, normalised, None, ())
            else:
                target = self.targets[index]
                if isinstance(target, Announcement):
                    decision = AnnouncementDecision(
                        number, normalised, self.names[index], (), target
                    )
                elif isinstance(target, Number):
                    decision = AutoAttendant(number, normalised, self.names[index], (), target)
                else:
                    decision = Busy(
                        number,
                        normalised,
                        self.names[index],
                        (),
                        target.announcement_id,
                        target.announcement,
                    )
        if explain:
            lines = _Explainer(self, dialled, decision, applied, assigned, index).lines()
            return replace(decision, explanation=tuple(lines))
        return decision

    def matching(self, number: Number) -> list[int]:
        """The indices of every range (numeric or pattern) that covers ``number``, in the order
        that decides between them: O(n), for explanations."""
        found = self.table.covering(number) + self.patterns.matching(str(number))
        return sorted(found, key=lambda i: order_of(self.ranges, i))


def _position(rule: NormalisationRule) -> int:
    return rule.position


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
        ranges = self.snapshot.ranges
        covering = self.snapshot.matching(normalised)
        if covering:
            names = ", ".join(_describe(ranges[i]) for i in covering)
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
        ranges = self.snapshot.ranges
        won = ranges[self.index]
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
            other = ranges[i]
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


def decision_to_json(decision: Decision) -> dict[str, object]:
    """The decision as ``vacant route --json`` and the API print it (DESIGN.md §2)."""
    pool: str | None = None
    announcement: str | None = None
    target: str | None = None
    match decision:
        case Assigned(uri=uri):
            target = uri
        case AnnouncementDecision(announcement=chosen):
            pool, announcement, target = chosen.pool, chosen.name, chosen.target
        case AutoAttendant(attendant=attendant):
            target = attendant.uri
        case Busy(announcement=Announcement() as chosen):
            pool, announcement = chosen.pool, chosen.name
        case Busy() | NotFound():
            pass
        case _:
            assert_never(decision)
    return {
        "number": str(decision.number),
        "normalised": str(decision.normalised),
        "decision": decision.kind,
        "range": decision.range,
        "pool": pool,
        "announcement": announcement,
        "target": target,
        "explanation": list(decision.explanation),
    }
