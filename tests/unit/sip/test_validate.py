"""validate_request / validate_response: the §8.2 checks and the status each one answers."""

from types import SimpleNamespace

import pytest

from vacant.sip import (
    DEFAULT_CAPABILITIES,
    Capabilities,
    Request,
    Response,
    StatusCode,
    parse_message,
    validate_request,
    validate_response,
)

SDP = b"v=0\r\n"


def _request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def _status(data: bytes, caps: Capabilities = DEFAULT_CAPABILITIES) -> int | None:
    rejection = validate_request(_request(data), caps)
    return None if rejection is None else int(rejection.status)


def test_well_formed_invite_is_accepted(wire: SimpleNamespace) -> None:
    assert _status(wire.request(body=SDP, extra=[("Content-Type", "application/sdp")])) is None


@pytest.mark.parametrize(
    "replace",
    [
        {"Via": None},
        {"Via": "not a via"},
        {"Via": "SIP/2.0/UDP 192.0.2.15;;,;,,"},  # RFC 4475 §3.1.2.1
        {"From": None},
        {"From": '"unterminated <sip:a@b.example>'},  # RFC 4475 §3.1.2.6
        {"To": None},
        {"To": "< sip:t.watson@example.org >"},  # RFC 4475 §3.1.2.14
        {"Call-ID": None},  # RFC 4475 §3.3.1
        {"Call-ID": "a b"},
        {"CSeq": None},
        {"CSeq": "36893488147419103232 INVITE"},  # RFC 4475 §3.1.2.4
        {"Max-Forwards": "300"},  # §20.22: 0-255
    ],
)
def test_missing_or_malformed_mandatory_field_is_answered_400(
    wire: SimpleNamespace, replace: dict[str, str | None]
) -> None:
    # §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory.
    assert _status(wire.request(replace=replace)) == 400


def test_repeated_single_valued_field_is_answered_400(wire: SimpleNamespace) -> None:
    # RFC 4475 §3.3.8.
    assert _status(wire.request(extra=[("Call-ID", "other@x")])) == 400
    assert _status(wire.request(extra=[("t", "<sip:x@y.example>")])) == 400


def test_missing_max_forwards_is_tolerated_for_rfc_2543_peers(wire: SimpleNamespace) -> None:
    # RFC 4475 §3.4.1: an RFC 2543 INVITE has no Max-Forwards.
    assert _status(wire.request(replace={"Max-Forwards": None})) is None


def test_branch_that_is_only_the_magic_cookie_is_answered_400(wire: SimpleNamespace) -> None:
    # §8.1.1.7; RFC 4475 §3.2.1 allows refusing it rather than falling back to RFC 2543.
    data = wire.request(replace={"Via": "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"})
    assert _status(data) == 400


def test_unknown_method_is_answered_501_and_known_unsupported_405_with_allow(
    wire: SimpleNamespace,
) -> None:
    # §8.2.1 (405, "MUST also add an Allow header field") and §21.5.2 (501).
    unknown = validate_request(_request(wire.request("NEWMETHOD")))
    assert unknown is not None
    assert unknown.status == StatusCode.NOT_IMPLEMENTED
    assert unknown.headers == (("Allow", "ACK, BYE, CANCEL, INVITE, NOTIFY, OPTIONS"),)
    known = validate_request(_request(wire.request("REGISTER")))
    assert known is not None
    assert known.status == StatusCode.METHOD_NOT_ALLOWED
    assert known.headers == unknown.headers


def test_methods_are_case_sensitive(wire: SimpleNamespace) -> None:
    # §7.1: the method names are case-sensitive; "invite" is not INVITE.
    assert _status(wire.request("invite")) == 501


def test_cseq_method_must_match_the_request_method(wire: SimpleNamespace) -> None:
    # §8.1.1.5 "The method MUST match that of the request" (RFC 4475 §3.1.2.17).
    data = wire.request("OPTIONS", replace={"CSeq": "8 INVITE"})
    assert _status(data) == 400


@pytest.mark.parametrize(
    ("uri", "status"),
    [
        ("nobodyKnowsThisScheme:totallyopaquecontent", 416),  # RFC 4475 §3.3.2
        ("soap.beep://192.0.2.103:3002", 416),  # RFC 4475 §3.3.3
        ("sips:+15551234567@vacant.example.com", None),
        ("tel:+15551234567", None),
        ("sip:a@b.example?Route=%3Csip:x.example%3E", 400),  # §19.1.1; RFC 4475 §3.1.2.11
    ],
)
def test_request_uri_scheme_and_headers(wire: SimpleNamespace, uri: str, status: int) -> None:
    # §8.2.2.1: 416 for a scheme we do not support.
    assert _status(wire.request(uri=uri)) == status


def test_supported_schemes_are_configurable(wire: SimpleNamespace) -> None:
    only_sip = Capabilities(schemes=frozenset({"sip"}))
    assert _status(wire.request(uri="tel:+15551234567"), only_sip) == 416


@pytest.mark.parametrize(("method", "status"), [("INVITE", 483), ("OPTIONS", None)])
def test_max_forwards_zero_is_483_except_for_options(
    wire: SimpleNamespace, method: str, status: int | None
) -> None:
    # §16.3 step 2; §11: an OPTIONS may be answered (RFC 4475 §3.3.11).
    assert _status(wire.request(method, replace={"Max-Forwards": "0"})) == status


def test_unknown_require_option_tags_are_answered_420_listing_them(wire: SimpleNamespace) -> None:
    # §8.2.2.3; RFC 4475 §3.3.5. Proxy-Require is for proxies and is ignored by a UAS.
    data = wire.request(
        extra=[("Require", "timer, 100rel"), ("Require", "Foo"), ("Proxy-Require", "x")]
    )
    rejection = validate_request(_request(data), Capabilities(extensions=frozenset({"TIMER"})))
    assert rejection is not None
    assert rejection.status == StatusCode.BAD_EXTENSION
    assert rejection.headers == (("Unsupported", "100rel, Foo"),)
    with_all = Capabilities(extensions=frozenset({"timer", "100rel", "foo"}))
    assert validate_request(_request(data), with_all) is None


def test_require_is_ignored_in_ack_and_cancel(wire: SimpleNamespace) -> None:
    # §8.2.2.3: Require "MUST be ignored" in CANCEL and in an ACK for a non-2xx.
    for method in ("ACK", "CANCEL"):
        assert _status(wire.request(method, extra=[("Require", "foo")])) is None


def test_malformed_require_is_answered_400(wire: SimpleNamespace) -> None:
    assert _status(wire.request(extra=[("Require", "a b")])) == 400
    assert _status(wire.request(extra=[("Require", '"open')])) == 400


def test_empty_require_elements_are_ignored(wire: SimpleNamespace) -> None:
    assert _status(wire.request(extra=[("Require", "")])) is None


@pytest.mark.parametrize(
    ("method", "contact", "status"),
    [
        ("INVITE", '"Joe" <sip:joe@example.org>;;;;', 400),  # RFC 4475 §3.1.2.1
        ("INVITE", "sip:user@example.com?Route=%3Csip:sip.example.com%3E", 400),  # §3.1.2.13
        ("OPTIONS", "not a contact at all <", None),  # OPTIONS sets no target: not read
        ("REGISTER", "*", None),  # §10.2.2: remove all bindings
    ],
)
def test_contact_of_target_setting_requests_must_parse(
    wire: SimpleNamespace, method: str, contact: str, status: int | None
) -> None:
    # §8.1.1.8: the Contact of a dialog-creating request is the remote target.
    registrar = Capabilities(methods=DEFAULT_CAPABILITIES.methods | {"REGISTER"})
    assert _status(wire.request(method, replace={"Contact": contact}), registrar) == status


def test_register_to_must_be_a_sip_uri_for_a_registrar(wire: SimpleNamespace) -> None:
    # §10.2 (the AOR is a SIP or SIPS URI); RFC 4475 §3.3.4 answers 400.
    registrar = Capabilities(methods=DEFAULT_CAPABILITIES.methods | {"REGISTER"})
    assert _status(wire.request("REGISTER", replace={"To": "isbn:2983792873"}), registrar) == 400
    assert _status(wire.request("REGISTER"), registrar) is None


def test_body_needs_content_type(wire: SimpleNamespace) -> None:
    # §20.15: "The Content-Type header field MUST be present if the body is not empty."
    assert _status(wire.request(body=SDP)) == 400


def test_malformed_content_type_or_encoding_is_answered_400(wire: SimpleNamespace) -> None:
    assert _status(wire.request(body=SDP, extra=[("Content-Type", "sdp")])) == 400
    assert _status(wire.request(extra=[("Content-Encoding", '"open')])) == 400


def test_body_type_or_encoding_we_do_not_handle_is_answered_415(wire: SimpleNamespace) -> None:
    # §8.2.3: 415 listing what we accept (RFC 4475 §3.3.6).
    data = wire.request(body=b"<audio/>", extra=[("Content-Type", "application/unknownformat")])
    rejection = validate_request(_request(data))
    assert rejection is not None
    assert rejection.status == StatusCode.UNSUPPORTED_MEDIA_TYPE
    assert rejection.headers == (("Accept", "application/sdp"),)
    gzip = wire.request(
        body=SDP, extra=[("Content-Type", "application/sdp"), ("e", "identity, gzip")]
    )
    rejection = validate_request(_request(gzip))
    assert rejection is not None
    assert rejection.status == StatusCode.UNSUPPORTED_MEDIA_TYPE
    assert rejection.headers == (("Accept-Encoding", "identity"),)
    identity = wire.request(
        body=SDP, extra=[("Content-Type", "application/sdp"), ("Content-Encoding", "identity")]
    )
    assert _status(identity) is None


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("text/nobodyKnowsThis", 406),  # RFC 4475 §3.3.15
        ("", 406),  # §20.1: an empty Accept accepts nothing
        ("*/*", None),
        ("application/*;q=0.5", None),
        ("text/html, application/sdp", None),
        ("garbage, application/SDP", None),
        ('"open', 400),
    ],
)
def test_invite_accept_must_allow_a_type_we_can_answer_with(
    wire: SimpleNamespace, accept: str, status: int | None
) -> None:
    assert _status(wire.request(extra=[("Accept", accept)])) == status


def test_406_lists_our_types_and_a_399_warning(wire: SimpleNamespace) -> None:
    rejection = validate_request(_request(wire.request(extra=[("Accept", "text/plain")])))
    assert rejection is not None
    assert rejection.headers == (
        ("Accept", "application/sdp"),
        ("Warning", '399 vacant "Only application/sdp can be sent"'),
    )


def test_accept_is_only_checked_on_invite(wire: SimpleNamespace) -> None:
    assert _status(wire.request("OPTIONS", extra=[("Accept", "text/plain")])) is None


def test_capabilities_render_allow_and_accept() -> None:
    caps = Capabilities(content_types=frozenset({"application/sdp", "multipart/mixed"}))
    assert caps.allow == "ACK, BYE, CANCEL, INVITE, NOTIFY, OPTIONS"
    assert caps.accept == "application/sdp, multipart/mixed"


# --- responses --------------------------------------------------------------------------------


def _response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def test_well_formed_response_is_processed(wire: SimpleNamespace) -> None:
    assert validate_response(_response(wire.response())) is None


def test_response_with_more_than_one_via_is_discarded(wire: SimpleNamespace) -> None:
    # §8.1.3.3: "the UAC SHOULD discard the message" (RFC 4475 §3.3.10).
    data = wire.response(vias=["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2"])
    assert validate_response(_response(data)) == "2 Via values (§8.1.3.3)"


def test_response_with_malformed_fields_is_discarded(wire: SimpleNamespace) -> None:
    # RFC 4475 §3.1.2.5: an overlarge CSeq.
    data = wire.response(vias=["SIP/2.0/UDP a;branch=z9hG4bK1"]).replace(
        b"CSeq: 314159", b"CSeq: 9292394834772304023312"
    )
    assert validate_response(_response(data)) is not None
