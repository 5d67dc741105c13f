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

The pieces themselves (``lo``, ``hi``, range index, in sort order) are kept too, for
:meth:`RangeTable.covering`, which lists every covering range for explanations.

A number whose subscriber digits start with ``0`` is in no numeric range: no bound may start with
``0`` (Lync's rule), and a leading zero carries meaning (a trunk prefix), so ``0150`` is not
``150``. A number longer than 18 digits is in no range either (the longest bound).

Pattern ranges (Teams style regular expressions) are kept apart in a :class:`PatternTable`, in
sort order, and tried one after the other.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import NamedTuple

from vacant.errors import InvalidNumber
from vacant.routing.model import NumberRange, validate_bounds
from vacant.routing.numbers import Number, compile_pattern

#: The longest subscriber a bound may have (Lync's rule: 1 to 18 digits): fits an int64.
MAX_DIGITS = 18

#: A group of comparable numbers: (global?, extension, subscriber length).
GroupKey = tuple[bool, str | None, int]

_GAP = -1


class Group(NamedTuple):
    """Where one group's data is in the arrays of a :class:`RangeTable`."""

    first: int
    """The first number in a range; the directory's origin."""
    shift: int
    """Buckets are ``2**shift`` numbers wide."""
    d0: int
    """The group's directory is ``directory[d0 : d0 + buckets + 1]``."""
    buckets: int
    p0: int
    """The group's pieces are ``piece_*[p0:p1]``."""
    p1: int


@dataclass(frozen=True, slots=True)
class RangeTable:
    """The numeric ranges of a snapshot with priority resolved; immutable.

    Build it with :meth:`build`; indices returned are indices into the sequence it was built from.
    """

    groups: dict[GroupKey, Group]
    starts: array[int]
    winners: array[int]
    directory: array[int]
    piece_lo: array[int]
    piece_hi: array[int]
    piece_index: array[int]

    @classmethod
    def build(cls, ranges: Sequence[NumberRange]) -> RangeTable:
        """Resolve the numeric ranges of ``ranges`` (those with ``start``/``end``) into segments.

        Pattern ranges are skipped (see :class:`PatternTable`). The winner of a number is the
        covering range with the smallest ``sort_key``; equal keys go to the earlier index
        (:func:`order_of`). Raises :class:`~vacant.errors.InvalidNumber` for a range whose bounds
        break Lync's rules.
        """
        order = _sort_order(ranges)
        # Per group, parallel arrays of pieces appended in sort order, so that a piece's local
        # index orders pieces as their ranges do (the sweep's heap relies on it). Arrays, not
        # lists of tuples: no per-piece objects for the garbage collector to walk.
        pieces: dict[GroupKey, tuple[array[int], array[int], array[int]]] = {}
        for i in order:
            start, end = ranges[i].start, ranges[i].end
            assert start is not None
            assert end is not None
            low, high, ext = start.digits, end.digits, start.ext
            is_global = low[:1] == "+"
            if is_global:
                low = low[1:]
            if high[:1] == "+":
                high = high[1:]
            len_low, len_high = len(low), len(high)
            if (
                ext != end.ext
                or is_global != end.is_global
                or len_low > len_high
                or (len_low == len_high and low > high)
            ):
                validate_bounds(start, end)  # raises, naming the rule that is broken
            if len_high > MAX_DIGITS or low[:1] == "0" or high[:1] == "0":
                raise InvalidNumber(
                    "start",
                    f"range {ranges[i].name!r}: a bound has more than 18 digits or a leading 0",
                )
            lo = int(low)
            for length in range(len_low, len_high + 1):
                hi = int(high) if length == len_high else 10**length - 1
                group = pieces.get((is_global, ext, length))
                if group is None:
                    group = pieces[is_global, ext, length] = (array("q"), array("q"), array("i"))
                group[0].append(lo)
                group[1].append(hi)
                group[2].append(i)
                lo = 10**length
        del order
        starts, winners, directory = array("q"), array("i"), array("i")
        piece_lo, piece_hi, piece_index = array("q"), array("q"), array("i")
        places = array("q")  # per group: first, shift, d0, buckets, p0, p1
        for los, his, indices in pieces.values():
            s0, d0, p0 = len(starts), len(directory), len(piece_lo)
            seg_starts, seg_winners = _sweep(los, his, indices)
            first, count = seg_starts[0], len(seg_starts)
            shift = ((seg_starts[-1] - first) // count).bit_length()
            buckets = ((seg_starts[-1] - first) >> shift) + 1
            directory.extend(
                [
                    s0 + bisect_right(seg_starts, first + (b << shift)) - 1
                    for b in range(buckets + 1)
                ]
            )
            starts.extend(seg_starts)
            winners.extend(seg_winners)
            piece_lo.extend(los)
            piece_hi.extend(his)
            piece_index.extend(indices)
            places.extend((first, shift, d0, buckets, p0, len(piece_lo)))
        # The long-lived small objects last, once the transient ones are gone, so that they do
        # not pin memory the build used and freed.
        keys = [(is_global, ext, length) for is_global, ext, length in pieces]
        del pieces
        groups = {key: Group(*places[6 * g : 6 * g + 6]) for g, key in enumerate(keys)}
        return cls(groups, starts, winners, directory, piece_lo, piece_hi, piece_index)

    def lookup(self, number: Number) -> int | None:
        """The index of the range that wins for ``number``, or ``None``: O(log n)."""
        digits = number.digits
        if digits[:1] == "+":
            group = self.groups.get((True, number.ext, len(digits) - 1))
        else:
            group = self.groups.get((False, number.ext, len(digits)))
        if group is None:
            return None
        first, shift, d0, buckets, _, _ = group
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

    def covering(self, number: Number) -> list[int]:
        """Indices of every range covering ``number``, winner first (sort order).

        O(ranges of the number's family and length): for explanations, not for calls.
        """
        digits = number.subscriber
        where = self.groups.get((number.is_global, number.ext, len(digits)))
        if where is None or digits[:1] == "0":
            return []
        value = int(digits)
        lows, highs, indices = self.piece_lo, self.piece_hi, self.piece_index
        return [indices[p] for p in range(where.p0, where.p1) if lows[p] <= value <= highs[p]]

    @property
    def segment_count(self) -> int:
        """How many elementary segments (gaps included) the ranges resolved into."""
        return len(self.starts)


def _sort_order(ranges: Sequence[NumberRange]) -> list[int]:
    """The indices of the numeric ranges in sort order: (priority, position), then index.

    The key is one int per range, ``priority * span + position`` (``span`` exceeding every
    position's distance from the smallest), which orders as the pair does without a tuple each.
    """
    numeric = [i for i, r in enumerate(ranges) if r.start is not None and r.end is not None]
    if not numeric:
        return numeric
    positions = [ranges[i].position for i in numeric]
    low = min(positions)
    span = max(positions) - low + 1
    keys = [
        ranges[i].priority * span + position - low
        for i, position in zip(numeric, positions, strict=True)
    ]
    order = sorted(range(len(numeric)), key=keys.__getitem__)  # stable: ties keep index order
    return [numeric[k] for k in order]


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
    boundaries = sorted({*los, *[hi + 1 for hi in his]})
    starts: list[int] = []
    winners: list[int] = []
    heap: list[int] = []
    k = 0
    previous = _GAP
    for point in boundaries:
        while k < count and los[by_low[k]] == point:
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


def order_of(ranges: Sequence[NumberRange], index: int) -> OrderKey:
    """The key that orders range ``index`` among ``ranges``: (priority, position, index)."""
    rng = ranges[index]
    return (rng.priority, rng.position, index)


@dataclass(frozen=True, slots=True)
class PatternTable:
    """The pattern ranges of a snapshot, compiled, in sort order; tried one after the other."""

    keys: tuple[OrderKey, ...]
    regexes: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, ranges: Sequence[NumberRange]) -> PatternTable:
        """Compile the pattern ranges of ``ranges`` (numeric ranges are skipped)."""
        found = sorted(
            (order_of(ranges, i), compile_pattern(r.pattern, f"range {r.name!r} pattern"))
            for i, r in enumerate(ranges)
            if r.pattern is not None
        )
        return cls(tuple(key for key, _ in found), tuple(regex for _, regex in found))

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

    def matching(self, text: str) -> list[int]:
        """The indices of every pattern range matching the whole of ``text``, in sort order."""
        return [
            key[2]
            for key, regex in zip(self.keys, self.regexes, strict=True)
            if regex.fullmatch(text)
        ]
