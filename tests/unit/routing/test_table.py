"""The range table: priority resolved into segments, looked up in O(log n) (reference §3.4)."""

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.routing.objects import range_objects, reachable
from vacant.errors import InvalidNumber
from vacant.routing.model import NumberRange, RoutingConfig
from vacant.routing.numbers import Number, family, order_key
from vacant.routing.table import PatternTable, RangeTable, order_of, sort_order

TARGET = uuid.UUID(int=1)


def numeric(
    name: str, start: str, end: str, priority: int = 0, position: int = 0, ext: str | None = None
) -> NumberRange:
    return NumberRange(
        name, Number(start, ext), Number(end, ext), None, TARGET, None, priority, position
    )


def pattern(name: str, regex: str, priority: int = 0, position: int = 0) -> NumberRange:
    return NumberRange(name, None, None, regex, TARGET, None, priority, position)


def covers(rng: NumberRange, number: Number) -> bool:
    """The oracle: same family, no leading 0, start <= number <= end compared as numbers."""
    assert rng.start is not None
    assert rng.end is not None
    return (
        family(rng.start) == family(number)
        and not number.subscriber.startswith("0")
        and order_key(rng.start) <= order_key(number) <= order_key(rng.end)
    )


def oracle(ranges: list[NumberRange], number: Number) -> list[int]:
    found = [i for i, r in enumerate(ranges) if r.start is not None and covers(r, number)]
    return sorted(found, key=lambda i: (ranges[i].priority, ranges[i].position, i))


# --- examples ------------------------------------------------------------------------------------


def test_number_in_one_range_finds_it_and_outside_finds_nothing() -> None:
    table = RangeTable.build([numeric("R", "+14255550000", "+14255559999")])
    assert table.lookup(Number("+14255550000")) == 0
    assert table.lookup(Number("+14255555555")) == 0
    assert table.lookup(Number("+14255559999")) == 0
    assert table.lookup(Number("+14255549999")) is None
    assert table.lookup(Number("+14255560000")) is None
    assert table.lookup(Number("+1425555000")) is None  # another length


def test_overlapping_ranges_lowest_priority_value_wins() -> None:
    ranges = [
        numeric("all", "+14255550000", "+14255559999", priority=2),
        numeric("sales", "+14255551000", "+14255551999", priority=1),
    ]
    table = RangeTable.build(ranges)
    assert table.lookup(Number("+14255551500")) == 1
    assert table.lookup(Number("+14255552500")) == 0
    assert table.covering(Number("+14255551500")) == [1, 0]


def test_equal_priority_goes_to_the_range_created_first() -> None:
    ranges = [
        numeric("later", "+1000", "+1999", priority=1, position=7),
        numeric("earlier", "+1500", "+2999", priority=1, position=3),
    ]
    table = RangeTable.build(ranges)
    assert table.lookup(Number("+1600")) == 1
    assert table.lookup(Number("+1400")) == 0
    assert table.lookup(Number("+2500")) == 1


def test_equal_priority_and_position_go_to_the_range_listed_first() -> None:
    ranges = [numeric("a", "+1000", "+1999"), numeric("b", "+1000", "+1999")]
    assert RangeTable.build(ranges).lookup(Number("+1500")) == 0
    assert order_of(ranges, 0) < order_of(ranges, 1)


def test_zero_is_the_highest_priority() -> None:
    ranges = [numeric("one", "+1", "+9", priority=1), numeric("zero", "+5", "+5", priority=0)]
    assert RangeTable.build(ranges).lookup(Number("+5")) == 1


def test_range_spanning_lengths_covers_every_length_between() -> None:
    table = RangeTable.build([numeric("R", "100", "20000")])
    for inside in ["100", "999", "1000", "5555", "9999", "10000", "20000"]:
        assert table.lookup(Number(inside)) == 0, inside
    for outside in ["99", "20001", "100000", "1"]:
        assert table.lookup(Number(outside)) is None, outside


def test_number_with_a_leading_zero_is_in_no_numeric_range() -> None:
    table = RangeTable.build([numeric("R", "100", "20000"), numeric("S", "+1", "+99999")])
    assert table.lookup(Number("0150")) is None
    assert table.lookup(Number("01500")) is None
    assert table.lookup(Number("+0150")) is None
    assert table.covering(Number("0150")) == []


def test_number_longer_than_any_bound_is_in_no_range() -> None:
    table = RangeTable.build([numeric("R", "+1", "+" + "9" * 18)])
    assert table.lookup(Number("+" + "9" * 18)) == 0
    assert table.lookup(Number("+1" + "0" * 18)) is None


def test_extension_ranges_only_cover_numbers_with_that_extension() -> None:
    ranges = [
        numeric("ext 12", "+1425", "+1430", ext="12"),
        numeric("no ext", "+1425", "+1430", priority=5),
    ]
    table = RangeTable.build(ranges)
    assert table.lookup(Number("+1426", "12")) == 0
    assert table.lookup(Number("+1426", "13")) is None
    assert table.lookup(Number("+1426")) == 1


def test_global_and_local_numbers_are_separate_families() -> None:
    table = RangeTable.build([numeric("global", "+1425", "+1430")])
    assert table.lookup(Number("+1426")) == 0
    assert table.lookup(Number("1426")) is None


def test_gap_between_ranges_finds_nothing() -> None:
    table = RangeTable.build(
        [numeric("a", "+1000", "+1099", priority=1), numeric("b", "+1200", "+1299", priority=2)]
    )
    assert [table.lookup(Number(n)) for n in ["+1050", "+1150", "+1250", "+1300"]] == [
        0,
        None,
        1,
        None,
    ]


def test_nested_ranges_give_the_inner_one_back_to_the_outer_after_it() -> None:
    table = RangeTable.build(
        [numeric("outer", "+1000", "+1999", priority=2), numeric("inner", "+1400", "+1599")]
    )
    assert [table.lookup(Number(n)) for n in ["+1399", "+1400", "+1599", "+1600"]] == [0, 1, 1, 0]


def test_adjacent_segments_with_the_same_winner_are_merged() -> None:
    table = RangeTable.build(
        [numeric("big", "+1000", "+1999"), numeric("shadowed", "+1400", "+1599", priority=1)]
    )
    assert table.segment_count == 2  # [1000, 2000) big, then the closing gap


def test_pattern_ranges_are_left_out_of_the_numeric_table() -> None:
    table = RangeTable.build([pattern("p", r"\+1\d+"), numeric("R", "+100", "+199")])
    assert table.lookup(Number("+150")) == 1


def test_empty_table_finds_nothing() -> None:
    table = RangeTable.build([])
    assert table.lookup(Number("+1")) is None
    assert table.covering(Number("+1")) == []
    assert table.segment_count == 0


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        (Number("+2"), Number("+1"), "less than the start"),
        (Number("1000"), Number("999"), "less than the start"),
        (Number("+1"), Number("2"), "both begin with"),
        (Number("+1", "1"), Number("+2"), "identical extension"),
        (Number("+0100"), Number("+0200"), "leading 0"),
        (Number("+5"), Number("+05"), "leading 0"),
        (Number("+1"), Number("+1" + "0" * 18), "more than 18 digits"),
    ],
)
def test_range_whose_bounds_break_lyncs_rules_is_refused(
    start: Number, end: Number, rule: str
) -> None:
    rng = NumberRange("bad", start, end, None, TARGET, None, 0)
    with pytest.raises(InvalidNumber, match=rule):
        RangeTable.build([rng])


@pytest.mark.parametrize("ext", ["012", "0", "12345678901", "", "\u0661\u0662"])
def test_dialled_extension_no_bound_can_have_is_in_no_range(ext: str) -> None:
    """A bound's extension is 1 to 10 ASCII digits without a leading 0 (Lync's rule)."""
    table = RangeTable.build([numeric("R", "+1425", "+1430", ext="12")])
    assert table.lookup(Number("+1426", ext)) is None
    assert table.covering(Number("+1426", ext)) == []
    assert table.lookup(Number("+1426", "12")) == 0


def test_number_with_an_extension_longer_than_18_digits_is_in_no_range() -> None:
    table = RangeTable.build([numeric("R", "+1", "+" + "9" * 18, ext="7")])
    assert table.lookup(Number("+" + "9" * 18, "7")) == 0
    assert table.lookup(Number("+1" + "0" * 18, "7")) is None


@pytest.mark.parametrize("ext", ["012", "12345678901"])
def test_range_whose_extension_breaks_lyncs_rule_is_refused(ext: str) -> None:
    with pytest.raises(InvalidNumber, match="not 1 to 10 digits without a leading 0"):
        RangeTable.build([numeric("bad", "+1", "+2", ext=ext)])


def test_numbers_are_grouped_by_family_and_length() -> None:
    table = RangeTable.build(
        [
            numeric("a", "+100", "+20000"),  # lengths 3, 4 and 5
            numeric("b", "+150", "+160"),  # length 3 again
            numeric("c", "100", "200"),  # local
            numeric("d", "+100", "+200", ext="12"),
            numeric("e", "+100", "+200", ext="13"),
        ]
    )
    assert table.group_count == 6
    assert len(table.plain) == 4


def test_bounds_are_rebuilt_from_the_columns() -> None:
    ranges = [
        numeric("global", "+14255550000", "+14255559999"),
        pattern("pattern", r"\+1\d+"),
        numeric("local ext", "100", "20000", ext="4321"),
    ]
    table = RangeTable.build(ranges)
    assert table.bounds(0) == (Number("+14255550000"), Number("+14255559999"))
    assert table.bounds(1) is None
    assert table.bounds(2) == (Number("100", "4321"), Number("20000", "4321"))


def test_table_keeps_no_object_of_the_ranges_it_was_built_from() -> None:
    config = RoutingConfig(
        [
            numeric("global", "+14255550000", "+14255559999", priority=2),
            numeric("local ext", "1000", "2000", ext="4321"),
            numeric("long", "+99", "+123456789012345"),
        ]
    )
    table = RangeTable.build(config.ranges)
    kept = [obj for obj in reachable(table) if id(obj) in range_objects(config)]
    assert kept == []


def test_sort_order_is_priority_then_position_then_index() -> None:
    ranges = [
        numeric("a", "+1", "+2", priority=1, position=5),
        pattern("b", "1", priority=0, position=9),
        numeric("c", "+1", "+2", priority=1, position=2),
        numeric("d", "+1", "+2", priority=1, position=2),
    ]
    assert sort_order(ranges) == [1, 2, 3, 0]
    assert sort_order([]) == []


# --- pattern table -------------------------------------------------------------------------------


def test_patterns_are_tried_in_sort_order() -> None:
    ranges = [
        pattern("wide", r"\+1\d+", priority=2),
        numeric("numeric", "+1", "+9"),
        pattern("narrow", r"\+1900\d+", priority=1),
    ]
    table = PatternTable.build(ranges)
    assert len(table) == 2
    assert table.first("+19005551234") == 2
    assert table.first("+14255551234") == 0
    assert table.first("+44") is None
    assert table.matching("+19005551234") == [2, 0]


def test_patterns_ordered_after_a_bound_are_not_tried() -> None:
    ranges = [pattern("p", r"\+1\d+", priority=1, position=4)]
    table = PatternTable.build(ranges)
    assert table.first("+1425", below=(1, 4, 0)) is None
    assert table.first("+1425", below=(1, 4, 1)) == 0
    assert table.first("+1425", below=(2, 0, 0)) == 0


def test_pattern_of_a_range_is_its_source_and_none_for_a_numeric_range() -> None:
    table = PatternTable.build([numeric("n", "+1", "+2"), pattern("p", r"\+1\d+")])
    assert table.pattern(1) == r"\+1\d+"
    assert table.pattern(0) is None


@pytest.mark.parametrize(
    ("patterns", "combined"),
    [
        ([r"\+1900\d+", r"\+44\d+"], True),
        ([r"\+1900\d+"], False),  # one pattern: nothing to combine
        ([r"(\d)\1\d*", r"\+44\d+"], False),  # a back-reference would be renumbered
    ],
)
def test_patterns_are_prefiltered_by_one_alternation_only_when_it_is_equivalent(
    patterns: list[str], combined: bool
) -> None:
    table = PatternTable.build([pattern(f"p{i}", p, position=i) for i, p in enumerate(patterns)])
    assert (table.any is not None) is combined
    for text in ["+19005551234", "+4420", "1123", "+1425"]:
        one_by_one = [i for i, p in enumerate(patterns) if re.fullmatch(p, text)]
        assert table.first(text) == (one_by_one[0] if one_by_one else None), text


def test_invalid_pattern_is_refused_naming_the_range() -> None:
    with pytest.raises(InvalidNumber, match="range 'p' pattern"):
        PatternTable.build([pattern("p", "(")])


# --- property: the table agrees with a brute-force oracle ----------------------------------------

FAMILIES = [(True, None), (False, None), (True, "1"), (False, "12")]


@st.composite
def ranges_strategy(draw: st.DrawFn) -> list[NumberRange]:
    count = draw(st.integers(0, 25))
    out = []
    for i in range(count):
        is_global, ext = draw(st.sampled_from(FAMILIES))
        low = draw(st.integers(1, 30_000))  # 1 to 5 digits
        high = low + draw(st.one_of(st.integers(0, 30), st.integers(0, 30_000)))
        plus = "+" if is_global else ""
        priority = draw(st.integers(0, 3))
        position = draw(st.integers(0, count))  # ties on purpose
        out.append(numeric(f"r{i}", f"{plus}{low}", f"{plus}{high}", priority, position, ext))
    return out


@st.composite
def numbers_for(draw: st.DrawFn, ranges: list[NumberRange]) -> Number:
    choice = draw(st.integers(0, 3))
    if ranges and choice < 2:  # at or next to a bound
        rng = draw(st.sampled_from(ranges))
        bound = draw(st.sampled_from([rng.start, rng.end]))
        assert bound is not None
        value = int(bound.subscriber) + draw(st.integers(-1, 1))
        plus = "+" if bound.is_global else ""
        return Number(f"{plus}{value}", bound.ext)
    is_global, ext = draw(st.sampled_from([*FAMILIES, (True, "9")]))
    digits = draw(st.from_regex(r"[0-9]{1,6}", fullmatch=True))
    return Number(("+" if is_global else "") + digits, ext)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_lookup_agrees_with_the_brute_force_oracle(data: st.DataObject) -> None:
    ranges = data.draw(ranges_strategy())
    table = RangeTable.build(ranges)
    for _ in range(20):
        number = data.draw(numbers_for(ranges))
        expected = oracle(ranges, number)
        assert table.lookup(number) == (expected[0] if expected else None), number
        assert table.covering(number) == expected, number
    for i, rng in enumerate(ranges):
        assert table.bounds(i) == (rng.start, rng.end)
