"""Telephone numbers: Lync's range-bound rule, dialled-number parsing, patterns and translations."""

import re

import pytest

from vacant.errors import InvalidNumber, ValidationError
from vacant.routing.numbers import (
    MAX_INPUT,
    Number,
    compile_pattern,
    compile_translation,
    family,
    order_key,
    parse_bound,
    parse_dialled,
)

# --- Number --------------------------------------------------------------------------------------


def test_number_prints_as_written_in_rules_and_as_a_tel_uri() -> None:
    number = Number("+14255551234")
    assert (str(number), number.uri) == ("+14255551234", "tel:+14255551234")
    with_ext = Number("+14255551234", "12")
    assert (str(with_ext), with_ext.uri) == ("+14255551234;ext=12", "tel:+14255551234;ext=12")


def test_number_global_kind_and_subscriber_digits() -> None:
    assert Number("+1425").is_global
    assert Number("+1425").subscriber == "1425"
    assert not Number("1425").is_global
    assert Number("1425").subscriber == "1425"


def test_numbers_order_by_length_then_digits_which_is_numeric_order() -> None:
    numbers = [Number("+1000"), Number("+999"), Number("+1001"), Number("+12")]
    assert sorted(numbers, key=order_key) == [
        Number("+12"),
        Number("+999"),
        Number("+1000"),
        Number("+1001"),
    ]


def test_family_separates_global_local_and_each_extension() -> None:
    assert family(Number("+1")) == (True, None)
    assert family(Number("1")) == (False, None)
    assert family(Number("+1", "7")) == (True, "7")
    assert family(Number("+1", "7")) != family(Number("+1", "8"))


# --- Lync's range-bound rule (New-CsUnassignedNumber) --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+14255551234", Number("+14255551234")),
        ("tel:+14255551234", Number("+14255551234")),  # tel: is optional, added when omitted
        ("14255551234", Number("14255551234")),  # + is optional
        ("1", Number("1")),
        ("+" + "9" * 18, Number("+" + "9" * 18)),  # [1-9]\d{0,17}: 18 digits
        ("tel:+14255551234;ext=1", Number("+14255551234", "1")),
        ("+14255551234;ext=1234567890", Number("+14255551234", "1234567890")),  # 10 digits
        ("  tel:+1425  ", Number("+1425")),
    ],
)
def test_range_bound_matching_lyncs_rule_is_accepted(text: str, expected: Number) -> None:
    assert parse_bound(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "+" + "9" * 19,  # 19 digits
        "+04255551234",  # leading 0
        "0",
        "+14255551234;ext=12345678901",  # extension of 11 digits
        "+14255551234;ext=0123",  # extension starting with 0
        "+14255551234;ext=",
        "sip:+14255551234@example.com",
        "tel:+1-425-555-1234",  # no visual separators in a bound
        "++1425",
        "",
        "tel:",
        "1" * (MAX_INPUT + 1),
    ],
)
def test_range_bound_breaking_lyncs_rule_is_refused(text: str) -> None:
    with pytest.raises(InvalidNumber, match=r"start: .*does not match"):
        parse_bound(text, "start")


def test_invalid_number_is_a_validation_error_naming_field_and_rule() -> None:
    with pytest.raises(ValidationError) as info:
        parse_bound("x", "end")
    assert info.value.field == "end"
    assert "1 to 18 digits" in info.value.rule


# --- dialled numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+14255551234", Number("+14255551234")),
        ("0014255551234", Number("0014255551234")),  # leading zeros are kept: strings
        ("+1 (425) 555-1234", Number("+14255551234")),  # RFC 3966 visual separators, spaces
        ("+1.425.555.1234", Number("+14255551234")),
        ("tel:+1-425-555-1234", Number("+14255551234")),
        ("TEL:+14255551234", Number("+14255551234")),
        ("tel:+1-425-555-1234;ext=12", Number("+14255551234", "12")),
        ("tel:+14255551234;EXT=1-2", Number("+14255551234", "12")),
        ("tel:5551234;phone-context=+1425", Number("5551234")),  # other parameters ignored
        ("sip:+14255551234@sbc.example.com;user=phone", Number("+14255551234")),
        ("sips:+14255551234@sbc.example.com", Number("+14255551234")),
        ("SIP:1234@pbx.example.com", Number("1234")),
        ("sip:%2B14255551234@sbc.example.com", Number("+14255551234")),  # RFC 3261 §19.1.2
        ("sip:+14255551234;ext=7@sbc.example.com", Number("+14255551234", "7")),
        ("  +14255551234  ", Number("+14255551234")),
        ("1234;ext=0", Number("1234", "0")),
        ("9" * 32, Number("9" * 32)),
    ],
)
def test_dialled_number_is_read_from_uris_and_typed_strings(text: str, expected: Number) -> None:
    assert parse_dialled(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("x" * (MAX_INPUT + 1), "longer than"),
        ("sip:pbx.example.com", "no user part"),
        ("sip:alice@example.com", "is not a telephone number"),
        ("sip:%zz1234@example.com", "bad %-escape"),
        ("tel:+1234;ext=12a", "extension"),
        ("+1234;ext=", "extension"),
        ("+1234;ext=" + "1" * 17, "extension"),
        ("", "is not a telephone number"),
        ("+", "is not a telephone number"),
        ("9" * 33, "is not a telephone number"),
        ("\u0661\u0662\u0663", "is not a telephone number"),  # Arabic-Indic digits
        ("tel:", "is not a telephone number"),
    ],
)
def test_dialled_string_that_is_not_a_number_is_refused(text: str, rule: str) -> None:
    with pytest.raises(InvalidNumber, match=rule):
        parse_dialled(text)


# --- patterns and translations -------------------------------------------------------------------


def test_pattern_compiles_and_is_matched_against_the_whole_number() -> None:
    pattern = compile_pattern(r"\+1425555\d{4}")
    assert pattern.fullmatch("+14255551234")
    assert not pattern.fullmatch("+142555512345")


def test_pattern_may_carry_anchors_though_they_are_not_needed() -> None:
    assert compile_pattern(r"^\+1900\d{7}$").fullmatch("+19005551234")


@pytest.mark.parametrize(
    ("pattern", "rule"),
    [
        ("", "1 to 512 characters"),
        ("1" * (MAX_INPUT + 1), "1 to 512 characters"),
        (r"(\d+", "not a valid regular expression"),
        (r"\d*", "matches the empty string"),
        (r"^$", "matches the empty string"),
    ],
)
def test_pattern_that_does_not_compile_or_matches_empty_is_refused(pattern: str, rule: str) -> None:
    with pytest.raises(InvalidNumber, match=rule):
        compile_pattern(pattern, "pattern")


def test_translation_groups_become_a_match_template() -> None:
    pattern = compile_pattern(r"(\d{3})(\d{4})")
    template = compile_translation(pattern, "+1425$1$2")
    match = pattern.fullmatch("5551234")
    assert match is not None
    assert match.expand(template) == "+14255551234"


def test_translation_keeps_a_backslash_literal() -> None:
    pattern = compile_pattern(r"(\d+)")
    match = pattern.fullmatch("12")
    assert match is not None
    assert match.expand(compile_translation(pattern, r"a\1$1")) == r"a\112"


@pytest.mark.parametrize(("translation", "rule"), [("+1$2", r"\$2 refers"), ("", "1 to 512")])
def test_translation_naming_a_missing_group_or_empty_is_refused(
    translation: str, rule: str
) -> None:
    with pytest.raises(InvalidNumber, match=rule):
        compile_translation(re.compile(r"(\d+)"), translation)
