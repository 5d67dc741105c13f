"""The announcement options beyond Lync (issue 4): repeat, early media, redirect without answer,
the Special Information Tone. Each is validated in ``Announcement.create``, naming the field."""

from __future__ import annotations

import pytest

from vacant.errors import ValidationError
from vacant.routing.model import MAX_REPEAT, Announcement


def test_options_default_to_lyncs_behaviour() -> None:
    ann = Announcement.create("pool1", "A")
    assert (ann.repeat, ann.early_media, ann.early_status) == (1, False, 404)
    assert (ann.redirect_without_answer, ann.sit) == (False, False)


def test_options_are_kept_when_valid() -> None:
    ann = Announcement.create(
        "pool1",
        "A",
        tts_text="Gone",
        language="en-US",
        repeat=3,
        early_media=True,
        early_status=410,
        redirect_without_answer=True,
        sit=True,
    )
    assert (ann.repeat, ann.early_media, ann.early_status) == (3, True, 410)
    assert (ann.redirect_without_answer, ann.sit) == (True, True)


@pytest.mark.parametrize("repeat", [1, 2, MAX_REPEAT])
def test_repeat_from_1_to_100_is_accepted(repeat: int) -> None:
    assert Announcement.create("pool1", "A", repeat=repeat).repeat == repeat


@pytest.mark.parametrize("repeat", [0, -1, MAX_REPEAT + 1, True, "2", 1.5])
def test_repeat_outside_1_to_100_or_not_an_integer_is_refused(repeat: object) -> None:
    with pytest.raises(ValidationError, match="repeat: must be an integer from 1 to 100"):
        Announcement.create("pool1", "A", repeat=repeat)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [400, 404, 480, 503, 603, 699])
def test_early_status_4xx_5xx_6xx_is_accepted(status: int) -> None:
    assert Announcement.create("pool1", "A", early_status=status).early_status == status


@pytest.mark.parametrize("status", [100, 183, 200, 302, 399, 700, False, "404"])
def test_early_status_that_is_not_a_final_failure_is_refused(status: object) -> None:
    """The early-media call ends without an answer: only a 4xx-6xx final response fits."""
    with pytest.raises(ValidationError, match="early-status: must be an integer from 400 to 699"):
        Announcement.create("pool1", "A", early_status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "keyword"),
    [
        ("early-media", "early_media"),
        ("redirect-without-answer", "redirect_without_answer"),
        ("sit", "sit"),
    ],
)
def test_flags_must_be_booleans(field: str, keyword: str) -> None:
    with pytest.raises(ValidationError, match=f"{field}: must be true or false"):
        Announcement.create("pool1", "A", **{keyword: 1})  # type: ignore[arg-type]


def test_early_media_without_a_prompt_warns() -> None:
    ann = Announcement.create("pool1", "A", early_media=True, target="sip:op@example.com")
    assert ann.warnings() == [
        "early media is set but there is no prompt: callers get the final response"
    ]
    with_prompt = Announcement.create("pool1", "A", early_media=True, audio_file="a.wav")
    assert with_prompt.warnings() == []
