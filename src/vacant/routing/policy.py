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
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
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
    is_canonical,
    parse_dialled,
)
from vacant.routing.table import (
    Matcher,
    OrderKey,
    PatternTable,
    RangeTable,
    any_of,
    sort_order,
)

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


#: A dialled number in canonical form is read without :func:`~vacant.routing.numbers.parse_dialled`
#: and made through the slots like the decisions (Number's __init__ only stores its two fields).
_new_object = object.__new__
_set_digits = _slot(Number, "digits")
_set_ext = _slot(Number, "ext")


def _any_rule(rules: Sequence[CompiledRule]) -> Matcher | None:
    """One alternation of every rule's pattern (:func:`~vacant.routing.table.any_of`), to learn
    in one regex call that no rule matches: then the rules need not be tried one by one."""
    return any_of([rule.rule.pattern for rule in rules])


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

    Self-contained and columnar: it keeps no reference to the configuration's
    :class:`~vacant.routing.model.NumberRange` values (a million of them take 400 MB), only what
    :meth:`decide` and the explanations need, in one object per column. Per range ``i``:

    * its name, ``names[name_offsets[i]:name_offsets[i + 1]]`` (one joined string);
    * ``priorities[i]`` and ``positions[i]`` (``array``);
    * ``targets[i]``, its target resolved: the :class:`Announcement` to play, the auto-attendant
      :class:`Number` or a :class:`BusyTarget`, shared by every range with the same target (the
      tuple holds references to a few objects, not an object per range);
    * ``pattern_first[i]``, 1 when some pattern range is ordered before it (only then are
      patterns tried after the numeric table found range ``i``);
    * its bounds, in the :class:`RangeTable` (``lows``, ``highs``, ``families``), or its pattern,
      in the :class:`PatternTable`.

    :meth:`range` rebuilds a range's value from the columns (without its description, which
    routing does not use).
    """

    version: int
    names: str
    name_offsets: array[int]
    priorities: array[int]
    positions: array[int]
    targets: tuple[Target, ...]
    pattern_first: bytes
    table: RangeTable
    patterns: PatternTable
    announcements: Mapping[uuid.UUID, Announcement]
    assigned: Mapping[Number, AssignedNumber]
    assigned_digits: Mapping[str, AssignedNumber]
    """The assigned numbers without an extension, by digits: a str hashes faster than a Number."""
    rules: tuple[CompiledRule, ...]
    any_rule: Matcher | None

    @classmethod
    def build(cls, config: RoutingConfig) -> Snapshot:
        """Compile ``config``: rules in position order, assigned numbers by number (the first of
        duplicates is kept; the store keeps them unique), announcements by id, ranges resolved.
        The snapshot keeps nothing of ``config.ranges``: the caller may drop ``config``.

        Raises :class:`~vacant.errors.ValidationError` when a rule, pattern or bound is invalid.
        """
        ranges = config.ranges
        rules = tuple(CompiledRule.compile(rule) for rule in sorted(config.rules, key=_position))
        assigned: dict[Number, AssignedNumber] = {}
        for entry in config.assigned:
            assigned.setdefault(entry.number, entry)
        announcements = {announcement.id: announcement for announcement in config.announcements}
        patterns = PatternTable.build(ranges)
        order = sort_order(ranges)
        table = RangeTable.build(ranges, order)
        pattern_first = bytearray(len(ranges) if patterns.keys else 0)
        if patterns.keys:
            for i in order[order.index(patterns.keys[0][2]) + 1 :]:
                pattern_first[i] = 1
        del order
        names = [rng.name for rng in ranges]
        name_offsets = _int_array([0, *accumulate(map(len, names))])
        joined = "".join(names)
        if len(names) == 1:  # join gives back the one name itself, an object of the config
            joined = _copy(joined)
        return cls(
            version=config.version,
            names=joined,
            name_offsets=name_offsets,
            priorities=_int_array([rng.priority for rng in ranges]),
            positions=_int_array([rng.position for rng in ranges]),
            targets=_targets(ranges, announcements),
            pattern_first=bytes(pattern_first),
            table=table,
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
        elif is_canonical(dialled):
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
            patterns = self.patterns
            if patterns.keys and (index is None or self.pattern_first[index]):
                text = normalised.digits if normalised.ext is None else str(normalised)
                if patterns.any is None or patterns.any(text):
                    below = None if index is None else self.order_of(index)
                    found = patterns.first(text, below)
                    if found is not None:
                        index = found
            if index is None:
                decision = NotFound(number, normalised, None, ())
            else:
                offsets = self.name_offsets
                name = self.names[offsets[index] : offsets[index + 1]]
                target = self.targets[index]
                if isinstance(target, Announcement):
                    decision = AnnouncementDecision(number, normalised, name, (), target)
                elif isinstance(target, Number):
                    decision = AutoAttendant(number, normalised, name, (), target)
                else:
                    decision = Busy(
                        number, normalised, name, (), target.announcement_id, target.announcement
                    )
        if explain:
            # Imported here: the explanations import this module, and only this path needs them.
            from vacant.routing.explain import explanation

            lines = explanation(self, dialled, decision, applied, assigned, index)
            return replace(decision, explanation=lines)
        return decision

    @property
    def range_count(self) -> int:
        """How many ranges (numeric and pattern) the snapshot was built from."""
        return len(self.priorities)

    def name(self, index: int) -> str:
        """The name of range ``index``."""
        return self.names[self.name_offsets[index] : self.name_offsets[index + 1]]

    def order_of(self, index: int) -> OrderKey:
        """The key that orders range ``index``: (priority, position, index)."""
        return (self.priorities[index], self.positions[index], index)

    def range(self, index: int) -> NumberRange:
        """Range ``index`` rebuilt from the columns (its description is not kept: ``""``)."""
        bounds = self.table.bounds(index)
        start, end = (None, None) if bounds is None else bounds
        target = self.targets[index]
        announcement_id = None
        if isinstance(target, Announcement):
            announcement_id = target.id
        elif isinstance(target, BusyTarget):
            announcement_id = target.announcement_id
        return NumberRange(
            self.name(index),
            start,
            end,
            None if bounds is not None else self.patterns.pattern(index),
            announcement_id,
            target if isinstance(target, Number) else None,
            self.priorities[index],
            self.positions[index],
        )

    def matching(self, number: Number) -> list[int]:
        """The indices of every range (numeric or pattern) that covers ``number``, in the order
        that decides between them: for explanations."""
        found = self.table.covering(number) + self.patterns.matching(str(number))
        return sorted(found, key=self.order_of)


def _position(rule: NormalisationRule) -> int:
    return rule.position


def _int_array(values: list[int]) -> array[int]:
    """``values`` in the smallest of 32-bit and 64-bit signed ints that holds them."""
    try:
        return array("i", values)
    except OverflowError:
        return array("q", values)


def _targets(
    ranges: Sequence[NumberRange], announcements: Mapping[uuid.UUID, Announcement]
) -> tuple[Target, ...]:
    """Each range's target, resolved; ranges with the same target share one object (one
    auto-attendant :class:`Number` per distinct number, one :class:`BusyTarget` per removed or
    silent announcement), so that the tuple pins no object of the configuration per range."""
    resolved: dict[uuid.UUID | None, Announcement | BusyTarget] = {
        announcement_id: BusyTarget(announcement_id, announcement)
        if announcement.is_busy
        else announcement
        for announcement_id, announcement in announcements.items()
    }
    attendants: dict[Number, Number] = {}
    targets: list[Target] = []
    append = targets.append
    for rng in ranges:
        attendant = rng.auto_attendant
        if attendant is not None:
            shared = attendants.get(attendant)
            if shared is None:
                ext = None if attendant.ext is None else _copy(attendant.ext)
                shared = attendants[attendant] = Number(_copy(attendant.digits), ext)
            append(shared)
            continue
        target = resolved.get(rng.announcement_id)
        if target is None:  # removed: the id is left dangling, as Lync leaves it
            removed = rng.announcement_id
            assert removed is not None  # a range without an auto-attendant has an announcement
            target = resolved[removed] = BusyTarget(uuid.UUID(int=removed.int), None)
        append(target)
    return tuple(targets)


def _copy(text: str) -> str:
    """A new str equal to ``text``: the snapshot's own, so that it does not keep alive (and pin
    the memory of) an object of the configuration, which the caller may drop."""
    return text.encode().decode()


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
