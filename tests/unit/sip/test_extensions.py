"""Extension fields: Session-Expires and Min-SE (RFC 4028 §4, §5), option tags (RFC 3261
§20.37), Event (RFC 6665 §8.2.1), Subscription-State (RFC 6665 §8.2.3), sipfrag (RFC 3420 §2)."""

from __future__ import annotations

import pytest

from vacant.errors import ParseError
from vacant.sip.extensions import (
    EventHeader,
    SessionExpires,
    option_tags,
    parse_min_se,
    sipfrag_status,
    subscription_state,
)
from vacant.sip.message import Request, parse_message


@pytest.mark.parametrize(
    ("text", "interval", "refresher", "rendered"),
    [
        ("1800", 1800, None, "1800"),
        (" 90 ;refresher=uac", 90, "uac", "90;refresher=uac"),
        ("120;Refresher=UAS;x=1", 120, "uas", "120;refresher=uas"),
        ("300;other", 300, None, "300"),
    ],
)
def test_session_expires_rfc4028_s4(
    text: str, interval: int, refresher: str | None, rendered: str
) -> None:
    value = SessionExpires.parse(text)
    assert (value.interval, value.refresher) == (interval, refresher)
    assert str(value) == rendered


@pytest.mark.parametrize("text", ["", "soon", "-1", "12345678901", "90;refresher=both", "٣٤"])
def test_session_expires_outside_the_grammar_is_a_parse_error_rfc4028_s4(text: str) -> None:
    with pytest.raises(ParseError, match="Session-Expires"):
        SessionExpires.parse(text)


def test_min_se_ignores_its_parameters_rfc4028_s5() -> None:
    assert parse_min_se("90") == 90
    assert parse_min_se(" 120 ;x=y") == 120
    with pytest.raises(ParseError, match="Min-SE"):
        parse_min_se("x")


def _request(extra: str) -> Request:
    message = parse_message(
        (
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            "From: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
            f"{extra}Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def test_option_tags_are_case_insensitive_across_fields_and_compact_forms_s20_37() -> None:
    request = _request("Supported: Timer, replaces\r\nk: 100rel\r\n")
    assert option_tags(request, "supported") == {"timer", "replaces", "100rel"}
    assert option_tags(request, "require") == frozenset()


def test_event_package_and_id_rfc6665_s8_2_1() -> None:
    assert EventHeader.parse("Refer;id=93809824") == EventHeader("refer", "93809824")
    assert EventHeader.parse(" refer ") == EventHeader("refer", None)
    with pytest.raises(ParseError, match="Event"):
        EventHeader.parse("re fer")


def test_subscription_state_rfc6665_s8_2_3() -> None:
    assert subscription_state("Terminated;reason=noresource") == "terminated"
    assert subscription_state("active;expires=60") == "active"
    with pytest.raises(ParseError, match="Subscription-State"):
        subscription_state(";x")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"SIP/2.0 200 OK\r\n", 200),
        (b"SIP/2.0 100 Trying", 100),
        (b"sip/2.0 603 Declined\nContent-Length: 0\n", 603),
    ],
)
def test_sipfrag_status_line_rfc3420_s2(body: bytes, status: int) -> None:
    assert sipfrag_status(body) == status


@pytest.mark.parametrize(
    "body", [b"", b"INVITE sip:a@b SIP/2.0\r\n", b"SIP/2.0 20 OK", b"SIP/2.0 099 x", b"SIP/2.0 7xx"]
)
def test_sipfrag_without_a_status_line_is_a_parse_error_rfc3420_s2(body: bytes) -> None:
    with pytest.raises(ParseError, match="sipfrag"):
        sipfrag_status(body)
