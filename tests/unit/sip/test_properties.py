"""Hypothesis properties: any octets give a message or ParseError; values round-trip."""

import contextlib
import dataclasses
import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from vacant.errors import ParseError
from vacant.sip import (
    Headers,
    NameAddr,
    Params,
    Request,
    Response,
    SipUri,
    StreamFramer,
    TelUri,
    Via,
    make_response,
    parse_message,
    parse_uri,
    reply_to_unparseable,
    validate_request,
    validate_response,
)
from vacant.sip.headers import KNOWN_SPELLINGS

FAST = settings(max_examples=300, deadline=None)
ROUND_TRIP = settings(max_examples=150, deadline=None)

# --- arbitrary input --------------------------------------------------------------------------

# Pieces of real messages, so that random concatenations get past the first checks.
FRAGMENTS = [
    b"INVITE sip:a@b.example SIP/2.0\r\n",
    b"SIP/2.0 200 OK\r\n",
    b"Via: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n",
    b"v: SIP/2.0/TCP [2001:db8::1]:5061;received=[::1];rport\r\n",
    b'From: "A \\" B" <sip:a@b.example>;tag=1\r\n',
    b"t: <sips:c@d.example;lr>\r\n",
    b"Call-ID: x@y\r\n",
    b"CSeq: 1 INVITE\r\n",
    b"Max-Forwards: 70\r\n",
    b"Contact: *\r\n",
    b"m: <sip:e@f.example?h=v>, sip:g@h.example;q=1\r\n",
    b"Require: timer\r\n",
    b"Content-Type: application/sdp\r\n",
    b"Content-Length: 3\r\n",
    b"l: 0\r\n",
    b" folded\r\n",
    b"\r\n",
    b"abc",
    b'"',
    b"<",
    b";",
    b",",
    b"%",
    b"\x00",
    b"\xff",
]

octets = st.one_of(
    st.binary(max_size=512),
    st.lists(st.sampled_from(FRAGMENTS), max_size=16).map(b"".join),
)


@FAST
@given(octets)
def test_any_octets_give_a_message_or_parse_error_and_nothing_else(data: bytes) -> None:
    # The parser contract (DESIGN.md §4, style guide §2.8), carried through every entry point a
    # received message reaches.
    rng = random.Random(0)
    try:
        message = parse_message(data)
    except ParseError as exc:
        if exc.status_hint is not None:
            reply_to_unparseable(data, exc.status_hint, rng)
    else:
        for view in ("top_via", "vias", "call_id", "cseq", "from_", "to", "contacts", "routes"):
            with contextlib.suppress(ParseError):
                getattr(message, view)
        if isinstance(message, Request):
            rejection = validate_request(message)
            status = 200 if rejection is None else rejection.status
            make_response(message, status, rng).serialize()
        else:
            validate_response(message)
        message.serialize()
    framer = StreamFramer()
    try:
        framer.feed(data)
        while framer.next_frame() is not None:
            pass
    except ParseError:
        pass


#: Fields every name of which the one-pass splitter knows, with WSP around their values, and
#: values of any printable ASCII (colons, semicolons and inner spaces included).
known_fields = st.lists(
    st.tuples(
        st.sampled_from(sorted(KNOWN_SPELLINGS)),
        st.text(alphabet=" \t", max_size=3),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24),
        st.text(alphabet=" \t", max_size=3),
    ),
    min_size=1,
    max_size=12,
)


def _fields_or_error(data: bytes) -> list[tuple[str, str]] | str:
    try:
        return parse_message(data).headers.items()
    except ParseError as exc:
        return str(exc)


@FAST
@given(known_fields)
def test_both_header_splitters_read_the_same_fields(
    fields: list[tuple[str, str, str, str]],
) -> None:
    # The one-pass splitter takes a section whose every name it knows; one field it does not
    # know sends the whole section through the general splitter (§7.3.1), which must read the
    # same fields, or fail the same way (a Content-Length that is no number, say).
    section = "".join(f"{name}:{before}{value}{after}\r\n" for name, before, value, after in fields)
    start = b"OPTIONS sip:a@b.example SIP/2.0\r\n" + section.encode()
    known = _fields_or_error(start + b"\r\n")
    general = _fields_or_error(start + b"X-Not-Known: 1\r\n\r\n")
    if isinstance(general, list):
        assert general[-1] == ("X-Not-Known", "1")
        general = general[:-1]
    assert known == general
    if isinstance(known, list):
        assert [value for _, value in known] == [v.strip(" \t") for _, _, v, _ in fields]


# --- value strategies ------------------------------------------------------------------------

# Any text that UTF-8 can carry (no lone surrogates), which escaping must round-trip.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
nonempty = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
hostname = st.from_regex(
    r"(?:[A-Za-z0-9]{1,5}(?:-[A-Za-z0-9]{1,3})?\.){0,3}[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True
)
hosts = st.one_of(
    hostname,
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: ipaddress.IPv6Address(a).compressed),
)
ports = st.one_of(st.none(), st.integers(0, 65535))
uri_params = st.lists(st.tuples(nonempty, st.one_of(st.none(), nonempty)), max_size=3).map(
    lambda items: Params(tuple(items))
)

sip_uris = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), nonempty),
    password=st.one_of(st.none(), text),
    host=hosts,
    port=ports,
    params=uri_params,
    headers=st.lists(st.tuples(nonempty, text), max_size=2).map(tuple),
).map(lambda uri: uri if uri.user is not None else dataclasses.replace(uri, password=None))

tel_uris = st.builds(
    TelUri,
    number=st.one_of(
        st.from_regex(r"\+[0-9][0-9\-.()]{0,10}", fullmatch=True),
        st.from_regex(r"[0-9A-Fa-f*#]{1,8}", fullmatch=True),
    ),
    params=st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z0-9\-]{1,8}", fullmatch=True),
            st.one_of(st.none(), nonempty),
        ),
        max_size=3,
    ).map(lambda items: Params(tuple(items))),
)

tokens = st.from_regex(r"[A-Za-z0-9\-.!%*_+`'~]{1,10}", fullmatch=True)
header_params = st.lists(st.tuples(tokens, st.one_of(st.none(), tokens)), max_size=3).map(
    lambda items: Params(tuple(items))
)
display_names = st.one_of(
    st.none(),
    st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"),
        max_size=12,
    ),
)
name_addrs = st.builds(
    NameAddr,
    uri=st.one_of(sip_uris, tel_uris),
    display_name=display_names,
    params=header_params,
)


@ROUND_TRIP
@given(sip_uris)
def test_sip_uri_round_trips_through_str(uri: SipUri) -> None:
    # §19.1.2: what each component cannot carry is escaped, and unescaped again on parsing.
    assert SipUri.parse(str(uri)) == uri
    assert parse_uri(str(uri)) == uri


@ROUND_TRIP
@given(tel_uris)
def test_tel_uri_round_trips_through_str(uri: TelUri) -> None:
    assert TelUri.parse(str(uri)) == uri


@ROUND_TRIP
@given(name_addrs)
def test_name_addr_round_trips_through_str(value: NameAddr) -> None:
    assert NameAddr.parse(str(value)) == value


@ROUND_TRIP
@given(
    transport=st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS"]),
    host=hosts,
    port=ports,
    params=header_params,
)
def test_via_round_trips_through_str(
    transport: str, host: str, port: int | None, params: Params
) -> None:
    # Only extension parameters: branch, received, ttl, ... have their own value rules.
    params = Params(tuple((f"x{name}", value) for name, value in params))
    via = Via(transport=transport, host=host, port=port, params=params)
    assert Via.parse(str(via)) == via


# --- messages ---------------------------------------------------------------------------------

field_values = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=30
).map(lambda value: value.strip(" \t"))
field_names = tokens.filter(lambda name: name.lower() not in ("content-length", "l"))
fields = st.lists(st.tuples(field_names, field_values), max_size=8)
bodies = st.binary(max_size=64)


def _with_length(items: list[tuple[str, str]], body: bytes) -> Headers:
    return Headers([*items, ("Content-Length", str(len(body)))])


requests = st.builds(
    lambda method, uri, items, body: Request(method, uri, _with_length(items, body), body),
    tokens,
    st.one_of(sip_uris, tel_uris),
    fields,
    bodies,
)
responses = st.builds(
    lambda status, reason, items, body: Response(status, reason, _with_length(items, body), body),
    st.integers(100, 699),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20),
    fields,
    bodies,
)


@ROUND_TRIP
@given(st.one_of(requests, responses))
def test_message_round_trips_through_serialize_and_parse(message: Request | Response) -> None:
    # Style guide §2.10: parse(serialize(m)) == m.
    assert parse_message(message.serialize()) == message


@ROUND_TRIP
@given(st.one_of(requests, responses), st.integers(0, 3))
def test_stream_of_serialized_messages_frames_back_into_them(
    message: Request | Response, pings: int
) -> None:
    wire = message.serialize()
    framer = StreamFramer()
    framer.feed(b"\r\n\r\n" * pings + wire + wire)
    frames = list(iter(framer.next_frame, None))
    assert frames[pings:] == [wire, wire]
