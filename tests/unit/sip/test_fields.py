"""Typed views of header values: Via, NameAddr, CSeq, Max-Forwards, Content-Length, ... (§20)."""

import pytest

from vacant.errors import ParseError
from vacant.sip import (
    AbsoluteUri,
    CSeq,
    NameAddr,
    Params,
    SipUri,
    Via,
    fields,
    parse_call_id,
    parse_content_length,
    parse_max_forwards,
    parse_media_type,
    parse_params,
    uri,
)

# --- generic parameters ------------------------------------------------------------------------


def test_generic_params_allow_whitespace_around_semicolon_and_equals() -> None:
    # §25.1: SEMI = SWS ";" SWS, EQUAL = SWS "=" SWS (RFC 4475 §3.1.1.1).
    params = parse_params(' ;  tag = 1918 ; flag;q=0.5 ; x="a; \\"b\\"" ;ip=[2001:db8::1]  ')
    assert params.items == (
        ("tag", "1918"),
        ("flag", None),
        ("q", "0.5"),
        ("x", '"a; \\"b\\""'),
        ("ip", "[2001:db8::1]"),
    )


@pytest.mark.parametrize("text", [";", ";;", ";a=", ';a="open', ";a=b c", ";a b", "x", ";a=<b>"])
def test_generic_params_refuse_anything_else(text: str) -> None:
    with pytest.raises(ParseError):
        parse_params(text)


# --- Via ------------------------------------------------------------------------------------------


def test_via_parses_sent_protocol_sent_by_and_params() -> None:
    via = Via.parse(
        'SIP/2.0/udp pc33.example.com:5066;branch=z9hG4bK776asdhds;rport;ttl=16;x-ext="y"'
    )
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "UDP",
        "pc33.example.com",
        5066,
    )
    assert via.sent_by == ("pc33.example.com", 5066)
    assert via.branch == "z9hG4bK776asdhds"
    assert via.rport is None
    assert via.rport_requested  # RFC 3581 §3: present without a value
    assert via.ttl == 16
    assert via.received is None
    assert via.maddr is None
    assert via.params.get("x-ext") == '"y"'  # an extension parameter passes through
    assert str(via) == (
        'SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport;ttl=16;x-ext="y"'
    )


def test_via_allows_lws_around_slashes_and_colon() -> None:
    # §25.1: SLASH = SWS "/" SWS, COLON = SWS ":" SWS (RFC 4475 §3.1.1.1).
    via = Via.parse("SIP  / 2.0  / TCP     spindle.example.com :  5061  ; branch  =   z9hG4bK9")
    assert (via.transport, via.host, via.port, via.branch) == (
        "TCP",
        "spindle.example.com",
        5061,
        "z9hG4bK9",
    )


def test_via_server_filled_received_rport_and_maddr() -> None:
    via = Via.parse("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];rport=5070;maddr=[::1]")
    assert via.host == "2001:db8::9:1"
    assert via.received == "2001:db8::9:255"  # RFC 5118 §4.5: brackets tolerated, dropped
    assert via.rport == 5070
    assert not via.rport_requested
    assert via.maddr == "::1"
    assert str(via).startswith("SIP/2.0/UDP [2001:db8::9:1];")
    bare = Via.parse("SIP/2.0/UDP h;received=2001:db8::9:255;maddr=239.255.255.1")
    assert bare.received == "2001:db8::9:255"
    assert bare.maddr == "239.255.255.1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0 host",
        "SIP/2.0/UDP 192.0.2.15;;",  # RFC 4475 §3.1.2.1
        "SIP/2.0/UDP host;branch",
        "SIP/2.0/UDP host;branch=",
        'SIP/2.0/UDP host;branch="quoted"',
        "SIP/2.0/UDP host;received=host.example.com",
        "SIP/2.0/UDP host;received",
        "SIP/2.0/UDP host;rport=99999",
        "SIP/2.0/UDP host;maddr",
        "SIP/2.0/UDP host;maddr=-x-",
        "SIP/2.0/UDP host;maddr=[zz]",
        "SIP/2.0/UDP host;maddr=[::1",
        "SIP/2.0/UDP host;ttl",
        "SIP/2.0/UDP host;ttl=256",
        "SIP/2.0/UDP host;ttl=0001",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP 2001:db8::1",
        "SIP/2.0/UDP host garbage",
    ],
)
def test_via_refuses_malformed_values(text: str) -> None:
    with pytest.raises(ParseError):
        Via.parse(text)


def test_via_round_trips_through_str() -> None:
    via = Via(transport="TLS", host="2001:db8::1", port=5061, params=Params((("branch", "z9"),)))
    assert Via.parse(str(via)) == via


# --- NameAddr ---------------------------------------------------------------------------------


def test_name_addr_with_quoted_display_name_and_tag() -> None:
    value = NameAddr.parse('"J Rosenberg \\\\\\""  <sip:jdrosen@example.com> ;  tag = 98asjd8')
    assert value.display_name == 'J Rosenberg \\"'  # quoted-pairs resolved (§25.1)
    assert value.uri == SipUri(user="jdrosen", host="example.com")
    assert value.tag == "98asjd8"
    assert value.sip_uri == value.uri


def test_name_addr_token_display_name_may_touch_the_angle_bracket() -> None:
    # RFC 4475 §3.1.1.6: "caller<sip:caller@example.com>" is accepted.
    assert NameAddr.parse("caller<sip:caller@example.com>;tag=323").display_name == "caller"
    assert NameAddr.parse("A  B  <sip:a@b.example>").display_name == "A  B"


def test_name_addr_without_display_name() -> None:
    value = NameAddr.parse("<sip:a@b.example;lr>")
    assert value.display_name is None
    assert value.tag is None
    assert "lr" in value.uri.params  # type: ignore[union-attr]


def test_bare_addr_spec_parameters_belong_to_the_header_field() -> None:
    # §20.10 / RFC 4475 §3.3.12: without <>, ";unknownparam" is a header parameter.
    value = NameAddr.parse("sip:+19725552222@gw1.example.net ; unknownparam;tag=9")
    assert value.uri == SipUri(user="+19725552222", host="gw1.example.net")
    assert value.params.items == (("unknownparam", None), ("tag", "9"))


def test_bare_addr_spec_may_use_any_absolute_uri() -> None:
    # RFC 4475 §3.3.4: isbn:, http:, name: URIs in To, From, Contact.
    assert NameAddr.parse("isbn:2983792873").uri == AbsoluteUri(scheme="isbn", opaque="2983792873")


@pytest.mark.parametrize(
    "text",
    [
        '"Mr. J. User <sip:j.user@example.com>',  # RFC 4475 §3.1.2.6: unterminated quote
        "< sip:t.watson@example.org >",  # RFC 4475 §3.1.2.14: spaces inside <>
        "Watson, Thomas <sip:t.watson@example.org>",  # RFC 4475 §3.1.2.15
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",  # RFC 4475 §3.1.2.13
        '"name" sip:a@b.example',  # quoted name needs <>
        '"name" x <sip:a@b.example>',
        "<sip:a@b.example",
        "<sip:a@b.example> junk",
        "",
    ],
)
def test_name_addr_refuses_malformed_values(text: str) -> None:
    with pytest.raises(ParseError):
        NameAddr.parse(text)


def test_name_addr_str_always_quotes_the_display_name_and_uses_angle_brackets() -> None:
    value = NameAddr.parse("Bob <sip:bob@b.example>;tag=x")
    assert str(value) == '"Bob" <sip:bob@b.example>;tag=x'
    tricky = NameAddr(uri=SipUri(host="h.example"), display_name='a"b\\c\x00\td')
    assert str(tricky) == '"a\\"b\\\\c\\\x00\td" <sip:h.example>'
    assert NameAddr.parse(str(tricky)) == tricky
    assert str(NameAddr(uri=SipUri(host="h.example"), display_name="")) == '"" <sip:h.example>'


def test_name_addr_with_tag_adds_or_replaces_the_tag() -> None:
    value = NameAddr.parse("<sip:a@b.example>;x=1")
    assert str(value.with_tag("t1")) == "<sip:a@b.example>;x=1;tag=t1"
    assert value.with_tag("t1").with_tag("t2").tag == "t2"


def test_name_addr_sip_uri_is_none_for_other_schemes() -> None:
    assert NameAddr.parse("<tel:+15551234>").sip_uri is None


def test_tagless_name_addrs_and_cseqs_are_shared_values_and_their_caches_stay_bounded() -> None:
    # A peer's Contact, the To of a number dialled again, "1 INVITE": parsed once, one
    # immutable value for every message with the same text.
    contact = NameAddr.parse("<sip:sbc@192.0.2.1:5060;transport=udp>")
    assert NameAddr.parse("<sip:sbc@192.0.2.1:5060;transport=udp>") is contact
    assert CSeq.parse("1 INVITE") is CSeq.parse("1 INVITE")
    # A tag is new at every call (§19.3): such values are not kept.
    tagged = '"Alice" <sip:alice@example.com>;tag=1928301774'
    assert NameAddr.parse(tagged) == NameAddr.parse(tagged)
    assert tagged not in fields._NAME_ADDRS
    for n in range(fields._KEPT_MAX + 1):
        assert NameAddr.parse(f"<sip:{n}@cache.example>").uri == SipUri(
            user=str(n), host="cache.example"
        )
        assert CSeq.parse(f"{n} INVITE") == CSeq(n, "INVITE")
    assert len(fields._NAME_ADDRS) <= fields._KEPT_MAX
    assert len(fields._CSEQS) <= fields._KEPT_MAX
    long = f"<sip:{'a' * uri.KEPT_TEXT_MAX}@cache.example>"
    assert NameAddr.parse(long).uri == SipUri(user="a" * uri.KEPT_TEXT_MAX, host="cache.example")
    assert long not in fields._NAME_ADDRS
    long_cseq = f"{'0' * uri.KEPT_TEXT_MAX}1 INVITE"
    assert CSeq.parse(long_cseq) == CSeq(1, "INVITE")
    assert long_cseq not in fields._CSEQS


def test_display_name_with_cr_or_lf_cannot_be_rendered() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        str(NameAddr(uri=SipUri(host="h.example"), display_name="a\r\nb"))


# --- CSeq, Max-Forwards, Content-Length, Call-ID, media types ---------------------------------


def test_cseq_number_and_method() -> None:
    assert CSeq.parse("0009 INVITE") == CSeq(9, "INVITE")  # RFC 4475 §3.1.1.1: leading zeros
    assert CSeq.parse(f"{2**32 - 1} ACK").number == 2**32 - 1
    assert str(CSeq(1, "BYE")) == "1 BYE"


@pytest.mark.parametrize(
    "text",
    ["", "1", "INVITE", "1INVITE", "-1 INVITE", f"{2**32} INVITE", "36893488147419103232 REGISTER"],
)
def test_cseq_refuses_malformed_or_overlarge_values(text: str) -> None:
    # §8.1.1.5: "expressible as a 32-bit unsigned integer" (RFC 4475 §3.1.2.4).
    with pytest.raises(ParseError):
        CSeq.parse(text)


def test_cseq_with_thousands_of_leading_zeros_is_read_without_overflowing() -> None:
    assert CSeq.parse("0" * 5000 + "7 INVITE").number == 7


def test_max_forwards_is_0_to_255() -> None:
    # §20.22: "an integer in the range 0-255" (RFC 4475 §3.1.2.4: 300 is out of range).
    assert parse_max_forwards("0068") == 68
    assert parse_max_forwards("0") == 0
    for text in ("256", "300", "-1", "", "7a", "٣"):
        with pytest.raises(ParseError):
            parse_max_forwards(text)


def test_content_length_is_digits_never_negative() -> None:
    # §20.14; RFC 4475 §3.1.2.3: "-999" is refused.
    assert parse_content_length("150") == 150
    for text in ("-999", "", "1.5", "99999999999"):
        with pytest.raises(ParseError):
            parse_content_length(text)


def test_call_id_is_word_optionally_at_word() -> None:
    # §25.1: callid = word [ "@" word ] (RFC 4475 §3.1.1.2's odd characters included).
    assert parse_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{") is not None
    for text in ("", "a b", "a@b@c", "@b", "a@"):
        with pytest.raises(ParseError):
            parse_call_id(text)


def test_media_type_is_lower_cased_without_parameters() -> None:
    assert parse_media_type("Application/SDP") == "application/sdp"
    assert parse_media_type("multipart/mixed;boundary=7a9cbec02ceef655") == "multipart/mixed"
    for text in ("", "sdp", "*/*", "text/*", "a/b;", "a/b c"):
        with pytest.raises(ParseError):
            parse_media_type(text)
