"""The header multimap: order, case-insensitive names, compact forms, list splitting (§7.3)."""

import pytest

from vacant.errors import ParseError
from vacant.sip import COMPACT_FORMS, Headers, header_key, split_commas
from vacant.sip.headers import check_field


def test_header_names_are_case_insensitive() -> None:
    # §7.3.1: "field names are always case-insensitive".
    headers = Headers([("MaX-fOrWaRdS", "70")])
    assert headers.get("max-forwards") == "70"
    assert headers.get("Max-Forwards") == "70"
    assert "MAX-FORWARDS" in headers


@pytest.mark.parametrize(("compact", "long"), sorted(COMPACT_FORMS.items()))
def test_compact_form_resolves_to_the_long_name_on_lookup(compact: str, long: str) -> None:
    # §7.3.3: the compact form and the long form are the same header.
    headers = Headers([(compact, "x"), (long.title(), "y")])
    assert headers.get_all(long) == ["x", "y"]
    assert headers.get_all(compact.upper()) == ["x", "y"]
    assert header_key(compact) == header_key(compact.upper()) == long


def test_rfc_3261_compact_forms_are_all_known() -> None:
    # §7.3.3 and §20: i m e l c f s k t v; RFC 6665 o u; RFC 3515 r.
    expected = {
        "i": "call-id",
        "m": "contact",
        "e": "content-encoding",
        "l": "content-length",
        "c": "content-type",
        "f": "from",
        "s": "subject",
        "k": "supported",
        "t": "to",
        "v": "via",
        "o": "event",
        "u": "allow-events",
        "r": "refer-to",
    }
    assert expected.items() <= COMPACT_FORMS.items()


def test_fields_keep_their_order_spelling_and_raw_value() -> None:
    fields = [("v", "SIP/2.0/UDP a"), ("To", "<sip:b@c>"), ("Via", "SIP/2.0/UDP d"), ("X-Odd", "")]
    headers = Headers(fields)
    assert list(headers) == fields
    assert headers.items() == fields
    assert len(headers) == 4
    assert headers.get_all("via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP d"]
    assert headers.get("x-odd") == ""
    assert headers.count("VIA") == 2
    assert headers.get("missing") is None
    assert headers.get_all("missing") == []
    assert 3 not in headers
    assert repr(headers).startswith("Headers([('v', ")
    assert [key for key, _, _ in headers.keyed()] == ["via", "to", "via", "x-odd"]


def test_values_splits_list_headers_across_fields() -> None:
    # §7.3.1: several field lines of a list header are one comma-separated list.
    headers = Headers([("Via", "SIP/2.0/UDP a, SIP/2.0/UDP b"), ("v", "SIP/2.0/TCP c")])
    assert headers.values("via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b", "SIP/2.0/TCP c"]
    assert headers.first_value("via") == "SIP/2.0/UDP a"
    assert headers.first_value("route") is None
    assert Headers([("Route", "<sip:a>")]).first_value("route") == "<sip:a>"


def test_split_commas_respects_quoted_strings_and_angle_brackets() -> None:
    value = '"Doe, John" <sip:j@x;a=b,c>;q=0.5 , <sip:k@y> ,"\\"quoted, escaped\\"" <sip:z@w>'
    assert split_commas(value) == [
        '"Doe, John" <sip:j@x;a=b,c>;q=0.5',
        "<sip:k@y>",
        '"\\"quoted, escaped\\"" <sip:z@w>',
    ]


def test_split_commas_keeps_empty_elements_for_the_typed_view_to_refuse() -> None:
    # RFC 4475 §3.1.2.1: "SIP/2.0/UDP 192.0.2.15;;,;,," has empty via-parms.
    assert split_commas("a,,b") == ["a", "", "b"]
    assert split_commas('"x",') == ['"x"', ""]


@pytest.mark.parametrize("value", ['"unterminated, a', "<sip:a@b, c", '"ok" <sip:a'])
def test_split_commas_refuses_unterminated_quotes_and_brackets(value: str) -> None:
    with pytest.raises(ParseError):
        split_commas(value)


def test_add_set_and_remove_keep_order_and_bump_the_revision() -> None:
    headers = Headers([("Via", "a"), ("To", "t"), ("v", "b")])
    revision = headers.revision
    headers.add("Contact", "<sip:c@d>")
    assert headers.revision > revision
    headers.set("VIA", "only")
    assert list(headers) == [("Via", "only"), ("To", "t"), ("Contact", "<sip:c@d>")]
    headers.set("Subject", "new")
    assert headers.get("subject") == "new"
    assert headers.remove("to") == 1
    assert headers.remove("to") == 0
    assert list(headers) == [("Via", "only"), ("Contact", "<sip:c@d>"), ("Subject", "new")]


def test_copy_is_independent() -> None:
    headers = Headers([("To", "t")])
    copy = headers.copy()
    copy.add("From", "f")
    assert "from" not in headers
    assert copy != headers
    assert copy == Headers([("to", "t"), ("f", "f")])


def test_equality_compares_keys_and_values_in_order() -> None:
    assert Headers([("v", "a")]) == Headers([("Via", "a")])
    assert Headers([("Via", "a"), ("To", "b")]) != Headers([("To", "b"), ("Via", "a")])
    assert Headers() != "not headers"


@pytest.mark.parametrize(
    ("name", "value"),
    [("Bad Name", "x"), ("", "x"), ("X", "a\r\nInjected: 1"), ("X", "a\nb"), ("X", "a\rb")],
)
def test_fields_that_would_not_serialize_as_one_line_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="header"):
        check_field(name, value)
    with pytest.raises(ValueError, match="header"):
        Headers().add(name, value)
