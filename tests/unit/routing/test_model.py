"""The configuration objects, validated as Lync validates them (reference §3, §4)."""

import uuid

import pytest

from vacant.errors import InvalidNumber, ValidationError
from vacant.routing.model import (
    LOCALES,
    MAX_NAME,
    MAX_TEXT,
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
    RoutingConfig,
    validate_bounds,
    validate_file_name,
    validate_pool_name,
    validate_target_uri,
)
from vacant.routing.numbers import Number

ANNOUNCEMENT = uuid.UUID("1951f734-c80f-4fb2-965d-51807c792b90")

# --- pools ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pool1.example.com", "POOL-2.Example.com", "default", "1a", "a"])
def test_pool_name_that_is_fqdn_like_is_accepted_lower_case(name: str) -> None:
    assert validate_pool_name(name) == name.lower()


@pytest.mark.parametrize(
    "name",
    ["", "-pool", "pool-", "pool..example", "pool_1", "pool 1", "a" * 64, "a." * 127 + "ab", "p\n"],
)
def test_pool_name_that_is_not_fqdn_like_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=r"pool: .*FQDN-like"):
        validate_pool_name(name)


def test_pool_is_created_with_an_optional_backup_and_description() -> None:
    assert Pool.create("Pool1.example.com", "pool2.example.com", "main") == Pool(
        "pool1.example.com", "pool2.example.com", "main"
    )
    assert Pool.create("pool1").backup is None


def test_pool_cannot_be_its_own_backup() -> None:
    with pytest.raises(ValidationError, match="backup: a pool cannot be its own backup"):
        Pool.create("pool1", "POOL1")


def test_pool_backup_name_follows_the_pool_name_rules() -> None:
    with pytest.raises(ValidationError, match="backup:"):
        Pool.create("pool1", "bad name")


def test_pool_description_is_limited() -> None:
    with pytest.raises(ValidationError, match="description"):
        Pool.create("pool1", description="x" * (MAX_TEXT + 1))


# --- announcement targets and files --------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "sip:kmyer@litwareinc.com",
        "sip:+14255551212@litwareinc.com;user=phone",
        "sip:kmyer@litwareinc.com;opaque=app:voicemail",
        "sips:kmyer@litwareinc.com",
        "sip:operator@[2001:db8::1]",
        "tel:+14255551212",
        "tel:+1-425-555-1212;ext=12",
    ],
)
def test_target_uri_in_a_documented_form_is_accepted(uri: str) -> None:
    assert validate_target_uri(f" {uri} ") == uri


@pytest.mark.parametrize(
    "uri",
    [
        "kmyer@litwareinc.com",
        "sip:litwareinc.com",
        "sip:@litwareinc.com",
        "sip:kmyer@",
        "mailto:kmyer@litwareinc.com",
        "tel:14255551212",  # a tel: target must be global
        "sip:kmyer@litware inc.com",
        "sip:" + "a" * MAX_NAME + "@example.com",
    ],
)
def test_target_uri_in_another_form_is_refused(uri: str) -> None:
    with pytest.raises(ValidationError, match=r"target: .*is not sip:user@domain"):
        validate_target_uri(uri)


@pytest.mark.parametrize("name", ["welcome.wav", "Not in service (fr).wma", "a"])
def test_audio_file_name_without_separators_is_accepted(name: str) -> None:
    assert validate_file_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "a/b.wav", "a\\b.wav", "a\x00.wav", "a" * 256])
def test_audio_file_name_with_separators_or_controls_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="file: must be 1 to 255"):
        validate_file_name(name)


# --- announcements -------------------------------------------------------------------------------


def test_lync_has_26_text_to_speech_locales() -> None:
    assert len(LOCALES) == 26
    assert {"en-US", "fr-FR", "zh-TW", "ca-ES", "nb-NO"} <= LOCALES


@pytest.mark.parametrize("language", sorted(LOCALES))
def test_each_lync_locale_is_accepted_for_text_to_speech(language: str) -> None:
    announcement = Announcement.create("pool1", "Closed", tts_text="Closed", language=language)
    assert announcement.language == language


@pytest.mark.parametrize("language", ["en-us", "en", "xx-XX", "de-AT"])
def test_other_language_is_refused(language: str) -> None:
    with pytest.raises(ValidationError, match=r"language: .*is not one of"):
        Announcement.create("pool1", "Closed", tts_text="Closed", language=language)


def test_language_is_required_with_a_text_to_speech_prompt() -> None:
    with pytest.raises(ValidationError, match="language: is required"):
        Announcement.create("pool1", "Closed", tts_text="We are closed")


@pytest.mark.parametrize("text", ["   ", "x" * (MAX_TEXT + 1)])
def test_text_to_speech_prompt_must_be_1_to_4000_characters(text: str) -> None:
    with pytest.raises(ValidationError, match="tts: must be 1 to 4000"):
        Announcement.create("pool1", "Closed", tts_text=text, language="en-US")


def test_announcement_with_everything_keeps_it_validated() -> None:
    announcement = Announcement.create(
        "Pool1.example.com",
        " Not in service ",
        id=str(ANNOUNCEMENT),
        audio_file="nis.wav",
        tts_text=" Not in service. ",
        language="en-US",
        target="sip:operator@example.com",
    )
    assert announcement == Announcement(
        ANNOUNCEMENT,
        "pool1.example.com",
        "Not in service",
        "nis.wav",
        "Not in service.",
        "en-US",
        "sip:operator@example.com",
    )


def test_announcement_id_is_generated_or_given_as_uuid_or_text() -> None:
    assert Announcement.create("pool1", "A").id != Announcement.create("pool1", "A").id
    assert Announcement.create("pool1", "A", id=ANNOUNCEMENT).id == ANNOUNCEMENT


def test_announcement_id_that_is_not_a_uuid_is_refused() -> None:
    with pytest.raises(ValidationError, match="id: 'nope' is not a UUID"):
        Announcement.create("pool1", "A", id="nope")


@pytest.mark.parametrize("name", ["", "   ", "a\tb", "x" * (MAX_NAME + 1)])
def test_announcement_name_must_be_printable_and_limited(name: str) -> None:
    with pytest.raises(ValidationError, match="name: must be 1 to 256 printable"):
        Announcement.create("pool1", name)


def test_announcement_fields_are_checked_by_their_rules() -> None:
    with pytest.raises(ValidationError, match="pool:"):
        Announcement.create("bad pool", "A")
    with pytest.raises(ValidationError, match="audio-file:"):
        Announcement.create("pool1", "A", audio_file="../x.wav")
    with pytest.raises(ValidationError, match="target:"):
        Announcement.create("pool1", "A", target="operator")


def test_audio_file_and_text_to_speech_together_warn_that_the_audio_file_wins() -> None:
    both = Announcement.create("pool1", "A", audio_file="a.wav", tts_text="a", language="en-US")
    assert both.warnings() == [
        "both an audio file and a text-to-speech prompt are set: the audio file wins"
    ]
    assert Announcement.create("pool1", "A", audio_file="a.wav").warnings() == []


def test_announcement_without_prompt_and_target_is_busy() -> None:
    assert Announcement.create("pool1", "Busy").is_busy
    assert not Announcement.create("pool1", "A", target="sip:op@example.com").is_busy
    assert not Announcement.create("pool1", "A", audio_file="a.wav").is_busy
    assert not Announcement.create("pool1", "A", tts_text="a", language="en-US").is_busy


# --- ranges --------------------------------------------------------------------------------------


def test_numeric_range_to_an_announcement_is_created_with_tel_bounds() -> None:
    rng = NumberRange.create(
        "Redmond",
        start="+14255550000",
        end="tel:+14255559999",
        announcement_id=ANNOUNCEMENT,
        priority=2,
        position=5,
        description="main office",
    )
    assert rng.start == Number("+14255550000")
    assert rng.end == Number("+14255559999")
    assert (rng.start.uri, rng.pattern, rng.sort_key) == ("tel:+14255550000", None, (2, 5))


def test_single_number_range_uses_the_same_start_and_end() -> None:
    rng = NumberRange.create("One", start="+1425", end="+1425", announcement_id=ANNOUNCEMENT)
    assert rng.start == rng.end


def test_pattern_range_to_an_auto_attendant_is_created() -> None:
    rng = NumberRange.create("Premium", pattern=r"\+1900\d{7}", auto_attendant="+14255550100")
    assert (rng.start, rng.end, rng.auto_attendant) == (None, None, Number("+14255550100"))
    assert rng.sort_key == (0, 0)


def test_range_bounds_follow_lyncs_number_rule() -> None:
    with pytest.raises(InvalidNumber, match="start: "):
        NumberRange.create("R", start="+0425", end="+1425", announcement_id=ANNOUNCEMENT)
    with pytest.raises(InvalidNumber, match="end: "):
        NumberRange.create("R", start="+1425", end="+1" + "0" * 18, announcement_id=ANNOUNCEMENT)


def test_range_needs_start_and_end_or_a_pattern() -> None:
    with pytest.raises(ValidationError, match="start: a range needs --start and --end"):
        NumberRange.create("R", start="+1425", announcement_id=ANNOUNCEMENT)
    with pytest.raises(ValidationError, match="start: a range needs"):
        NumberRange.create("R", end="+1425", announcement_id=ANNOUNCEMENT)


@pytest.mark.parametrize(("start", "end"), [("+1", None), (None, "+1"), ("+1", "+2")])
def test_range_has_bounds_or_a_pattern_not_both(start: str | None, end: str | None) -> None:
    with pytest.raises(ValidationError, match="pattern: give either"):
        NumberRange.create("R", start=start, end=end, pattern=r"\d+", announcement_id=ANNOUNCEMENT)


def test_range_pattern_must_compile_and_not_match_empty() -> None:
    with pytest.raises(InvalidNumber, match=r"pattern: .*not a valid regular expression"):
        NumberRange.create("R", pattern="(", announcement_id=ANNOUNCEMENT)
    with pytest.raises(InvalidNumber, match=r"pattern: .*matches the empty string"):
        NumberRange.create("R", pattern=r"\d*", announcement_id=ANNOUNCEMENT)


@pytest.mark.parametrize(
    "target",
    [{}, {"announcement_id": ANNOUNCEMENT, "auto_attendant": "+14255550100"}],
)
def test_range_has_exactly_one_target(target: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="target: give exactly one"):
        NumberRange.create("R", start="+1", end="+2", **target)  # type: ignore[arg-type]


def test_auto_attendant_number_follows_lyncs_number_rule() -> None:
    with pytest.raises(InvalidNumber, match="auto-attendant: "):
        NumberRange.create("R", start="+1", end="+2", auto_attendant="operator")


@pytest.mark.parametrize("priority", [0, 1, 2**31])
def test_priority_zero_or_more_is_accepted(priority: int) -> None:
    rng = NumberRange.create(
        "R", start="+1", end="+2", announcement_id=ANNOUNCEMENT, priority=priority
    )
    assert rng.priority == priority


@pytest.mark.parametrize("priority", [-1, True, 1.5, "1"])
def test_priority_that_is_not_an_integer_of_zero_or_more_is_refused(priority: object) -> None:
    with pytest.raises(ValidationError, match="priority: must be an integer >= 0"):
        NumberRange.create(
            "R",
            start="+1",
            end="+2",
            announcement_id=ANNOUNCEMENT,
            priority=priority,  # type: ignore[arg-type]
        )


def test_range_name_and_description_are_limited() -> None:
    with pytest.raises(ValidationError, match="name: "):
        NumberRange.create(" ", start="+1", end="+2", announcement_id=ANNOUNCEMENT)
    with pytest.raises(ValidationError, match="description: "):
        NumberRange.create(
            "R", start="+1", end="+2", announcement_id=ANNOUNCEMENT, description="x" * 4001
        )


# --- Lync's range rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("+14255550000", "+14255559999"),
        ("+1425", "+1425"),
        ("999", "1000"),  # compared as numbers: different lengths are fine
        ("+100", "+2000"),
        ("+1425;ext=12", "+1426;ext=12"),
    ],
)
def test_range_with_start_not_above_end_is_valid(start: str, end: str) -> None:
    validate_bounds(Number(*start.split(";ext=")), Number(*end.split(";ext=")))


@pytest.mark.parametrize(
    ("start", "end", "rule"),
    [
        ("+1426", "+1425", "less than the start"),
        ("1000", "999", "less than the start"),  # numerically, not as text ("1000" < "999")
        ("+1425;ext=12", "+1426", "identical extension"),
        ("+1425", "+1426;ext=12", "identical extension"),
        ("+1425;ext=12", "+1426;ext=13", "identical extension"),
        ("+1425", "1426", "both begin with \\+"),
        ("1425", "+1426", "both begin with \\+"),
    ],
)
def test_range_breaking_lyncs_range_rules_is_refused(start: str, end: str, rule: str) -> None:
    with pytest.raises(InvalidNumber, match=f"end: .*{rule}"):
        validate_bounds(Number(*start.split(";ext=")), Number(*end.split(";ext=")))


def test_range_create_applies_the_range_rules() -> None:
    with pytest.raises(InvalidNumber, match="less than the start"):
        NumberRange.create("R", start="+2", end="+1", announcement_id=ANNOUNCEMENT)


# --- assigned numbers and normalisation rules ----------------------------------------------------


def test_assigned_number_is_a_lync_number_with_a_target_uri() -> None:
    assigned = AssignedNumber.create("+14255551234", "sip:alice@example.com", " Alice ")
    assert assigned == AssignedNumber(Number("+14255551234"), "sip:alice@example.com", "Alice")


def test_assigned_number_fields_are_checked_by_their_rules() -> None:
    with pytest.raises(InvalidNumber, match="number: "):
        AssignedNumber.create("alice", "sip:alice@example.com")
    with pytest.raises(ValidationError, match="uri: "):
        AssignedNumber.create("+14255551234", "alice")
    with pytest.raises(ValidationError, match="owner: "):
        AssignedNumber.create("+14255551234", "sip:alice@example.com", "x" * (MAX_NAME + 1))


def test_normalisation_rule_is_created_with_its_translation_checked() -> None:
    rule = NormalisationRule.create("4 digits", r"(\d{4})", "+1425555$1", position=3)
    assert rule == NormalisationRule("4 digits", r"(\d{4})", "+1425555$1", 3, "")


def test_normalisation_rule_fields_are_checked_by_their_rules() -> None:
    with pytest.raises(InvalidNumber, match="translation: \\$2 refers"):
        NormalisationRule.create("R", r"(\d{4})", "+1$2")
    with pytest.raises(InvalidNumber, match="pattern: "):
        NormalisationRule.create("R", "", "+1")
    with pytest.raises(ValidationError, match="description: "):
        NormalisationRule.create("R", r"\d", "1", description="x" * (MAX_TEXT + 1))


def test_routing_config_is_empty_by_default() -> None:
    assert RoutingConfig() == RoutingConfig([], [], [], [], 0)
