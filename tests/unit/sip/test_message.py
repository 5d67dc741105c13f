"""parse_message / serialize: start lines, fields, folding, framing of a datagram, limits."""

from types import SimpleNamespace

import pytest

from vacant.errors import ParseError
from vacant.sip import (
    DEFAULT_LIMITS,
    CSeq,
    Headers,
    Limits,
    Message,
    Request,
    Response,
    SipUri,
    parse_message,
)

CANONICAL_INVITE = (
    b"INVITE sip:+15551234567@vacant.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:+15551234567@vacant.example.com>\r\n"
    b'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.10:5060>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def _error(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_message(data, limits)
    return caught.value


def test_canonical_request_parses_and_serializes_byte_for_byte() -> None:
    # Style guide §2.10: serialize(parse(b)) == b for a canonical message.
    message = parse_message(CANONICAL_INVITE)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert message.uri == SipUri(user="+15551234567", host="vacant.example.com")
    assert message.body == b"v=0\n"
    assert message.serialize() == CANONICAL_INVITE
    assert repr(message) == "<Request INVITE sip:+15551234567@vacant.example.com (9 headers)>"


def test_canonical_response_parses_and_serializes_byte_for_byte(wire: SimpleNamespace) -> None:
    data = wire.response(486, "Busy Here", body=b"x")
    message = parse_message(data)
    assert isinstance(message, Response)
    assert (message.status, message.reason) == (486, "Busy Here")
    assert message.serialize() == data
    assert repr(message) == "<Response 486 Busy Here (6 headers)>"


def test_typed_views_give_the_transaction_layer_its_keys() -> None:
    message = parse_message(CANONICAL_INVITE)
    assert message.top_via.branch == "z9hG4bK776asdhds"
    assert message.top_via.sent_by == ("192.0.2.10", 5060)
    assert message.call_id == "a84b4c76e66710@pc33.example.com"
    assert message.cseq == CSeq(314159, "INVITE")
    assert message.from_.tag == "1928301774"
    assert message.to.tag is None
    assert message.max_forwards == 70
    assert message.content_type == "application/sdp"
    assert [str(c.uri) for c in message.contacts] == ["sip:alice@192.0.2.10:5060"]
    assert message.routes == ()
    assert message.record_routes == ()
    assert message.has("CALL-ID")


@pytest.mark.parametrize(
    ("value", "branches", "shared"),
    [
        ("SIP/2.0/UDP a.example;branch=z9hG4bK1", ["z9hG4bK1"], True),  # plain: parsed once
        ("SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
         ["z9hG4bK1", "z9hG4bK2"], False),
        ('SIP/2.0/UDP a.example;branch=z9hG4bK1;x="a,b"', ["z9hG4bK1"], False),  # quoted comma
        ('SIP/2.0/UDP a.example;branch=z9hG4bK1;x="<b>"', ["z9hG4bK1"], True),  # one element
        ("SIP/2.0/UDP a.example;branch=z9hG4bK1 ", ["z9hG4bK1"], False),
    ],
)  # fmt: skip
def test_vias_splits_a_field_unless_it_is_one_plain_element(
    value: str, branches: list[str], shared: bool
) -> None:
    # §7.3.1: a Via field may hold several via-parms, separated by commas outside quotes.
    message = Request("OPTIONS", SipUri(host="b.example"), [("Via", value)])
    assert [via.branch for via in message.vias] == branches
    assert (message.vias[0] is message.top_via) is shared


def test_typed_views_are_cached_until_the_headers_change() -> None:
    message = parse_message(CANONICAL_INVITE)
    first = message.top_via
    assert message.top_via is first
    message.headers.set("Via", "SIP/2.0/TCP other.example.com;branch=z9hG4bKnew")
    assert message.top_via.branch == "z9hG4bKnew"
    message.headers = Headers([("Via", "SIP/2.0/UDP third.example.com;branch=z9hG4bK3")])
    assert message.top_via.host == "third.example.com"


def test_views_are_cached_in_the_headers_and_a_failed_view_is_not(wire: SimpleNamespace) -> None:
    message = parse_message(CANONICAL_INVITE)
    assert message.content_type == message.content_type == "application/sdp"
    assert message.headers.views["content_type"] == "application/sdp"
    broken = parse_message(wire.request(extra=[("Route", "<sip:proxy.example.com;lr")]))
    for _ in range(2):
        with pytest.raises(ParseError) as caught:
            _ = broken.routes
        assert caught.value.status_hint == 400
    assert "routes" not in broken.headers.views
    response = parse_message(wire.response(extra=[("Record-Route", "<sip:p.example.com")]))
    with pytest.raises(ParseError) as caught:
        _ = response.record_routes
    assert caught.value.status_hint is None
    assert isinstance(caught.value.__cause__, ParseError)  # the hint-less error, chained


def test_missing_or_repeated_single_fields_raise_parse_error_with_the_message_hint(
    wire: SimpleNamespace,
) -> None:
    request = parse_message(wire.request(replace={"Call-ID": None, "Via": None}))
    with pytest.raises(ParseError, match="missing call-id") as caught:
        _ = request.call_id
    assert caught.value.status_hint == 400
    with pytest.raises(ParseError, match="missing Via"):
        _ = request.top_via
    assert request.max_forwards == 70
    assert parse_message(wire.request(replace={"Max-Forwards": None})).max_forwards is None
    doubled = parse_message(wire.request(extra=[("CSeq", "1 INVITE")]))
    with pytest.raises(ParseError, match="more than one cseq"):
        _ = doubled.cseq
    response = parse_message(wire.response(extra=[("Call-ID", "second")]))
    with pytest.raises(ParseError) as caught:
        _ = response.call_id
    assert caught.value.status_hint is None  # responses are never answered
    with pytest.raises(ParseError) as caught:
        _ = parse_message(wire.response(vias=["not a via"])).top_via
    assert caught.value.status_hint is None


def test_content_type_view_is_none_without_the_header(wire: SimpleNamespace) -> None:
    assert parse_message(wire.request()).content_type is None


def test_header_folding_is_unfolded_into_one_value() -> None:
    # §7.3.1: continuation lines start with SP or HTAB; the LWS becomes one SP.
    data = CANONICAL_INVITE.replace(
        b"Call-ID: a84b4c76e66710@pc33.example.com\r\n",
        b"Subject: first\r\n  \t second  \r\n\tthird\r\n \r\n"
        b"Route:\r\n <sip:p.example.com;lr>\r\n"
        b"Call-ID: a84b4c76e66710@pc33.example.com\r\n",
    )
    message = parse_message(data)
    assert message.headers.get("subject") == "first second third"
    assert message.headers.get("route") == "<sip:p.example.com;lr>"


def test_compact_and_odd_case_names_and_lws_before_the_colon() -> None:
    data = (
        b"OPTIONS sip:a@b.example SIP/2.0\r\n"
        b"v  : SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
        b"i:x@y\r\nMaX-fOrWaRdS:\t0068\r\nf: <sip:c@d.example>;tag=1\r\nt:<sip:a@b.example>\r\n"
        b"CSEQ: 1 OPTIONS\r\nl: 0\r\n\r\n"
    )
    message = parse_message(data)
    assert message.call_id == "x@y"
    assert message.max_forwards == 68
    assert message.headers.items()[0] == ("v", "SIP/2.0/UDP h.example;branch=z9hG4bK1")
    assert message.cseq.method == "OPTIONS"


def test_wsp_around_a_value_is_not_part_of_it_on_either_path() -> None:
    # §7.3.1: "field-name: field-value", with LWS allowed around the value. Every name here is
    # a known spelling, so the one-pass splitter takes the fields; a field it does not know
    # sends them all through the general one, which must read them the same.
    fields = (
        b"OPTIONS sip:a@b.example SIP/2.0\r\n"
        b"Via:  SIP/2.0/UDP h.example;branch=z9hG4bK1 \t\r\n"
        b"Max-Forwards:\t 70\t \r\ni:x@y  \r\nSubject:   \r\nf: <sip:c@d.example>;tag=1\r\n"
        b"t:<sip:a@b.example>\r\nCSeq: 1 OPTIONS\r\nl: 0"
    )
    known = parse_message(fields + b"\r\n\r\n")
    general = parse_message(fields + b"\r\nX-Unknown-To-Vacant: 1\r\n\r\n")
    expected = [
        ("Via", "SIP/2.0/UDP h.example;branch=z9hG4bK1"),
        ("Max-Forwards", "70"),
        ("i", "x@y"),
        ("Subject", ""),
        ("f", "<sip:c@d.example>;tag=1"),
        ("t", "<sip:a@b.example>"),
        ("CSeq", "1 OPTIONS"),
        ("l", "0"),
    ]
    assert known.headers.items() == expected
    assert general.headers.items() == [*expected, ("X-Unknown-To-Vacant", "1")]
    assert known.max_forwards == 70
    assert known.call_id == "x@y"


def test_leading_crlfs_before_the_start_line_are_ignored() -> None:
    # §7.5: "Implementations ... MUST ignore any CRLF appearing before the start-line".
    assert parse_message(b"\r\n\r\n" + CANONICAL_INVITE) == parse_message(CANONICAL_INVITE)


def test_body_is_framed_by_content_length_and_trailing_octets_discarded() -> None:
    # §18.3: "Any additional bytes in the transport packet beyond the end of the body MUST be
    # discarded."
    message = parse_message(CANONICAL_INVITE + b"INVITE junk")
    assert message.body == b"v=0\n"


def test_without_content_length_the_body_is_the_rest_of_the_datagram(
    wire: SimpleNamespace,
) -> None:
    # §18.3 (RFC 4475 §3.4.1).
    message = parse_message(wire.request(content_length=False) + b"rest of it")
    assert message.body == b"rest of it"


def test_serialize_states_the_real_content_length() -> None:
    # §20.14: Content-Length is the body's size; one field, appended when missing.
    request = Request("OPTIONS", SipUri(host="b.example"), [("l", "99"), ("Content-Length", "7")])
    request.body = b"abc"
    assert request.serialize() == b"OPTIONS sip:b.example SIP/2.0\r\nl: 3\r\n\r\nabc"
    bare = Request("OPTIONS", SipUri(host="b.example"), [("Subject", "")])
    assert bare.serialize() == (
        b"OPTIONS sip:b.example SIP/2.0\r\nSubject: \r\nContent-Length: 0\r\n\r\n"
    )


def test_response_reason_defaults_to_the_rfc_phrase() -> None:
    assert Response(481).reason == "Call/Transaction Does Not Exist"
    assert Response(299).reason == "Successful"
    assert Response(200, "Fine").reason == "Fine"


def test_constructors_refuse_what_would_not_serialize() -> None:
    with pytest.raises(ValueError, match="token"):
        Request("IN VITE", SipUri(host="b.example"))
    with pytest.raises(ValueError, match="control"):
        Response(200, "OK\r\nX: y")
    with pytest.raises(NotImplementedError):
        Message().serialize()


def test_equality_covers_start_line_headers_and_body() -> None:
    one = parse_message(CANONICAL_INVITE)
    assert one == parse_message(CANONICAL_INVITE)
    assert one != parse_message(CANONICAL_INVITE.replace(b"v=0\n", b"v=1\n"))
    assert one != "INVITE"
    assert Response(200) == Response(200)
    assert Response(200) != Response(200, "Okay")
    assert Response(200) != one


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (b"", None),
        (b"\r\n\r\n", None),
        (b"\x00garbage\r\n\r\n", None),  # not even a method token and SP
        (b"INVITE sip:a@b.example SIP/2.0\r\nVia: x\r\n", 400),  # no empty line
        (b"SIP/2.0 200 OK\r\nVia: x\r\n", None),
        (b"INVITE sip:a@b.example SIP/2.0\r\n continued\r\n\r\n", 400),  # §7.3.1
        (b"INVITE sip:a@b.example SIP/2.0\r\nNo colon here\r\n\r\n", 400),
        (b"INVITE sip:a@b.example SIP/2.0\r\nBad Name: x\r\n\r\n", 400),
        (b"INVITE sip:a@b.example SIP/2.0\r\n: x\r\n\r\n", 400),
        (b"INVITE  sip:a@b.example SIP/2.0\r\n\r\n", 400),  # RFC 4475 §3.1.2.9
        (b"INVITE sip:a@b.example SIP/2.0 \r\n\r\n", 400),  # RFC 4475 §3.1.2.10
        (b"INVITE sip:a@b.example\r\n\r\n", 400),
        (b"IN@VITE sip:a@b.example SIP/2.0\r\n\r\n", None),  # method = token
        (b"INVITE <sip:a@b.example> SIP/2.0\r\n\r\n", 400),  # RFC 4475 §3.1.2.7
        (b"INVITE sip:a@b.example SIP/7.0\r\n\r\n", 505),  # RFC 4475 §3.1.2.16
        (b"INVITE sip:a@b.example HTTP/1.1\r\n\r\n", 400),
        (b"SIP/2.0 4294967301 Big\r\n\r\n", None),  # RFC 4475 §3.1.2.19
        (b"SIP/2.0 099 Low\r\n\r\n", None),
        (b"SIP/2.0 700 High\r\n\r\n", None),
        (b"SIP/2.0 200\r\n\r\n", None),  # Status-Line needs the SP before the reason
        (b"SIP/7.0 200 OK\r\n\r\n", None),
        (b"SIP/2.0 200 O\x07K\r\n\r\n", None),
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: 5\r\nl: 5\r\n\r\nhello", 400),  # 4475 §3.3.9
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: -999\r\n\r\n", 400),  # RFC 4475 §3.1.2.3
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: 9999\r\n\r\nshort", 400),  # RFC 4475 §3.1.2.2
        (b"SIP/2.0 200 OK\r\nl: 9999\r\n\r\nshort", None),  # §18.3: a response is discarded
    ],
)
def test_malformed_messages_raise_parse_error_with_the_status_to_answer(
    data: bytes, hint: int | None
) -> None:
    assert _error(data).status_hint == hint


@pytest.mark.parametrize(
    "data",
    [
        b"INVITE sip:a@b.example SIP/2.0\r\nBad\rLine: x\r\n\r\n",  # more CRs than LFs
        b"INVITE sip:a@b.example SIP/2.0\r\nTo: x\ny\r\n\r\n",  # more LFs than CRs
        # As many of each, on the plain path (known names) and on the other (an unknown name,
        # a folded line), in the start line and in a value, each in either order:
        b"INVITE sip:a@b.example SIP/2.0\r\nTo: x\ny\r\nFrom: y\rz\r\n\r\n",
        b"INVITE sip:a@b.\n\rexample SIP/2.0\r\nTo: x\r\n\r\n",
        b"INVITE sip:a@b.example SIP/2.0\r\nX-Odd: x\ny\r\nFrom: y\rz\r\n\r\n",
        b"INVITE sip:a@b.example SIP/2.0\r\nTo: x\r\n \n\r\r\n\r\n",
        # One alone on the plain path: an LF in the start line, a CR in a value or before a CRLF.
        b"INVITE sip:a@b.\nexample SIP/2.0\r\nTo: x\r\n\r\n",
        b"INVITE sip:a@b.example SIP/2.0\r\nFrom: y\rz\r\n\r\n",
        b"INVITE sip:a@b.example SIP/2.0\r\nTo: x\r\r\nFrom: y\r\n\r\n",
        b"INVITE sip:a@b.example SIP/2.0\r\nTo: a\rb\nFrom: c\r\n\r\n",  # a CR, then an LF
    ],
)
def test_a_cr_or_lf_outside_a_crlf_is_refused(data: bytes) -> None:
    # §7: "the start-line, each message-header line, and the empty line MUST be terminated by
    # a carriage-return line-feed sequence (CRLF)".
    error = _error(data)
    assert (str(error), error.status_hint) == ("bare CR or LF in the header section (§7)", 400)


def test_lower_case_sip_version_is_accepted() -> None:
    # §7.1: "The SIP-Version string is case-insensitive".
    assert parse_message(b"OPTIONS sip:a@b.example sip/2.0\r\n\r\n").method == "OPTIONS"
    assert parse_message(b"sip/2.0 200 OK\r\n\r\n").status == 200  # type: ignore[union-attr]


def test_limits_bound_message_size_header_count_and_body_size(wire: SimpleNamespace) -> None:
    request = wire.request(body=b"x" * 100, extra=[("Content-Type", "text/plain")])
    assert _error(request, Limits(max_message_size=len(request) - 1)).status_hint == 513
    assert _error(request, Limits(max_headers=5)).status_hint == 513
    assert _error(request, Limits(max_body_size=99)).status_hint == 513
    no_length = wire.request(body=b"x" * 100, content_length=False)
    assert _error(no_length, Limits(max_body_size=99)).status_hint == 513
    response = wire.response(body=b"x" * 100)
    assert _error(response, Limits(max_message_size=10)).status_hint is None
    assert _error(response, Limits(max_headers=2)).status_hint is None
    assert _error(response, Limits(max_body_size=99)).status_hint is None
    folded = wire.request(extra=[("Subject", "a\r\n b")])
    assert _error(folded, Limits(max_headers=5)).status_hint == 513


def test_limits_must_be_positive() -> None:
    limits = Limits(max_message_size=65536, max_headers=100, max_body_size=32768)
    assert limits == DEFAULT_LIMITS
    with pytest.raises(ValueError, match="positive"):
        Limits(max_headers=0)


def test_request_without_any_header_field_parses() -> None:
    # The parser frames; whether the fields are there is validate_request's question.
    message = parse_message(b"OPTIONS sip:a@b.example SIP/2.0\r\n\r\n")
    assert len(message.headers) == 0
