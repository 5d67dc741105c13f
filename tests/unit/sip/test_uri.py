"""SIP, SIPS, tel and other URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118)."""

import pytest

from vacant.errors import ParseError
from vacant.sip import AbsoluteUri, Params, SipUri, TelUri, parse_uri, uri
from vacant.sip.uri import format_host, is_address, is_ipv4, is_ipv6, parse_host, parse_port


def test_sip_uri_components_are_parsed_and_unescaped() -> None:
    uri = SipUri.parse(
        "sip:al%69ce:se%63ret@Example.COM:5070;transport=TCP;lr?Subject=hi%20there&x="
    )
    assert uri == SipUri(
        user="alice",
        password="secret",
        host="Example.COM",
        port=5070,
        params=Params((("transport", "TCP"), ("lr", None))),
        headers=(("Subject", "hi there"), ("x", "")),
    )
    assert uri.transport == "tcp"
    assert uri.lr


def test_sip_uri_scheme_is_case_insensitive_and_stored_lower_case() -> None:
    # §19.1.4: "comparison of the scheme ... is case-insensitive".
    assert SipUri.parse("SIP:a@b.example").scheme == "sip"
    assert SipUri.parse("SiPs:a@b.example").scheme == "sips"


def test_sip_uri_without_userinfo_may_carry_a_port() -> None:
    uri = SipUri.parse("sip:proxy.example.com:5060")
    assert (uri.user, uri.host, uri.port) == (None, "proxy.example.com", 5060)
    assert uri.transport is None
    assert not uri.lr


def test_sip_uri_escaping_round_trips_through_str() -> None:
    # RFC 4475 §3.1.1.3: the user part embeds "sips:user@example.com" escaped.
    text = "sip:sips%3Auser%40example.com@example.net"
    uri = SipUri.parse(text)
    assert uri.user == "sips:user@example.com"
    assert str(uri) == text
    assert SipUri.parse(str(uri)) == uri


def test_sip_uri_text_is_rendered_once_and_takes_no_part_in_equality() -> None:
    # A URI parse_uri saw lately is the same object, so its text is made once for every call
    # record that names it; the memo is not a component (equal and hashed as before).
    uri = parse_uri("sip:+14255550100@PBX.example.com;user=phone")
    assert parse_uri("sip:+14255550100@PBX.example.com;user=phone") is uri
    assert str(uri) == "sip:+14255550100@PBX.example.com;user=phone"
    assert str(uri) is str(uri)
    fresh = SipUri(user="+14255550100", host="PBX.example.com",
                   params=Params((("user", "phone"),)))  # fmt: skip
    assert fresh == uri
    assert hash(fresh) == hash(uri)
    assert repr(fresh) == repr(uri)


def test_sip_uri_str_escapes_only_what_each_component_cannot_carry() -> None:
    uri = SipUri(
        user="a b;c?d/e@",
        password="p:q",
        host="h.example",
        params=Params((("n ame", "v;al"), ("flag", None))),
        headers=(("h&", "v="),),
    )
    assert str(uri) == "sip:a%20b;c?d/e%40:p%3Aq@h.example;n%20ame=v%3Bal;flag?h%26=v%3D"
    assert SipUri.parse(str(uri)) == uri


def test_sip_uri_escaped_nul_is_kept_not_truncated() -> None:
    # RFC 4475 §3.1.1.4: unescaping must not cut the user name at the NUL.
    assert SipUri.parse("sip:null-%00-null@example.com").user == "null-\x00-null"


def test_sip_uri_non_utf8_escapes_survive_as_surrogates_and_round_trip() -> None:
    uri = SipUri.parse("sip:%FF%FE@example.com")
    assert str(uri) == "sip:%FF%FE@example.com"


def test_sip_uri_ipv6_reference_host_is_stored_without_brackets() -> None:
    # RFC 5118 §4.4: the port follows the "]".
    uri = SipUri.parse("sip:[2001:db8::10]:5070")
    assert (uri.host, uri.port) == ("2001:db8::10", 5070)
    assert str(uri) == "sip:[2001:db8::10]:5070"


def test_sip_uri_port_inside_the_brackets_is_part_of_the_address() -> None:
    uri = SipUri.parse("sip:[2001:db8::10:5070]")  # RFC 5118 §4.3
    assert (uri.host, uri.port) == ("2001:db8::10:5070", None)


@pytest.mark.parametrize(
    "text",
    [
        "sip:",  # no host
        "sip:@example.com",  # empty user
        "sip:user@",  # no host after @
        "sip:2001:db8::10",  # RFC 5118 §4.2: IPv6 without brackets
        "sip:[2001:db8::10",  # unclosed bracket
        "sip:[2001:db8::zz]",  # not an address
        "sip:user@example.com:99999",  # port beyond 16 bits
        "sip:user@example.com:123456",  # port beyond 5 digits
        "sip:user@example.com;",  # empty parameter
        "sip:user@example.com;a=",  # pvalue = 1*paramchar
        "sip:user@example.com?",  # empty headers
        "sip:user@example.com?novalue",  # header without "="
        "sip:user@example.com; lr",  # RFC 4475 §3.1.2.8: LWS inside
        "sip:us%zzer@example.com",  # bad escape
        "sip:user@exa mple.com",
        "sip:user@-bad-.example.com",
        "sip:user@256.1.1.1",  # neither an IPv4 address nor a hostname (numeric toplabel)
        "sip:user@example.123",  # toplabel must start with a letter
        "tel:+1",  # not a SIP URI at all
        "sipx:user@example.com",
        "<sip:user@example.com>",  # RFC 4475 §3.1.2.7
    ],
)
def test_sip_uri_parse_refuses_text_outside_the_grammar(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        SipUri.parse(text)
    assert caught.value.status_hint == 400


def test_hostname_may_end_in_a_dot() -> None:
    assert parse_host("example.com.") == "example.com."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", True),
        ("255.255.255.255", True),
        ("0.0.0.0", True),
        ("249.250.199.200", True),
        ("001.02.3.004", True),  # 1*3DIGIT: leading zeros are digits too
        ("256.0.0.1", False),
        ("1.2.3.260", False),
        ("300.1.1.1", False),
        ("1.2.3", False),
        ("1.2.3.4.5", False),
        ("1234.1.1.1", False),
        ("1.2.3.", False),
        ("1.2.3.x", False),
    ],
)
def test_ipv4_octets_are_at_most_255(text: str, expected: bool) -> None:
    assert is_ipv4(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001:db8::10", True),
        ("::ffff:192.0.2.1", True),
        ("2001:db8::192.0.2.1", True),  # RFC 5118 §4.10, RFC 4291 form
        ("2001:db8:::192.0.2.1", True),  # RFC 5118 §4.10, RFC 3261 ABNF form: tolerated
        (":::1", False),  # three colons only before an IPv4 tail
        ("2001:db8:::1:2", False),
        ("2001:db8::g", False),
        ("1:2:3:4:5:6:7:8:9", False),
        ("fe80::1%eth0", False),  # no zone ids in SIP
    ],
)
def test_ipv6_address_forms(text: str, expected: bool) -> None:
    assert is_ipv6(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", True),
        ("2001:db8::10", True),
        ("256.0.0.1", False),
        ("[2001:db8::10]", False),  # received holds the address, brackets or not: callers strip
        ("host.example", False),
        ("", False),
    ],
)
def test_an_address_is_an_ipv4_or_ipv6_address_and_the_answer_is_kept(
    text: str, expected: bool
) -> None:
    """§18.2.1: what ``received`` may hold; the second answer comes from the kept ones."""
    assert is_address(text) is expected
    assert uri._ADDRESSES[text] is expected
    assert is_address(text) is expected


def test_kept_answers_about_addresses_stay_bounded() -> None:
    for n in range(uri._HOSTS_MAX + 1):
        assert is_address(f"10.0.{n // 256}.{n % 256}")
    assert len(uri._ADDRESSES) <= uri._HOSTS_MAX
    long = "0" * uri.KEPT_TEXT_MAX + ":1"
    assert not is_address(long)
    assert long not in uri._ADDRESSES


def test_format_host_brackets_ipv6_only() -> None:
    assert format_host("2001:db8::1") == "[2001:db8::1]"
    assert format_host("192.0.2.1") == "192.0.2.1"


@pytest.mark.parametrize("text", ["", "-1", "65536", "1e3", "٣"])
def test_port_is_ascii_digits_up_to_65535(text: str) -> None:
    with pytest.raises(ParseError):
        parse_port(text)


def test_port_leading_zeros_are_allowed() -> None:
    assert parse_port("05060") == 5060


def test_tel_uri_global_number_with_parameters() -> None:
    uri = TelUri.parse("tel:+1-201-555-0123;ext=1234;phone-context=example.com;isub=ab%20c")
    assert uri.number == "+1-201-555-0123"
    assert uri.is_global
    assert uri.ext == "1234"
    assert uri.phone_context == "example.com"
    assert uri.params.get("isub") == "ab c"
    assert str(uri) == "tel:+1-201-555-0123;ext=1234;phone-context=example.com;isub=ab%20c"
    assert TelUri.parse(str(uri)) == uri


def test_tel_uri_local_number_with_phone_context() -> None:
    uri = TelUri.parse("TEL:7042;phone-context=+1-201-555")
    assert (uri.number, uri.is_global, uri.phone_context, uri.ext) == (
        "7042",
        False,
        "+1-201-555",
        None,
    )
    assert str(uri) == "tel:7042;phone-context=+1-201-555"


def test_tel_uri_local_number_without_phone_context_is_tolerated() -> None:
    # RFC 3966 §5.1.5 makes senders add one; the routing layer applies its own plan instead.
    assert TelUri.parse("tel:*31#").phone_context is None


@pytest.mark.parametrize(
    "text",
    ["tel:", "tel:+", "tel:+1-x", "tel:12;", "tel:12;a b=1", "tel:12;a=", "sip:+1@h", "tel"],
)
def test_tel_uri_parse_refuses_text_outside_rfc_3966(text: str) -> None:
    with pytest.raises(ParseError):
        TelUri.parse(text)


def test_absolute_uri_keeps_other_schemes_opaque() -> None:
    # RFC 4475 §3.3.2, §3.3.3: unknown schemes parse; the validator answers 416.
    uri = AbsoluteUri.parse("soap.beep://192.0.2.103:3002")
    assert (uri.scheme, uri.opaque) == ("soap.beep", "//192.0.2.103:3002")
    assert str(uri) == "soap.beep://192.0.2.103:3002"
    assert AbsoluteUri.parse("NobodyKnowsThisScheme:x").scheme == "nobodyknowsthisscheme"


@pytest.mark.parametrize("text", ["", "noscheme", "1abc:x", "http:", "http:a b", "x:<y>"])
def test_absolute_uri_parse_refuses_non_uris(text: str) -> None:
    with pytest.raises(ParseError):
        AbsoluteUri.parse(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("sip:a@b.example", SipUri),
        ("sips:a@b.example", SipUri),
        ("SIPS:a@b.example", SipUri),
        ("tel:+15551234", TelUri),
        ("http://example.com/", AbsoluteUri),
        ("sipx:a", AbsoluteUri),
    ],
)
def test_parse_uri_dispatches_on_the_scheme(text: str, kind: type) -> None:
    assert isinstance(parse_uri(text), kind)


def test_parsed_uris_are_shared_values_and_the_cache_of_them_stays_bounded() -> None:
    first = parse_uri("sip:shared@cache.example")
    assert parse_uri("sip:shared@cache.example") is first  # immutable, so one value serves
    for n in range(uri._PARSED_MAX + 1):
        assert parse_uri(f"sip:{n}@cache.example") == SipUri(user=str(n), host="cache.example")
    assert len(uri._PARSED) <= uri._PARSED_MAX
    long = f"sip:{'a' * uri.KEPT_TEXT_MAX}@cache.example"
    assert parse_uri(long).user == "a" * uri.KEPT_TEXT_MAX
    assert long not in uri._PARSED


def test_accepted_hosts_are_remembered_boundedly_and_bad_ones_never() -> None:
    assert parse_host("[2001:db8::7]") == "2001:db8::7"
    assert uri._HOSTS["[2001:db8::7]"] == "2001:db8::7"
    for n in range(uri._HOSTS_MAX + 1):
        assert parse_host(f"h{n}.cache.example") == f"h{n}.cache.example"
    assert len(uri._HOSTS) <= uri._HOSTS_MAX
    long = f"{'a' * uri.KEPT_TEXT_MAX}.example"
    assert parse_host(long) == long
    assert long not in uri._HOSTS
    with pytest.raises(ParseError):
        parse_host("bad_host")
    assert "bad_host" not in uri._HOSTS


def test_params_lookup_is_case_insensitive_and_distinguishes_flags() -> None:
    # §7.3.1: parameter names are case-insensitive.
    params = Params((("Transport", "udp"), ("lr", None)))
    assert params.get("transport") == "udp"
    assert params.get("LR") is None
    assert "LR" in params
    assert "maddr" not in params
    assert 5 not in params
    assert params.get("missing") is None
    assert len(params) == 2
    assert list(params) == [("Transport", "udp"), ("lr", None)]
    # The first of the name, whatever its case: not the first written exactly as asked.
    assert Params((("TAG", "a"), ("tag", "b"))).get("tag") == "a"
    assert Params((("tags", "a"), ("Tag", "b"))).get("tag") == "b"


def test_params_replace_sets_in_place_drops_duplicates_and_appends_when_absent() -> None:
    params = Params((("a", "1"), ("tag", "x"), ("b", None), ("TAG", "y")))
    assert params.replace("tag", "z").items == (("a", "1"), ("tag", "z"), ("b", None))
    assert params.replace("new", None).items[-1] == ("new", None)
    assert params.remove("TAG").items == (("a", "1"), ("b", None))
