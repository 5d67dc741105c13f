"""RFC 4475 and RFC 5118 torture messages, each held to the expectation in its cases.toml.

One parametrised case per file (the test id is the file's stem). What "the element" is matters
for a few cases, so it is chosen the way the RFC text does:

- ``ENDPOINT``: a UA that implements every method RFC 3261 and its common extensions define,
  except REGISTER (RFC 4475 §3.3.7 has such an endpoint answer 405 to a REGISTER), and takes
  ``application/sdp`` and ``multipart/mixed`` bodies (§3.1.1.11 frames a multipart body).
- ``REGISTRAR``: the same plus REGISTER, for the cases whose ``role`` is ``registrar`` and for
  every other REGISTER, except the one the RFC expects an endpoint to answer 405 (§3.3.7).

``expect`` then means:

- ``parse``: ``parse_message`` succeeds, the key fields below are right, and ``validate_request``
  accepts it (or answers a status from ``alt_status``); a response with ``action = "drop"`` is
  one ``validate_response`` discards.
- ``reject``: it parses and ``validate_request`` answers ``status`` (or an ``alt_status``).
- ``parse_error``: ``parse_message`` raises ``ParseError`` whose ``status_hint`` is ``status``
  (``None`` for ``action = "drop"``), or the message parses and the validator answers ``status``;
  with ``lenient_ok`` the RFC also lets it be accepted. A refused request is then answered
  from its octets by ``reply_to_unparseable``, unless it lacks the Via/CSeq a response needs.

RFC 5118's three bodies whose printed Content-Length is wrong (see its README) are checked twice:
as published, with RFC 3261 §18.3 datagram framing (short body: 400; long body: cut to
Content-Length), and with the header corrected to the body's length.
"""

import hashlib
import random
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vacant.errors import ParseError
from vacant.sip import (
    DEFAULT_CAPABILITIES,
    KNOWN_METHODS,
    Capabilities,
    Request,
    Response,
    SipUri,
    parse_message,
    reply_to_unparseable,
    validate_request,
    validate_response,
)

FIXTURES = Path(__file__).parent / "fixtures"
ENDPOINT = Capabilities(
    methods=KNOWN_METHODS - {"REGISTER"},
    content_types=frozenset({"application/sdp", "multipart/mixed"}),
)
REGISTRAR = Capabilities(methods=KNOWN_METHODS, content_types=ENDPOINT.content_types)


def _cases() -> list[Any]:
    params = []
    for suite in ("rfc4475", "rfc5118"):
        table = tomllib.loads((FIXTURES / suite / "cases.toml").read_text(encoding="utf-8"))
        for name, case in table.items():
            params.append(pytest.param(suite, case, id=f"{suite}-{name}"))
    return params


CASES = _cases()


def _load(suite: str, case: dict[str, Any]) -> bytes:
    return (FIXTURES / suite / case["file"]).read_bytes()


def _element(case: dict[str, Any], data: bytes) -> Capabilities:
    # A REGISTER is handled by a registrar, except where the RFC expects 405 from an endpoint
    # that is not one (RFC 4475 §3.3.7).
    registrar = case.get("role") == "registrar" or (
        data.startswith(b"REGISTER ") and case.get("status") != 405
    )
    return REGISTRAR if registrar else ENDPOINT


def _statuses(case: dict[str, Any]) -> set[int | None]:
    allowed: set[int | None] = set(case.get("alt_status", []))
    if "status" in case:
        allowed.add(case["status"])
    return allowed


def _parse_or_error(data: bytes) -> Request | Response | ParseError:
    try:
        return parse_message(data)
    except ParseError as exc:
        return exc


def _corrected_content_length(data: bytes) -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("suite", ["rfc4475", "rfc5118"])
def test_fixture_files_match_their_sha256sums_byte_for_byte(suite: str) -> None:
    lines = (FIXTURES / suite / "SHA256SUMS").read_text(encoding="ascii").splitlines()
    assert lines
    for line in lines:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((FIXTURES / suite / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("suite", ["rfc4475", "rfc5118"])
def test_every_dat_file_has_an_expectation_in_cases_toml(suite: str) -> None:
    table = tomllib.loads((FIXTURES / suite / "cases.toml").read_text(encoding="utf-8"))
    assert {case["file"] for case in table.values()} == {
        path.name for path in (FIXTURES / suite).glob("*.dat")
    }


@pytest.mark.parametrize(("suite", "case"), CASES)
def test_torture_message_is_handled_as_its_rfc_section_expects(
    suite: str, case: dict[str, Any]
) -> None:
    data = _load(suite, case)
    if "content_length" in case:  # RFC 5118 §4.6, §4.8, §4.9: see the module docstring
        _check_published_content_length(data, case)
        data = _corrected_content_length(data)
    expect = case["expect"]
    message = _parse_or_error(data)
    if isinstance(message, ParseError):
        assert expect == "parse_error", f"{case['section']}: refused a valid message: {message}"
        if case.get("action") == "drop":
            assert message.status_hint is None
            return
        assert message.status_hint in _statuses(case)
        _check_answer_from_octets(data, message.status_hint, case)
        return
    assert isinstance(message, Request if case["kind"] == "request" else Response)
    if isinstance(message, Response):
        dropped = validate_response(message) is not None
        assert dropped == (case.get("action") == "drop")
        return
    rejection = validate_request(message, _element(case, data))
    status = None if rejection is None else int(rejection.status)
    if expect == "parse":
        assert status is None or status in _statuses(case), rejection
    elif expect == "reject":
        assert status in _statuses(case), rejection
    elif case.get("lenient_ok") and status is None:
        pass  # RFC 4475 lets a liberal element accept this one
    else:
        assert status in _statuses(case), rejection


def _check_published_content_length(data: bytes, case: dict[str, Any]) -> None:
    body = data.partition(b"\r\n\r\n")[2]
    assert len(body) == case["body_octets"]
    if case["content_length"] > case["body_octets"]:
        # §18.3: "If the transport packet ends before the end of the message body, this is
        # considered an error. [...] the element SHOULD generate a 400 (Bad Request)".
        with pytest.raises(ParseError) as caught:
            parse_message(data)
        assert caught.value.status_hint == 400
    else:
        # §18.3: "Any additional bytes in the transport packet beyond the end of the body MUST
        # be discarded."
        message = parse_message(data)
        assert message.body == body[: case["content_length"]]


def _check_answer_from_octets(data: bytes, status: int | None, case: dict[str, Any]) -> None:
    assert status is not None
    reply = reply_to_unparseable(data, status, random.Random(1))
    if case["file"] == "test.dat":  # no Via, no CSeq: nothing to route or match an answer by
        assert reply is None
        return
    assert reply is not None
    assert reply.status == status
    assert reply.headers.get("cseq") is not None
    assert reply.top_via.host


# --- key fields of the messages that parse ------------------------------------------------------


def _wsinv(m: Request) -> None:
    # RFC 4475 §3.1.1.1: folding, LWS around separators, compact and odd-case names.
    assert m.method == "INVITE"
    assert isinstance(m.uri, SipUri)
    assert (m.uri.user, m.uri.host) == ("vivekg", "chair-dnrc.example.com")
    assert "unknownparam" in m.uri.params
    assert m.to.tag == "1918181833n"
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.from_.tag == "98asjd8"
    assert m.max_forwards == 68
    assert (m.cseq.number, m.cseq.method) == (9, "INVITE")
    assert [via.branch for via in m.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    assert m.top_via.host == "192.0.2.2"
    assert m.headers.get("subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    (contact,) = m.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params.get("newparam") == "newvalue"
    assert "secondparam" in contact.params
    assert contact.params.get("q") == "0.33"
    assert [route.uri for route in m.routes] == [
        SipUri.parse("sip:services.example.com;lr;unknownwith=value;unknown-no-value")
    ]
    assert len(m.body) == 150


def _intmeth(m: Request) -> None:
    # RFC 4475 §3.1.1.2: every token character in the method, quoted-pairs of BEL, NUL, DEL.
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert isinstance(m.uri, SipUri)
    assert m.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.cseq.method == m.method
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"


def _esc01(m: Request) -> None:
    # RFC 4475 §3.1.1.3: %HH is the encoded character wherever the grammar allows "escaped".
    assert isinstance(m.uri, SipUri)
    assert (m.uri.user, m.uri.host) == ("sips:user@example.com", "example.net")
    assert m.to.uri == SipUri(user="user", host="example.com")
    assert isinstance(m.from_.uri, SipUri)
    assert m.from_.uri.user == "I have spaces"
    (contact,) = m.contacts
    assert isinstance(contact.uri, SipUri)
    assert contact.uri.user == "caller"
    assert contact.uri.lr
    assert contact.uri.params.get("name") == "value%41"


def _escnull(m: Request) -> None:
    # RFC 4475 §3.1.1.4: escaped NULs do not cut the user name; two distinct bindings.
    assert isinstance(m.to.uri, SipUri)
    assert m.to.uri.user == "null-\x00-null"
    users = [c.uri.user for c in m.contacts if isinstance(c.uri, SipUri)]
    assert users == ["\x00", "\x00\x00"]


def _esc02(m: Request) -> None:
    # RFC 4475 §3.1.1.5: RE%47IST%45R is not REGISTER; C%6Fntact is another header: 2 Contacts.
    assert m.method == "RE%47IST%45R"
    assert len(m.contacts) == 2
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert m.to.display_name == "%Z%45"


def _lwsdisp(m: Request) -> None:
    assert m.from_.display_name == "caller"  # RFC 4475 §3.1.1.6


def _longreq(m: Request) -> None:
    # RFC 4475 §3.1.1.7: 34 Via values in many spellings, very long values.
    assert len(m.vias) == 34
    assert m.top_via.host == "sip33.example.com"
    assert m.vias[-1].received == "192.0.2.5"
    assert m.to.display_name is not None
    assert "extremeextreme" in m.to.display_name
    assert len(m.body) == 150


def _dblreq(m: Request) -> None:
    # RFC 4475 §3.1.1.8 / RFC 3261 §18.3: the INVITE octets after the empty body are discarded.
    assert m.method == "REGISTER"
    assert m.body == b""


def _semiuri(m: Request) -> None:
    assert isinstance(m.uri, SipUri)
    assert m.uri.user == "user;par=u@example.net"  # RFC 4475 §3.1.1.9
    assert m.uri.host == "example.com"


def _transports(m: Request) -> None:
    assert [via.transport for via in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def _mpart01(m: Request) -> None:
    assert len(m.body) == 553  # RFC 4475 §3.1.1.11: framed by Content-Length
    assert b"\x00" in m.body
    assert m.content_type == "multipart/mixed"


def _unreason(m: Response) -> None:
    assert m.status == 200
    assert m.reason.startswith("= 2**3 * 5**2 но сто")  # UTF-8 kept as text


def _noreason(m: Response) -> None:
    assert (m.status, m.reason) == (100, "")


def _badbranch(m: Request) -> None:
    assert m.top_via.branch == "z9hG4bK"


def _baddate(m: Request) -> None:
    assert m.headers.get("date") == "Fri, 01 Jan 2010 16:00:00 EST"


def _bcast(m: Response) -> None:
    assert [via.host for via in m.vias] == ["192.0.2.198", "255.255.255.255"]


def _zeromf(m: Request) -> None:
    assert m.max_forwards == 0


def _cparam01(m: Request) -> None:
    # RFC 4475 §3.3.12: a bare URI's ;unknownparam is a contact parameter, not a URI parameter.
    (contact,) = m.contacts
    assert isinstance(contact.uri, SipUri)
    assert "unknownparam" not in contact.uri.params
    assert "unknownparam" in contact.params


def _cparam02(m: Request) -> None:
    # RFC 4475 §3.3.13: inside <>, ;unknownparam is a URI parameter.
    (contact,) = m.contacts
    assert isinstance(contact.uri, SipUri)
    assert "unknownparam" in contact.uri.params
    assert "unknownparam" not in contact.params


def _regescrt(m: Request) -> None:
    # RFC 4475 §3.3.14: the escaped Route header stays in the Contact URI.
    (contact,) = m.contacts
    assert isinstance(contact.uri, SipUri)
    assert contact.uri.headers == (("Route", "<sip:sip.example.com>"),)
    assert str(contact.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"


def _inv2543(m: Request) -> None:
    # RFC 4475 §3.4.1: no branch, no From tag, no Max-Forwards, no Content-Length.
    assert m.top_via.branch is None
    assert m.from_.tag is None
    assert m.max_forwards is None
    assert "content-length" not in m.headers
    assert m.body.startswith(b"v=0\r\n")
    # §20: after a URI written without <>, ";user=phone" is a header parameter.
    assert m.to.params.get("user") == "phone"
    assert m.to.uri == SipUri(user="+16505552222", host="ss1.example.net")


def _ipv6_good(m: Request) -> None:
    assert isinstance(m.uri, SipUri)
    assert (m.uri.host, m.uri.port) == ("2001:db8::10", None)
    assert m.top_via.host == "2001:db8::9:1"


def _port_ambiguous(m: Request) -> None:
    assert isinstance(m.uri, SipUri)
    assert (m.uri.host, m.uri.port) == ("2001:db8::10:5070", None)  # RFC 5118 §4.3


def _port_unambiguous(m: Request) -> None:
    assert isinstance(m.uri, SipUri)
    assert (m.uri.host, m.uri.port) == ("2001:db8::10", 5070)  # RFC 5118 §4.4


def _received_with_delim(m: Request) -> None:
    assert m.top_via.received == "2001:db8::9:255"  # RFC 5118 §4.5, bracketed


def _received_no_delim(m: Request) -> None:
    assert m.top_via.received == "2001:db8::9:255"  # RFC 5118 §4.5, bare


def _ipv6_in_sdp(m: Request) -> None:
    assert b"c=IN IP6 2001:db8::20" in m.body
    assert isinstance(m.uri, SipUri)
    assert m.uri.host == "2001:db8::10"


def _mult_ip_in_header(m: Request) -> None:
    assert [(via.host, via.port) for via in m.vias] == [
        ("2001:db8::9:1", 6050),
        ("192.0.2.1", None),
        ("2001:db8::9:255", None),
    ]
    assert m.vias[2].received == "192.0.2.200"


def _mult_ip_in_sdp(m: Request) -> None:
    assert m.body.endswith(b"a=rtpmap:107 H263-1998/90000\r\n")


def _ipv4_mapped(m: Request) -> None:
    assert [(via.host, via.port) for via in m.vias] == [
        ("::ffff:192.0.2.10", 19823),
        ("::ffff:192.0.2.2", None),
    ]
    (contact,) = m.contacts
    assert isinstance(contact.uri, SipUri)
    assert contact.uri.host == "::ffff:192.0.2.2"


def _three_colons(m: Request) -> None:
    # RFC 5118 §4.10: tolerate RFC 3261's three-colon form; it is kept as written.
    assert isinstance(m.uri, SipUri)
    assert m.uri.host == "2001:db8:::192.0.2.1"
    assert str(m.uri) == "sip:user@[2001:db8:::192.0.2.1]"


def _two_colons(m: Request) -> None:
    assert isinstance(m.uri, SipUri)
    assert m.uri.host == "2001:db8::192.0.2.1"


KEY_FIELDS: dict[str, Callable[[Any], None]] = {
    "rfc4475-wsinv": _wsinv,
    "rfc4475-intmeth": _intmeth,
    "rfc4475-esc01": _esc01,
    "rfc4475-escnull": _escnull,
    "rfc4475-esc02": _esc02,
    "rfc4475-lwsdisp": _lwsdisp,
    "rfc4475-longreq": _longreq,
    "rfc4475-dblreq": _dblreq,
    "rfc4475-semiuri": _semiuri,
    "rfc4475-transports": _transports,
    "rfc4475-mpart01": _mpart01,
    "rfc4475-unreason": _unreason,
    "rfc4475-noreason": _noreason,
    "rfc4475-badbranch": _badbranch,
    "rfc4475-baddate": _baddate,
    "rfc4475-bcast": _bcast,
    "rfc4475-zeromf": _zeromf,
    "rfc4475-cparam01": _cparam01,
    "rfc4475-cparam02": _cparam02,
    "rfc4475-regescrt": _regescrt,
    "rfc4475-inv2543": _inv2543,
    "rfc5118-ipv6-good": _ipv6_good,
    "rfc5118-port-ambiguous": _port_ambiguous,
    "rfc5118-port-unambiguous": _port_unambiguous,
    "rfc5118-via-received-param-with-delim": _received_with_delim,
    "rfc5118-via-received-param-no-delim": _received_no_delim,
    "rfc5118-ipv6-in-sdp": _ipv6_in_sdp,
    "rfc5118-mult-ip-in-header": _mult_ip_in_header,
    "rfc5118-mult-ip-in-sdp": _mult_ip_in_sdp,
    "rfc5118-ipv4-mapped-ipv6": _ipv4_mapped,
    "rfc5118-ipv6-bug-abnf-3-colons": _three_colons,
    "rfc5118-ipv6-correct-abnf-2-colons": _two_colons,
}


@pytest.mark.parametrize("key", sorted(KEY_FIELDS))
def test_torture_message_key_fields_are_read_as_the_rfc_describes(key: str) -> None:
    suite, name = key.split("-", 1)
    case = tomllib.loads((FIXTURES / suite / "cases.toml").read_text(encoding="utf-8"))[name]
    data = _load(suite, case)
    if "content_length" in case:
        data = _corrected_content_length(data)
    KEY_FIELDS[key](parse_message(data))


def test_every_torture_message_that_parses_has_its_key_fields_checked() -> None:
    parsed = set()
    for param in CASES:
        suite, case = param.values
        data = _load(suite, case)
        if "content_length" in case:
            data = _corrected_content_length(data)
        try:
            parse_message(data)
        except ParseError:
            continue
        parsed.add(param.id)
    # Those left out parse but are refused by the validator; their check is the status.
    refused = {
        "rfc4475-badinv01",
        "rfc4475-scalar02",
        "rfc4475-scalarlg",
        "rfc4475-quotbal",
        "rfc4475-escruri",
        "rfc4475-regbadct",
        "rfc4475-badaspec",
        "rfc4475-mismatch01",
        "rfc4475-mismatch02",
        "rfc4475-insuf",
        "rfc4475-unkscm",
        "rfc4475-novelsc",
        "rfc4475-unksm2",
        "rfc4475-bext01",
        "rfc4475-invut",
        "rfc4475-regaut01",
        "rfc4475-multi01",
        "rfc4475-sdp01",
    }
    assert parsed - set(KEY_FIELDS) - refused == set()


@pytest.mark.parametrize(("suite", "case"), CASES)
def test_torture_message_that_parses_survives_serialize_then_parse(
    suite: str, case: dict[str, Any]
) -> None:
    # Style guide §2.10: parse(serialize(parse(b))) == parse(b).
    data = _load(suite, case)
    if "content_length" in case:
        data = _corrected_content_length(data)
    try:
        message = parse_message(data)
    except ParseError:
        return
    again = parse_message(message.serialize())
    if "content-length" not in message.headers:  # RFC 2543 style: serialize adds it
        again.headers.remove("content-length")
    assert again == message


# --- what vacant itself answers (default capabilities) ---------------------------------------

VACANT_ANSWERS: dict[str, int | None] = {
    # Parsed and acceptable to vacant as it is configured by default.
    "wsinv": None,
    "esc01": None,
    "lwsdisp": None,
    "longreq": None,
    "semiuri": None,
    "transports": None,
    "baddate": None,  # RFC 4475 §3.1.2.12: preferred not to reject; Date is unused
    "zeromf": None,  # an OPTIONS with Max-Forwards 0 is answered (§11)
    "inv2543": None,
    # Methods vacant does not implement (§8.2.1: 405 known, §21.5.2: 501 unknown).
    "intmeth": 501,
    "esc02": 501,
    "mismatch02": 501,
    "dblreq": 405,
    "escnull": 405,
    "mpart01": 405,
    "regaut01": 405,
    "unksm2": 405,
    "cparam01": 405,
    "cparam02": 405,
    "regescrt": 405,
    "regbadct": 405,
    # Refused for what they are.
    "scalar02": 400,
    "badinv01": 400,
    "quotbal": 400,
    "escruri": 400,
    "badaspec": 400,
    "mismatch01": 400,
    "insuf": 400,
    "multi01": 400,
    "badbranch": 400,
    "unkscm": 416,
    "novelsc": 416,
    "bext01": 420,
    "invut": 415,
    "sdp01": 406,
}


@pytest.mark.parametrize("name", sorted(VACANT_ANSWERS))
def test_vacant_default_capabilities_answer_each_torture_request_as_tabled(name: str) -> None:
    case = tomllib.loads((FIXTURES / "rfc4475" / "cases.toml").read_text(encoding="utf-8"))[name]
    message = parse_message(_load("rfc4475", case))
    assert isinstance(message, Request)
    rejection = validate_request(message, DEFAULT_CAPABILITIES)
    assert (None if rejection is None else rejection.status) == VACANT_ANSWERS[name]


def test_bext01_is_answered_420_listing_the_require_option_tags_in_unsupported() -> None:
    # RFC 4475 §3.3.5 and RFC 3261 §8.2.2.3.
    message = parse_message((FIXTURES / "rfc4475" / "bext01.dat").read_bytes())
    assert isinstance(message, Request)
    rejection = validate_request(message)
    assert rejection is not None
    assert rejection.headers == (("Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),)


def test_intmeth_is_answered_501_with_allow_listing_our_methods() -> None:
    # RFC 4475 §3.1.1.2: "answers 501 listing its methods in Allow".
    message = parse_message((FIXTURES / "rfc4475" / "intmeth.dat").read_bytes())
    assert isinstance(message, Request)
    rejection = validate_request(message)
    assert rejection is not None
    assert rejection.headers == (("Allow", "ACK, BYE, CANCEL, INVITE, NOTIFY, OPTIONS"),)
