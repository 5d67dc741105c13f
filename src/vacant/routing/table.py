"""The range table of a routing snapshot: which range wins for a number, found in O(log n).

Lync searches its unassigned number table for the first matching range by priority (the lowest
value wins; ties go to the range created first, Lync's top-to-bottom Control Panel order). Ranges
may overlap, so the table resolves priority once, when it is built, into **elementary segments**:
disjoint runs of numbers that share one winner. A lookup is then a search in sorted arrays.

Layout. Numbers of one *group* — one family (:func:`~vacant.routing.numbers.family`: global or
local, and one extension) and one subscriber length — compare as integers, since inside one length
"by length then digits" is integer order. A range whose bounds differ in length (``100..2000``) is
cut into one piece per length (``100..999`` and ``1000..2000``). Each group's segments are a slice
of columnar arrays, not objects:

* ``starts``  (``array('q')``): the first number of each segment, ascending inside a group;
* ``winners`` (``array('i')``): the index of the winning range, or ``-1`` for a gap.

Segment ``k`` runs from ``starts[k]`` to ``starts[k + 1] - 1``; a group's last segment is a gap.
Numbers below the group's first start are in no range. To spare most of the binary search (each
step of ``bisect`` over an array boxes an int), a group also has a **directory**: its span is cut
into ``2**shift``-wide buckets, about one per segment, and ``directory[d0 + b]`` is the segment
that contains the first number of bucket ``b``. A number's bucket is ``(value - first) >> shift``;
its segment is found by ``bisect`` between two consecutive directory entries — usually one or two
steps, never more than a full binary search.

Groups are numbered in the order of their **code**, one int: ``family * 32 + length``, where the
family code is ``0`` (local) or ``1`` (global) without an extension, and ``extension * 2 + global``
with one (an extension is 1 to 10 digits without a leading 0, Lync's rule, so its value is
exact). Group ``g``'s place in the arrays is in per-group columns (``first``, ``shift``, ``d0``,
``buckets``, ``p0``). A number with an extension finds its group by ``bisect`` in the sorted
``codes``; a number without one (most calls) in the small ``plain`` dict of :class:`Group`
tuples. There may be tens of thousands of groups (one per extension and length), and they are
columns rather than objects on purpose: a long-lived small object made while the configuration
is alive lands in a hole of the configuration's memory and keeps that memory resident after the
configuration is dropped.

The table also keeps, for explanations, each range's bounds as columns indexed by range —
``lows``/``highs`` (``array('q')``, the subscriber digits as integers) and ``families`` (the
family code, ``-1`` for a pattern range) — and, per group, which ranges have a piece in it
(``piece_index[p0[g]:p0[g + 1]]``, in sort order): :meth:`RangeTable.covering` tests those
ranges' bounds, :meth:`RangeTable.bounds` rebuilds a range's two numbers. No per-range object is
kept: the table does not hold on to the :class:`~vacant.routing.model.NumberRange` values it was
built from.

A number whose subscriber digits start with ``0`` is in no numeric range: no bound may start with
``0`` (Lync's rule), and a leading zero carries meaning (a trunk prefix), so ``0150`` is not
``150``. A number longer than 18 digits is in no range either (the longest bound).

Pattern ranges (Teams style regular expressions) are kept apart in a :class:`PatternTable`, in
sort order, and tried one after the other.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import NamedTuple

from vacant.errors import InvalidNumber
from vacant.routing.model import NumberRange, validate_bounds
from vacant.routing.numbers import Number, compile_pattern

#: The longest subscriber a bound may have (Lync's rule: 1 to 18 digits): fits an int64.
MAX_DIGITS = 18
#: The longest extension of a bound (Lync's rule: 1 to 10 digits).
MAX_EXT_DIGITS = 10

_GAP = -1
#: A group's code is ``family * _LENGTHS + length``.
_LENGTHS = 32


class Group(NamedTuple):
    """Where one group's data is in the arrays of a :class:`RangeTable` (kept as a tuple for the
    groups of numbers without an extension, which most calls look up)."""

    first: int
    """The first number in a range; the directory's origin."""
    shift: int
    """Buckets are ``2**shift`` numbers wide."""
    d0: int
    """The group's directory is ``directory[d0 : d0 + buckets + 1]``."""
    buckets: int
    ordinal: int
    """The group's number ``g`` in the per-group columns."""


@dataclass(frozen=True, slots=True)
class RangeTable:
    """The numeric ranges of a snapshot with priority resolved; immutable.

    Build it with :meth:`build`; indices returned are indices into the sequence it was built from.
    """

    codes: array[int]
    """Every group's code, ascending: group ``g`` has code ``codes[g]``."""
    first: array[int]
    shift: array[int]
    d0: array[int]
    buckets: array[int]
    p0: array[int]
    """One more than the groups: group ``g``'s pieces are ``piece_index[p0[g] : p0[g + 1]]``."""
    plain: dict[int, Group]
    """The groups of numbers without an extension, by an int that :meth:`lookup` computes fast:
    twice the length of the digits (with the ``+``), plus 1 for a global number."""
    starts: array[int]
    winners: array[int]
    directory: array[int]
    piece_index: array[int]
    families: array[int]
    lows: array[int]
    highs: array[int]

    @classmethod
    def build(cls, ranges: Sequence[NumberRange], order: Sequence[int] | None = None) -> RangeTable:
        """Resolve the numeric ranges of ``ranges`` (those with ``start``/``end``) into segments.

        Pattern ranges are skipped (see :class:`PatternTable`). The winner of a number is the
        covering range with the smallest ``sort_key``; equal keys go to the earlier index
        (:func:`order_of`). ``order``, when given, is :func:`sort_order` of ``ranges``, computed
        already. Raises :class:`~vacant.errors.InvalidNumber` for a range whose bounds break
        Lync's rules. The table keeps no reference to ``ranges``.
        """
        if order is None:
            order = sort_order(ranges)
        count = len(ranges)
        lows, highs = array("q", bytes(8 * count)), array("q", bytes(8 * count))
        families = array("q", [_GAP]) * count
        # Per group code, parallel arrays of pieces appended in sort order, so that a piece's
        # local index orders pieces as their ranges do (the sweep's heap relies on it). Arrays,
        # not lists of tuples: no per-piece objects for the garbage collector to walk.
        pieces: dict[int, tuple[array[int], array[int], array[int]]] = {}
        powers = [10**length for length in range(MAX_DIGITS + 1)]
        for i in order:
            rng = ranges[i]
            start, end = rng.start, rng.end
            if start is None or end is None:
                continue
            low, high, ext = start.digits, end.digits, start.ext
            is_global, high_global = low[:1] == "+", high[:1] == "+"
            # int() reads the "+" too; without leading zeros, comparing the values is comparing
            # the numbers, and a value below 10 ** (length - 1) has a leading zero.
            lo, last = int(low), int(high)
            len_low, len_high = len(low) - is_global, len(high) - high_global
            if ext != end.ext or is_global != high_global or lo > last:
                validate_bounds(start, end)  # raises, naming the rule that is broken
            if len_high > MAX_DIGITS or lo < powers[len_low - 1] or last < powers[len_high - 1]:
                raise InvalidNumber(
                    "start", f"range {rng.name!r}: a bound has more than 18 digits or a leading 0"
                )
            if ext is None:
                family = 1 if is_global else 0
            else:
                value = _ext_value(ext)
                if value is None:
                    raise InvalidNumber(
                        "start",
                        f"range {rng.name!r}: the extension {ext[:20]!r} is not 1 to 10 digits"
                        " without a leading 0",
                    )
                family = value * 2 + is_global
            lows[i], highs[i], families[i] = lo, last, family
            code = family * _LENGTHS + len_low
            if len_low == len_high:  # most ranges: one piece
                group = pieces.get(code)
                if group is None:
                    group = pieces[code] = (array("q"), array("q"), array("i"))
                group[0].append(lo)
                group[1].append(last)
                group[2].append(i)
                continue
            for length in range(len_low, len_high + 1):
                group = pieces.get(code)
                if group is None:
                    group = pieces[code] = (array("q"), array("q"), array("i"))
                group[0].append(lo)
                group[1].append(last if length == len_high else powers[length] - 1)
                group[2].append(i)
                lo = powers[length]
                code += 1
        del order
        starts, winners, directory, piece_index = array("q"), array("i"), array("i"), array("i")
        codes = array("q", sorted(pieces))
        firsts, shifts, d0s, bucket_counts = array("q"), array("q"), array("q"), array("q")
        p0s = array("q", [0])
        for code in codes:
            los, his, indices = pieces.pop(code)
            s0 = len(starts)
            seg_starts, seg_winners = _sweep(los, his, indices)
            first, segments = seg_starts[0], len(seg_starts)
            shift = ((seg_starts[-1] - first) // segments).bit_length()
            buckets = ((seg_starts[-1] - first) >> shift) + 1
            firsts.append(first)
            shifts.append(shift)
            d0s.append(len(directory))
            bucket_counts.append(buckets)
            directory.extend(
                [
                    s0 + bisect_right(seg_starts, first + (b << shift)) - 1
                    for b in range(buckets + 1)
                ]
            )
            starts.extend(seg_starts)
            winners.extend(seg_winners)
            piece_index.extend(indices)
            p0s.append(len(piece_index))
        # The few long-lived small objects last, once the transient ones are gone.
        plain = {
            _plain_key(code): Group(firsts[g], shifts[g], d0s[g], bucket_counts[g], g)
            for g, code in enumerate(codes)
            if code < 2 * _LENGTHS
        }
        return cls(
            codes,
            firsts,
            shifts,
            d0s,
            bucket_counts,
            p0s,
            plain,
            starts,
            winners,
            directory,
            piece_index,
            families,
            lows,
            highs,
        )

    def lookup(self, number: Number) -> int | None:
        """The index of the range that wins for ``number``, or ``None``: O(log n)."""
        digits = number.digits
        ext = number.ext
        if ext is None:
            group = self.plain.get(len(digits) * 2 + 1 if digits[:1] == "+" else len(digits) * 2)
            if group is None:
                return None
            first, shift, d0, buckets, _ = group
        else:
            g = self._group(digits, ext)
            if g is None:
                return None
            first, shift, d0, buckets = self.first[g], self.shift[g], self.d0[g], self.buckets[g]
        value = int(digits)  # "+" and a leading 0 are fine: values in a group have neither
        if value < first:
            return None
        bucket = (value - first) >> shift
        if bucket >= buckets:  # past the last start, which is a gap's
            return None
        d = d0 + bucket
        found, last = self.directory[d], self.directory[d + 1]
        if found != last:  # else the whole bucket is in one segment
            found = bisect_right(self.starts, value, found, last + 1) - 1
        winner = self.winners[found]
        return None if winner == _GAP else winner

    def _group(self, digits: str, ext: str | None) -> int | None:
        """The number of the group of ``digits`` (``+`` included) and ``ext``, if there is one."""
        is_global = digits[:1] == "+"
        length = len(digits) - is_global
        if length > MAX_DIGITS:
            return None
        if ext is None:
            family = int(is_global)
        else:
            value = _ext_value(ext)
            if value is None:
                return None
            family = value * 2 + is_global
        code = family * _LENGTHS + length
        g = bisect_left(self.codes, code)
        return g if g < len(self.codes) and self.codes[g] == code else None

    def covering(self, number: Number) -> list[int]:
        """Indices of every range covering ``number``, winner first (sort order).

        O(ranges of the number's family and length): for explanations, not for calls. A range
        has a piece in the number's group when its bounds' lengths enclose the number's length,
        and then covers it when ``low <= value <= high``: without leading zeros, comparing as
        integers is comparing by length, then digits.
        """
        g = self._group(number.digits, number.ext)
        digits = number.subscriber
        if g is None or digits[:1] == "0":
            return []
        value = int(digits)
        lows, highs, indices = self.lows, self.highs, self.piece_index
        return [
            i
            for i in (indices[p] for p in range(self.p0[g], self.p0[g + 1]))
            if lows[i] <= value <= highs[i]
        ]

    def bounds(self, index: int) -> tuple[Number, Number] | None:
        """The start and end of range ``index``, rebuilt; ``None`` for a pattern range."""
        family = self.families[index]
        if family == _GAP:
            return None
        plus = "+" if family & 1 else ""
        ext = str(family >> 1) if family > 1 else None
        return Number(f"{plus}{self.lows[index]}", ext), Number(f"{plus}{self.highs[index]}", ext)

    @property
    def segment_count(self) -> int:
        """How many elementary segments (gaps included) the ranges resolved into."""
        return len(self.starts)

    @property
    def group_count(self) -> int:
        """How many groups (family and length) the numeric ranges fall into."""
        return len(self.codes)


def _ext_value(ext: str) -> int | None:
    """The value of an extension as a range bound may have it (1 to 10 ASCII digits, no leading
    0), or ``None``: no range has any other extension."""
    if len(ext) > MAX_EXT_DIGITS or ext[:1] == "0" or not (ext.isascii() and ext.isdigit()):
        return None
    return int(ext)


def _plain_key(code: int) -> int:
    """The key in :attr:`RangeTable.plain` of a group without an extension, by its code."""
    family, length = divmod(code, _LENGTHS)
    return (length + 1) * 2 + 1 if family else length * 2


def sort_order(ranges: Sequence[NumberRange]) -> list[int]:
    """The indices of ``ranges`` (numeric and pattern) in sort order: (priority, position), then
    index.

    The key is one int per range, ``priority * span + position`` (``span`` exceeding every
    position's distance from the smallest), which orders as the pair does without a tuple each.
    """
    if not ranges:
        return []
    positions = [r.position for r in ranges]
    low = min(positions)
    span = max(positions) - low + 1
    keys = [
        r.priority * span + position - low for r, position in zip(ranges, positions, strict=True)
    ]
    return sorted(range(len(ranges)), key=keys.__getitem__)  # stable: ties keep index order


def _sweep(los: array[int], his: array[int], indices: array[int]) -> tuple[list[int], list[int]]:
    """The elementary segments of one group's pieces: their starts and winners (the last is a
    gap).

    Pieces are in sort order, so the smallest local index among the pieces open at a point is the
    winner there. Sweep the boundaries (every ``lo`` and every ``hi + 1``) left to right with a
    min-heap of open pieces; a piece that has ended is dropped when it reaches the top (lazy
    deletion). Adjacent segments with the same winner are merged.
    """
    count = len(los)
    if count == 1:
        return [los[0], his[0] + 1], [indices[0], _GAP]
    by_low = sorted(range(count), key=los.__getitem__)
    lows = [los[j] for j in by_low]
    # Two sorted runs, which sorted() merges in linear time; equal points are skipped below.
    boundaries = sorted(lows + sorted([hi + 1 for hi in his]))
    starts: list[int] = []
    winners: list[int] = []
    heap: list[int] = []
    k = 0
    previous = _GAP
    point = -1  # below every boundary: bounds are >= 1
    for boundary in boundaries:
        if boundary == point:
            continue
        point = boundary
        while k < count and lows[k] == point:
            heappush(heap, by_low[k])
            k += 1
        while heap and his[heap[0]] < point:
            heappop(heap)
        local = heap[0] if heap else _GAP
        if local != previous:
            starts.append(point)
            winners.append(_GAP if local == _GAP else indices[local])
            previous = local
    return starts, winners


#: The total order of ranges: ``sort_key`` then the index in the snapshot's sequence.
OrderKey = tuple[int, int, int]

#: A compiled pattern's ``fullmatch``.
Matcher = Callable[[str], "re.Match[str] | None"]

#: A pattern that refers to a group by number (or a conditional), which an alternation renumbers.
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?\(")


def any_of(patterns: Sequence[str]) -> Matcher | None:
    """One alternation of ``patterns`` (full match), to learn in one regex call that none of them
    matches; ``None`` when there are fewer than two, when a pattern refers to groups by number,
    or when the alternation does not compile (e.g. a global flag in the middle)."""
    if len(patterns) < 2 or any(_GROUP_REFERENCE.search(pattern) for pattern in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)).fullmatch
    except re.error:
        return None


def order_of(ranges: Sequence[NumberRange], index: int) -> OrderKey:
    """The key that orders range ``index`` among ``ranges``: (priority, position, index)."""
    rng = ranges[index]
    return (rng.priority, rng.position, index)


@dataclass(frozen=True, slots=True)
class PatternTable:
    """The pattern ranges of a snapshot, compiled, in sort order; tried one after the other.

    ``any``, the alternation of every pattern (:func:`any_of`), tells in one regex call that none
    matches, when it could be built.
    """

    keys: tuple[OrderKey, ...]
    regexes: tuple[re.Pattern[str], ...]
    any: Matcher | None = None

    @classmethod
    def build(cls, ranges: Sequence[NumberRange]) -> PatternTable:
        """Compile the pattern ranges of ``ranges`` (numeric ranges are skipped)."""
        found = sorted(
            (order_of(ranges, i), compile_pattern(r.pattern, f"range {r.name!r} pattern"))
            for i, r in enumerate(ranges)
            if r.pattern is not None
        )
        regexes = tuple(regex for _, regex in found)
        return cls(tuple(key for key, _ in found), regexes, any_of([r.pattern for r in regexes]))

    def __len__(self) -> int:
        return len(self.keys)

    def first(self, text: str, below: OrderKey | None = None) -> int | None:
        """The index of the first pattern range (sort order) matching the whole of ``text``;
        with ``below``, only ranges ordered before that key are tried."""
        for key, regex in zip(self.keys, self.regexes, strict=True):
            if below is not None and key >= below:
                return None
            if regex.fullmatch(text):
                return key[2]
        return None

    def pattern(self, index: int) -> str | None:
        """The pattern of range ``index``; ``None`` when it is not a pattern range."""
        for key, regex in zip(self.keys, self.regexes, strict=True):
            if key[2] == index:
                return regex.pattern
        return None

    def matching(self, text: str) -> list[int]:
        """The indices of every pattern range matching the whole of ``text``, in sort order."""
        return [
            key[2]
            for key, regex in zip(self.keys, self.regexes, strict=True)
            if regex.fullmatch(text)
        ]
