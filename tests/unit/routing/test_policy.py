"""The routing decision: normalise, assigned numbers first, then the best range (reference §2)."""

import dataclasses
import re
import uuid
from typing import assert_never

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.routing.objects import range_objects, reachable
from vacant import routing
from vacant.errors import InvalidNumber
from vacant.routing.model import (
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    RoutingConfig,
)
from vacant.routing.numbers import Number, parse_dialled
from vacant.routing.policy import (
    AnnouncementDecision,
    Assigned,
    AutoAttendant,
    Busy,
    BusyTarget,
    Decision,
    NotFound,
    Snapshot,
    decision_to_json,
)

POOL = "pool1.example.com"
TTS = Announcement.create(
    POOL,
    "Not in service",
    tts_text="The number you dialled is not in service.",
    language="en-US",
    target="sip:operator@example.com",
)
AUDIO = Announcement.create("pool2.example.com", "Moved", audio_file="moved.wav")
BOTH = Announcement.create(POOL, "Both", audio_file="b.wav", tts_text="b", language="fr-FR")
TRANSFER = Announcement.create(POOL, "Transfer", target="sip:+14255550000@example.com;user=phone")
SILENT = Announcement.create(POOL, "Silent")  # no prompt, no target: busy
REMOVED = uuid.UUID("00000000-0000-4000-8000-00000000dead")


def rng(name: str, start: str, end: str | None = None, **kwargs: object) -> NumberRange:
    return NumberRange.create(name, start=start, end=end or start, **kwargs)  # type: ignore[arg-type]


def config(
    *ranges: NumberRange,
    assigned: tuple[AssignedNumber, ...] = (),
    rules: tuple[NormalisationRule, ...] = (),
) -> RoutingConfig:
    return RoutingConfig(
        list(ranges), [TTS, AUDIO, BOTH, TRANSFER, SILENT], list(assigned), list(rules), 42
    )


REDMOND = rng("Redmond", "+14255550000", "+14255559999", announcement_id=TTS.id, priority=2)
SALES = rng("Sales", "+14255551000", "+14255551999", announcement_id=AUDIO.id, priority=1)
ALICE = AssignedNumber.create("+14255551234", "sip:alice@example.com", "Alice")
FOUR_DIGITS = NormalisationRule.create("4 digits", r"(\d{4})", "+1425555$1", position=1)
INTERNATIONAL = NormalisationRule.create("00", r"00(\d+)", "+$1", position=0)


def kind(decision: Decision) -> str:
    """Callers match decisions exhaustively, as the service does."""
    match decision:
        case Assigned():
            return "assigned"
        case AnnouncementDecision():
            return "announcement"
        case AutoAttendant():
            return "auto-attendant"
        case Busy():
            return "busy"
        case NotFound():
            return "not-found"
        case _:
            assert_never(decision)


# --- decisions -----------------------------------------------------------------------------------


def test_number_in_a_range_gets_its_announcement_and_pool() -> None:
    decision = Snapshot.build(config(REDMOND)).decide("+14255554321")
    assert decision == AnnouncementDecision(
        Number("+14255554321"), Number("+14255554321"), "Redmond", (), TTS
    )
    assert isinstance(decision, AnnouncementDecision)
    assert decision.pool == POOL
    assert (kind(decision), decision.kind) == ("announcement", "announcement")


def test_overlapping_ranges_lowest_priority_value_wins() -> None:
    snapshot = Snapshot.build(config(REDMOND, SALES))
    assert snapshot.decide("+14255551500").range == "Sales"
    assert snapshot.decide("+14255552500").range == "Redmond"


def test_assigned_number_always_wins_over_ranges() -> None:
    decision = Snapshot.build(config(REDMOND, SALES, assigned=(ALICE,))).decide("+14255551234")
    assert decision == Assigned(
        Number("+14255551234"), Number("+14255551234"), None, (), "sip:alice@example.com"
    )


def test_assigned_number_with_an_extension_matches_only_that_extension() -> None:
    bob = AssignedNumber.create("+14255551234;ext=7", "sip:bob@example.com")
    snapshot = Snapshot.build(config(REDMOND, assigned=(bob,)))
    assert kind(snapshot.decide("tel:+14255551234;ext=7")) == "assigned"
    assert kind(snapshot.decide("tel:+14255551234;ext=8")) == "not-found"
    assert kind(snapshot.decide("+14255551234")) == "announcement"


def test_first_of_duplicate_assigned_numbers_is_kept() -> None:
    other = AssignedNumber.create("+14255551234", "sip:other@example.com")
    snapshot = Snapshot.build(config(assigned=(ALICE, other)))
    assert snapshot.decide("+14255551234") == Assigned(
        Number("+14255551234"), Number("+14255551234"), None, (), "sip:alice@example.com"
    )


def test_number_in_no_range_is_not_found() -> None:
    decision = Snapshot.build(config(REDMOND)).decide("+14265550000")
    assert decision == NotFound(Number("+14265550000"), Number("+14265550000"), None, ())


def test_auto_attendant_range_sends_the_call_to_its_number() -> None:
    aa = rng("AA", "+14255552000", "+14255552099", auto_attendant="+14255550100")
    decision = Snapshot.build(config(REDMOND, aa)).decide("+14255552050")
    assert decision == AutoAttendant(
        Number("+14255552050"), Number("+14255552050"), "AA", (), Number("+14255550100")
    )


def test_removed_announcement_leaves_the_range_busy_as_lync_does() -> None:
    gone = rng("Gone", "+14255553000", "+14255553099", announcement_id=REMOVED)
    decision = Snapshot.build(config(gone)).decide("+14255553050")
    assert decision == Busy(
        Number("+14255553050"), Number("+14255553050"), "Gone", (), REMOVED, None
    )


def test_announcement_without_prompt_and_target_is_busy() -> None:
    quiet = rng("Quiet", "+14255553000", "+14255553099", announcement_id=SILENT.id)
    decision = Snapshot.build(config(quiet)).decide("+14255553050")
    assert decision == Busy(
        Number("+14255553050"), Number("+14255553050"), "Quiet", (), SILENT.id, SILENT
    )


def test_ranges_sharing_a_removed_announcement_share_its_busy_target() -> None:
    one = rng("One", "+1", announcement_id=REMOVED)
    two = rng("Two", "+2", announcement_id=REMOVED)
    snapshot = Snapshot.build(config(one, two))
    assert snapshot.targets[0] is snapshot.targets[1]
    assert snapshot.targets[0] == BusyTarget(REMOVED, None)


def test_ranges_sending_calls_to_one_auto_attendant_share_its_number() -> None:
    one = rng("One", "+1", auto_attendant="+14255550100;ext=77")
    two = rng("Two", "+2", auto_attendant="+14255550100;ext=77")
    other = rng("Other", "+3", auto_attendant="+14255550199")
    snapshot = Snapshot.build(config(one, two, other))
    assert snapshot.targets[0] is snapshot.targets[1]
    assert snapshot.targets[0] == Number("+14255550100", "77")
    assert snapshot.targets[2] == Number("+14255550199")


def test_snapshot_keeps_the_configuration_version() -> None:
    assert Snapshot.build(config()).version == 42


# --- the snapshot is self-contained --------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_snapshot_keeps_no_object_of_the_configuration_ranges(count: int) -> None:
    """The server drops the configuration once the snapshot is built: the snapshot must not keep
    its range objects (a million of them are 400 MB) nor anything they hold alive."""
    aa = rng("AA", "+14255552000", "+14255552099", auto_attendant="+14255550100;ext=77")
    gone = rng("Gone", "+14255553000", "+14255553099", announcement_id=uuid.UUID(int=7))
    ext = rng("Ext", "+14255551000;ext=4321", "+14255551999;ext=4321", announcement_id=TTS.id)
    premium = NumberRange.create("Premium", pattern=r"\+1900\d{7}", announcement_id=AUDIO.id)
    ranges = [aa, REDMOND, SALES, gone, ext, premium][:count]
    built = config(*ranges, rules=(FOUR_DIGITS,))
    snapshot = Snapshot.build(built)
    kept = [obj for obj in reachable(snapshot) if id(obj) in range_objects(built)]
    assert kept == []


def test_each_range_is_rebuilt_from_the_columns_without_its_description() -> None:
    aa = rng("AA", "+14255552000", "+14255552099", auto_attendant="+14255550100", priority=3)
    gone = rng("Gone", "100", "20000", announcement_id=REMOVED, description="old")
    ext = rng("Ext", "+1425;ext=12", "+1430;ext=12", announcement_id=SILENT.id, priority=7)
    premium = NumberRange.create(
        "Premium", pattern=r"\+1900\d{7}", announcement_id=AUDIO.id, position=4
    )
    ranges = [REDMOND, aa, gone, ext, premium]
    snapshot = Snapshot.build(config(*ranges))
    assert snapshot.range_count == 5
    assert [snapshot.name(i) for i in range(5)] == ["Redmond", "AA", "Gone", "Ext", "Premium"]
    assert [snapshot.range(i) for i in range(5)] == [
        dataclasses.replace(r, description="") for r in ranges
    ]


def test_names_of_any_length_and_script_are_kept_whole() -> None:
    names = ["R", "Rédmond", "東京 " * 80, "x"]
    ranges = [
        rng(name.strip(), f"+{i + 1}", announcement_id=TTS.id) for i, name in enumerate(names)
    ]
    snapshot = Snapshot.build(config(*ranges))
    assert [snapshot.decide(f"+{i + 1}").range for i in range(4)] == [n.strip() for n in names]


def test_priorities_and_positions_beyond_32_bits_still_order_the_ranges() -> None:
    big = rng("Big", "+1000", "+1999", announcement_id=TTS.id, priority=2**40, position=2**35)
    bigger = rng("Bigger", "+1000", "+1999", announcement_id=TTS.id, priority=2**40 + 1)
    premium = NumberRange.create(
        "Premium", pattern=r"\+1\d{3}", announcement_id=AUDIO.id, priority=2**40, position=2**36
    )
    snapshot = Snapshot.build(config(bigger, big, premium))
    assert snapshot.decide("+1500").range == "Big"
    assert snapshot.range(1).priority == 2**40
    assert snapshot.order_of(2) == (2**40, 2**36, 2)


# --- reading and normalising the dialled number --------------------------------------------------


@pytest.mark.parametrize(
    "dialled",
    [
        "+14255554321",
        Number("+14255554321"),
        "tel:+1-425-555-4321",
        "sip:+14255554321@sbc.example.com;user=phone",
        " +1 (425) 555-4321 ",
    ],
)
def test_dialled_number_is_read_from_any_accepted_form(dialled: str | Number) -> None:
    decision = Snapshot.build(config(REDMOND)).decide(dialled)
    assert decision.number == Number("+14255554321")
    assert decision.range == "Redmond"


@pytest.mark.parametrize("dialled", ["alice", "sip:alice@example.com", "+", "1" * 33, "\u0661"])
def test_dialled_string_that_is_not_a_number_raises_invalid_number(dialled: str) -> None:
    with pytest.raises(InvalidNumber):
        Snapshot.build(config(REDMOND)).decide(dialled)


@given(st.from_regex(r"\+?[0-9]{1,32}", fullmatch=True))
def test_canonical_fast_path_reads_as_parse_dialled_does(text: str) -> None:
    number = Snapshot.build(config()).decide(text).number
    assert number == parse_dialled(text)
    assert hash(number) == hash(parse_dialled(text))
    assert (number.digits, number.ext) == (text, None)


def test_first_normalisation_rule_by_position_rewrites_the_number() -> None:
    snapshot = Snapshot.build(config(REDMOND, rules=(FOUR_DIGITS, INTERNATIONAL)))
    decision = snapshot.decide("4321")
    assert (decision.number, decision.normalised) == (Number("4321"), Number("+14255554321"))
    assert decision.range == "Redmond"
    # "0014255554321" matches only the international rule; "0014" would match both, and the
    # rule at position 0 is applied.
    assert snapshot.decide("0014255554321").normalised == Number("+14255554321")
    assert snapshot.decide("0014").normalised == Number("+14")


@pytest.mark.parametrize("rules", [(FOUR_DIGITS,), (FOUR_DIGITS, INTERNATIONAL)])
def test_number_no_rule_matches_is_used_as_dialled(rules: tuple[NormalisationRule, ...]) -> None:
    snapshot = Snapshot.build(config(REDMOND, rules=rules))
    assert snapshot.decide("+14255554321").normalised == Number("+14255554321")


def test_normalisation_applies_to_the_number_with_its_extension() -> None:
    rule = NormalisationRule.create("ext", r"\+1(\d{10});ext=(\d+)", "+1$1;ext=$2", position=0)
    snapshot = Snapshot.build(config(rules=(rule, FOUR_DIGITS)))
    assert snapshot.decide("+14255551234;ext=5").normalised == Number("+14255551234", "5")


def test_rule_whose_result_is_not_a_number_raises_invalid_number_naming_it() -> None:
    broken = NormalisationRule.create("broken", r"(\d{4})", "x$1")
    snapshot = Snapshot.build(config(rules=(broken,)))
    with pytest.raises(
        InvalidNumber, match="normalisation rule 'broken' rewrote '1234' to 'x1234'"
    ):
        snapshot.decide("1234")


@pytest.mark.parametrize(
    ("patterns", "combined"),
    [
        ([r"(\d{4})", r"00(\d+)"], True),
        ([r"(\d{4})"], False),  # one rule: nothing to combine
        ([r"(\d)\1", r"00(\d+)"], False),  # a back-reference would be renumbered
        ([r"(\d)(?(1)\d|x)", r"00(\d+)"], False),  # so would a conditional
        ([r"\d{4}", r"(?i)00\d+"], False),  # a global flag in the middle does not compile
    ],
)
def test_rules_are_prefiltered_by_one_alternation_only_when_it_is_equivalent(
    patterns: list[str], combined: bool
) -> None:
    rules = tuple(
        NormalisationRule.create(f"r{i}", p, "+1$1" if re.compile(p).groups else "+1", position=i)
        for i, p in enumerate(patterns)
    )
    assert (Snapshot.build(config(rules=rules)).any_rule is not None) is combined


def test_back_reference_rule_still_applies_without_the_prefilter() -> None:
    rules = (
        NormalisationRule.create("double", r"(\d)\1(\d+)", "+1425$2", position=0),
        NormalisationRule.create("00", r"00(\d+)", "+$1", position=1),
    )
    snapshot = Snapshot.build(config(rules=rules))
    assert snapshot.decide("335550000").normalised == Number("+14255550000")
    assert snapshot.decide("345550000").normalised == Number("345550000")


# --- pattern ranges ------------------------------------------------------------------------------


def test_pattern_ranges_that_cannot_be_combined_are_still_tried_one_by_one() -> None:
    double = NumberRange.create("Double", pattern=r"\+(\d)\1\d+", announcement_id=AUDIO.id)
    premium = NumberRange.create("Premium", pattern=r"\+1900\d+", announcement_id=TTS.id)
    snapshot = Snapshot.build(config(double, premium, REDMOND))
    assert snapshot.patterns.any is None
    assert snapshot.decide("+1190").range == "Double"
    assert snapshot.decide("+19001").range == "Premium"
    assert snapshot.decide("+14255554321").range == "Redmond"
    assert snapshot.decide("+1234").range is None


def test_pattern_range_matches_the_whole_number() -> None:
    premium = NumberRange.create("Premium", pattern=r"\+1900\d{7}", announcement_id=AUDIO.id)
    snapshot = Snapshot.build(config(premium))
    assert snapshot.decide("+19005551234").range == "Premium"
    assert kind(snapshot.decide("+190055512345")) == "not-found"


def test_pattern_range_before_the_numeric_winner_wins() -> None:
    premium = NumberRange.create(
        "Premium", pattern=r"\+1425555\d{4}", announcement_id=AUDIO.id, priority=0, position=9
    )
    snapshot = Snapshot.build(config(REDMOND, premium))
    assert snapshot.decide("+14255554321").range == "Premium"


def test_pattern_range_after_the_numeric_winner_is_shadowed() -> None:
    catch_all = NumberRange.create(
        "Catch-all", pattern=r"\+1\d+", announcement_id=AUDIO.id, priority=3
    )
    snapshot = Snapshot.build(config(REDMOND, catch_all))
    assert snapshot.decide("+14255554321").range == "Redmond"
    assert snapshot.decide("+14265554321").range == "Catch-all"


def test_pattern_before_the_winner_that_does_not_match_leaves_the_winner() -> None:
    premium = NumberRange.create("Premium", pattern=r"\+1900\d{7}", announcement_id=AUDIO.id)
    snapshot = Snapshot.build(config(REDMOND, premium))
    assert snapshot.decide("+14255554321").range == "Redmond"


def test_pattern_and_numeric_range_with_equal_keys_go_to_the_one_listed_first() -> None:
    numeric = rng("Numeric", "+1425", announcement_id=AUDIO.id, priority=1, position=1)
    pattern = NumberRange.create(
        "Pattern", pattern=r"\+1425", announcement_id=AUDIO.id, priority=1, position=1
    )
    assert Snapshot.build(config(numeric, pattern)).decide("+1425").range == "Numeric"
    assert Snapshot.build(config(pattern, numeric)).decide("+1425").range == "Pattern"


# --- explanations --------------------------------------------------------------------------------


def explain(snapshot: Snapshot, dialled: str | Number) -> list[str]:
    return list(snapshot.decide(dialled, explain=True).explanation)


def test_explanation_is_empty_unless_asked_for() -> None:
    assert Snapshot.build(config(REDMOND)).decide("+14255554321").explanation == ()


def test_explanation_says_how_the_number_was_read_and_normalised() -> None:
    snapshot = Snapshot.build(config(REDMOND, rules=(FOUR_DIGITS,)))
    lines = explain(snapshot, "tel:4321")
    assert lines[0] == "dialled 'tel:4321', read as 4321"
    assert lines[1].startswith("normalisation rule '4 digits' (position 1, pattern '(\\\\d{4})'")
    assert lines[1].endswith("rewrote 4321 to +14255554321")
    assert explain(snapshot, Number("+14255554321"))[:2] == [
        "dialled number: +14255554321",
        "no normalisation rule matched +14255554321 (of 1): it is used as dialled",
    ]
    assert explain(Snapshot.build(config()), "1234")[:2] == [
        "dialled number: 1234",
        "no normalisation rules are configured: the number is used as dialled",
    ]


def test_explanation_of_an_assigned_number_names_the_ranges_it_overrides() -> None:
    snapshot = Snapshot.build(config(REDMOND, SALES, assigned=(ALICE,)))
    assert explain(snapshot, "+14255551234")[2:] == [
        "+14255551234 is assigned to sip:alice@example.com (owner 'Alice'): an assigned number"
        " always wins over the unassigned number table",
        "not used, because the number is assigned: 'Sales' (+14255551000..+14255551999),"
        " 'Redmond' (+14255550000..+14255559999)",
        "the call is redirected to sip:alice@example.com",
    ]


def test_explanation_of_an_assigned_number_outside_ranges_has_no_override_line() -> None:
    anon = AssignedNumber.create("+14265551234", "sip:x@example.com")
    assert explain(Snapshot.build(config(REDMOND, assigned=(anon,))), "+14265551234")[2:] == [
        "+14265551234 is assigned to sip:x@example.com: an assigned number always wins over the"
        " unassigned number table",
        "the call is redirected to sip:x@example.com",
    ]


def test_explanation_says_which_range_won_and_why_the_others_were_shadowed() -> None:
    twin = rng("Twin", "+14255551000", "+14255551999", announcement_id=AUDIO.id, priority=1)
    later = dataclasses.replace(SALES, name="Later", position=3)
    catch_all = NumberRange.create(
        "Catch-all", pattern=r"\+1\d+", announcement_id=TTS.id, priority=9
    )
    snapshot = Snapshot.build(config(REDMOND, SALES, twin, later, catch_all))
    assert explain(snapshot, "+14255551500")[2:] == [
        "+14255551500 is not an assigned number",
        "range 'Sales' (+14255551000..+14255551999) matches, with priority 1 and position 0:"
        " the lowest (priority, position) of the 5 ranges that do wins",
        "range 'Twin' (+14255551000..+14255551999) also matches but is shadowed: same priority 1"
        " and position 0, listed later",
        "range 'Later' (+14255551000..+14255551999) also matches but is shadowed: same priority"
        " 1, created later (position 3 > 0)",
        "range 'Redmond' (+14255550000..+14255559999) also matches but is shadowed: priority 2 >"
        " 1 (the lowest value wins)",
        "range 'Catch-all' (pattern '\\\\+1\\\\d+') also matches but is shadowed: priority 9 > 1"
        " (the lowest value wins)",
        "the caller hears the audio file 'moved.wav' of announcement 'Moved' (pool"
        " pool2.example.com), then the call is disconnected",
    ]


def test_explanation_of_the_only_matching_range() -> None:
    lines = explain(Snapshot.build(config(REDMOND)), "+14255554321")
    assert lines[3] == (
        "range 'Redmond' (+14255550000..+14255559999) matches, with priority 2 and position 0:"
        " the only range that does"
    )
    assert lines[4] == (
        "the caller hears the text-to-speech prompt of announcement 'Not in service' (pool"
        " pool1.example.com) in en-US: 'The number you dialled is not in service.', then the call"
        " is transferred to sip:operator@example.com"
    )


@pytest.mark.parametrize(
    ("announcement", "experience"),
    [
        (
            BOTH,
            "the caller hears the audio file 'b.wav' of announcement 'Both' (pool"
            " pool1.example.com), not its text-to-speech prompt (the audio file wins), then the"
            " call is disconnected",
        ),
        (
            TRANSFER,
            "announcement 'Transfer' (pool pool1.example.com) has no prompt: nothing is played,"
            " then the call is transferred to sip:+14255550000@example.com;user=phone",
        ),
        (
            SILENT,
            "announcement 'Silent' (pool pool1.example.com) has no prompt and no target: the"
            " caller hears a busy signal",
        ),
    ],
)
def test_explanation_says_what_the_caller_experiences(
    announcement: Announcement, experience: str
) -> None:
    ranged = rng("R", "+1425", announcement_id=announcement.id)
    assert explain(Snapshot.build(config(ranged)), "+1425")[-1] == experience


def test_explanation_of_a_removed_announcement() -> None:
    gone = rng("Gone", "+1425", announcement_id=REMOVED)
    assert explain(Snapshot.build(config(gone)), "+1425")[-1] == (
        f"the range's announcement {REMOVED} no longer exists (it was removed): the caller hears"
        " a busy signal"
    )


def test_explanation_of_an_auto_attendant() -> None:
    aa = rng("AA", "+1425", auto_attendant="+14255550100")
    assert explain(Snapshot.build(config(aa)), "+1425")[-1] == (
        "the call is transferred to the Exchange UM auto-attendant +14255550100 (tel:+14255550100)"
    )


def test_explanation_of_a_number_in_no_range() -> None:
    snapshot = Snapshot.build(config(REDMOND))
    assert explain(snapshot, "+14265554321")[3:] == [
        "no range covers +14265554321",
        "nothing handles the number: the call is refused as not found (404)",
    ]
    assert explain(snapshot, "014255554321")[3] == (
        "no range covers 014255554321 (a number with a leading 0 is in no numeric range: no bound"
        " starts with 0)"
    )


# --- JSON ----------------------------------------------------------------------------------------

JSON_KEYS = {
    "number",
    "normalised",
    "decision",
    "range",
    "pool",
    "announcement",
    "target",
    "explanation",
}


def test_json_of_each_decision_has_exactly_the_documented_keys() -> None:
    aa = rng("AA", "+14255552000", auto_attendant="+14255550100", priority=0)
    gone = rng("Gone", "+14255553000", announcement_id=REMOVED, priority=0)
    quiet = rng("Quiet", "+14255553001", announcement_id=SILENT.id, priority=0)
    snapshot = Snapshot.build(config(REDMOND, aa, gone, quiet, assigned=(ALICE,)))
    cases = {
        "+14255551234": ("assigned", None, None, None, "sip:alice@example.com"),
        "+14255554321": ("announcement", "Redmond", POOL, "Not in service", TTS.target),
        "+14255552000": ("auto-attendant", "AA", None, None, "tel:+14255550100"),
        "+14255553000": ("busy", "Gone", None, None, None),
        "+14255553001": ("busy", "Quiet", POOL, "Silent", None),
        "+14265554321": ("not-found", None, None, None, None),
    }
    for dialled, (decision, name, pool, announcement, target) in cases.items():
        data = decision_to_json(snapshot.decide(dialled))
        assert set(data) == JSON_KEYS
        assert data == {
            "number": dialled,
            "normalised": dialled,
            "decision": decision,
            "range": name,
            "pool": pool,
            "announcement": announcement,
            "target": target,
            "explanation": [],
        }


def test_json_prints_numbers_with_their_extension_and_the_explanation() -> None:
    data = decision_to_json(
        Snapshot.build(config(rules=(FOUR_DIGITS,))).decide("tel:+1425;ext=12", explain=True)
    )
    assert (data["number"], data["normalised"]) == ("+1425;ext=12", "+1425;ext=12")
    assert isinstance(data["explanation"], list)
    assert data["explanation"][-1] == (
        "nothing handles the number: the call is refused as not found (404)"
    )


# --- decisions are values ------------------------------------------------------------------------


def test_decision_is_frozen_comparable_and_hashable() -> None:
    decision = Snapshot.build(config(REDMOND)).decide("+14255554321")
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.range = "other"  # type: ignore[misc]
    same = Snapshot.build(config(REDMOND)).decide("+14255554321")
    assert decision == same
    assert hash(decision) == hash(same)
    assert "range='Redmond'" in repr(decision)
    assert dataclasses.replace(decision, explanation=("x",)).explanation == ("x",)


def test_decisions_are_built_through_their_init_like_any_dataclass() -> None:
    number = Number("+1")
    values: list[Decision] = [
        Assigned(number, number, None, ("a",), "sip:a@example.com"),
        AnnouncementDecision(number, number, "R", (), TTS),
        AutoAttendant(number, number, "R", (), number),
        Busy(number, number, "R", (), REMOVED, None),
        NotFound(number, number, None, ()),
    ]
    for value in values:
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        assert type(value)(**fields) == value
        assert value.__match_args__ == tuple(fields)
    assert [kind(value) for value in values] == [
        "assigned",
        "announcement",
        "auto-attendant",
        "busy",
        "not-found",
    ]


def test_package_exports_the_routing_api() -> None:
    assert routing.Snapshot is Snapshot
    assert routing.decision_to_json is decision_to_json
    assert set(routing.__all__) >= {"Snapshot", "Decision", "RangeTable", "parse_dialled"}


# --- property: decide agrees with a brute-force oracle -------------------------------------------


@st.composite
def routing_configs(draw: st.DrawFn) -> RoutingConfig:
    ranges = []
    for i in range(draw(st.integers(0, 12))):
        priority, position = draw(st.integers(0, 3)), draw(st.integers(0, 12))
        if draw(st.booleans()):
            prefix = draw(st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True))
            ranges.append(
                NumberRange.create(
                    f"p{i}",
                    pattern=rf"\+{prefix}\d{{0,3}}",
                    announcement_id=TTS.id,
                    priority=priority,
                    position=position,
                )
            )
        else:
            low = draw(st.integers(1, 5000))
            high = low + draw(st.integers(0, 3000))
            ranges.append(
                rng(
                    f"n{i}",
                    f"+{low}",
                    f"+{high}",
                    announcement_id=TTS.id,
                    priority=priority,
                    position=position,
                )
            )
    assigned = [
        AssignedNumber.create(f"+{n}", "sip:a@example.com")
        for n in draw(st.lists(st.integers(1, 9000), max_size=3))
    ]
    return RoutingConfig(ranges, [TTS], assigned)


def expected_range(config: RoutingConfig, number: Number) -> str | None:
    if any(a.number == number for a in config.assigned):
        return None
    found = []
    for i, r in enumerate(config.ranges):
        if r.pattern is not None:
            matches = re.fullmatch(r.pattern, str(number)) is not None
        else:
            assert r.start is not None
            assert r.end is not None
            value = int(number.subscriber)
            matches = int(r.start.subscriber) <= value <= int(r.end.subscriber)
        if matches:
            found.append((r.priority, r.position, i, r.name))
    return min(found)[3] if found else None


@settings(max_examples=150, deadline=None)
@given(routing_configs(), st.lists(st.integers(1, 9999), min_size=1, max_size=15))
def test_decide_agrees_with_the_brute_force_oracle(
    config: RoutingConfig, values: list[int]
) -> None:
    snapshot = Snapshot.build(config)
    for i, r in enumerate(config.ranges):
        assert snapshot.range(i) == dataclasses.replace(r, description="")
    for value in values:
        number = Number(f"+{value}")
        decision = snapshot.decide(number, explain=value % 2 == 0)
        assert decision.range == expected_range(config, number)
        if decision.range is None:
            assert kind(decision) in {"assigned", "not-found"}
