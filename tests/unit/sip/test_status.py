"""Status codes and reason phrases (RFC 3261 §21 and the extension RFCs)."""

import pytest

from vacant.sip import StatusCode, reason_phrase


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (100, "Trying"),
        (180, "Ringing"),
        (183, "Session Progress"),
        (200, "OK"),
        (302, "Moved Temporarily"),
        (404, "Not Found"),
        (405, "Method Not Allowed"),
        (406, "Not Acceptable"),
        (415, "Unsupported Media Type"),
        (416, "Unsupported URI Scheme"),
        (420, "Bad Extension"),
        (481, "Call/Transaction Does Not Exist"),
        (483, "Too Many Hops"),
        (485, "Ambiguous"),
        (486, "Busy Here"),
        (488, "Not Acceptable Here"),
        (500, "Server Internal Error"),
        (501, "Not Implemented"),
        (504, "Server Time-out"),
        (505, "Version Not Supported"),
        (513, "Message Too Large"),
        (603, "Decline"),
        (604, "Does Not Exist Anywhere"),
        (606, "Not Acceptable"),
    ],
)
def test_reason_phrase_is_the_rfc_3261_one(code: int, phrase: str) -> None:
    # §21: the phrases as the RFC spells them.
    assert reason_phrase(code) == phrase
    assert StatusCode(code).phrase == phrase


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (198, "Provisional"),
        (299, "Successful"),
        (399, "Redirection"),
        (499, "Request Failure"),
        (599, "Server Failure"),
        (699, "Global Failure"),
    ],
)
def test_unlisted_code_takes_its_class_phrase(code: int, phrase: str) -> None:
    # §8.1.3.2: an unrecognised code is treated as the x00 of its class.
    assert reason_phrase(code) == phrase


@pytest.mark.parametrize("code", [99, 700, 0, -1])
def test_reason_phrase_refuses_codes_outside_100_to_699(code: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        reason_phrase(code)


def test_every_member_has_a_phrase_and_a_class() -> None:
    for member in StatusCode:
        assert member.phrase
        assert 100 <= member <= 699
        assert member.is_provisional is (member < 200)
        assert member.is_final is (member >= 200)
        assert member.is_success is (200 <= member < 300)
