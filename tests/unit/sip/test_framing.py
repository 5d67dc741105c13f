"""StreamFramer: Content-Length framing on TCP/TLS and CRLF keep-alives (§18.3, RFC 5626)."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vacant.errors import ParseError
from vacant.sip import PING, PONG, Limits, Ping, StreamFramer, parse_message

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"


def _frames(framer: StreamFramer) -> list[bytes | Ping]:
    out: list[bytes | Ping] = []
    while (frame := framer.next_frame()) is not None:
        out.append(frame)
    return out


def _feed_in_pieces(data: bytes, cuts: list[int]) -> list[bytes | Ping]:
    framer = StreamFramer()
    out: list[bytes | Ping] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        framer.feed(data[start:cut])
        out += _frames(framer)
        start = cut
    return out


def _stream(wire: SimpleNamespace) -> tuple[bytes, list[bytes | Ping]]:
    one = wire.request(body=b"v=0\r\n", extra=[("Content-Type", "application/sdp")])
    two = wire.response(180, "Ringing")
    three = wire.request("BYE")
    data = b"\r\n" + one + b"\r\n\r\n" + two + b"\r\n" + three + b"\r\n\r\n\r\n\r\n"
    return data, [one, PING, two, three, PING, PING]


def test_stream_is_cut_into_messages_and_pings(wire: SimpleNamespace) -> None:
    data, expected = _stream(wire)
    framer = StreamFramer()
    framer.feed(data)
    assert _frames(framer) == expected
    assert framer.buffered == 0
    assert PONG == b"\r\n"  # RFC 5626 §4.4.1: "the server responds with a single CRLF"


def test_stream_fed_one_octet_at_a_time_yields_the_same_frames(wire: SimpleNamespace) -> None:
    # Style guide §2.10 (h11's tr()): whole, byte by byte, and at chosen split points.
    data, expected = _stream(wire)
    assert _feed_in_pieces(data, list(range(1, len(data)))) == expected


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_stream_split_anywhere_yields_the_same_frames(data: st.DataObject) -> None:
    one = (FIXTURES / "wsinv.dat").read_bytes()
    two = (FIXTURES / "mpart01.dat").read_bytes()
    stream = one + b"\r\n\r\n" + two + b"\r\n"
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert _feed_in_pieces(stream, cuts) == [one, PING, two]


def test_lone_crlf_is_skipped_and_a_partial_ping_waits_for_more() -> None:
    framer = StreamFramer()
    framer.feed(b"\r\n")
    assert framer.next_frame() is None  # a ping or a lone CRLF: too early to tell
    framer.feed(b"\r")
    assert framer.next_frame() is None
    framer.feed(b"\n")
    assert framer.next_frame() == PING
    framer.feed(b"\r\nOPTIONS")
    assert framer.next_frame() is None
    assert framer.buffered == len(b"OPTIONS")


def test_frames_parse_like_datagrams(wire: SimpleNamespace) -> None:
    data = wire.request("OPTIONS")
    framer = StreamFramer()
    framer.feed(data)
    frame = framer.next_frame()
    assert isinstance(frame, bytes)
    assert parse_message(frame).method == "OPTIONS"  # type: ignore[union-attr]


def test_body_shorter_than_content_length_waits_for_more_data_on_a_stream() -> None:
    # RFC 4475 §3.1.2.2 (clerr): "Over TCP: wait for more data".
    data = (FIXTURES / "clerr.dat").read_bytes()
    framer = StreamFramer()
    framer.feed(data)
    assert framer.next_frame() is None
    framer.feed(b"x" * (9999 - 154))
    frame = framer.next_frame()
    assert isinstance(frame, bytes)
    assert len(frame) == len(data) + 9999 - 154


def test_folded_content_length_frames_the_body() -> None:
    framer = StreamFramer()
    framer.feed(b"OPTIONS sip:a@b.example SIP/2.0\r\nContent-Length:\r\n 3\r\n\r\nabcNEXT")
    assert (
        framer.next_frame()
        == b"OPTIONS sip:a@b.example SIP/2.0\r\nContent-Length:\r\n 3\r\n\r\nabc"
    )
    assert framer.buffered == 4


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ((FIXTURES / "ncl.dat").read_bytes(), 400),  # RFC 4475 §3.1.2.3: -999
        ((FIXTURES / "mcl01.dat").read_bytes(), 400),  # RFC 4475 §3.3.9: 13 and 5
        ((FIXTURES / "inv2543.dat").read_bytes(), 400),  # §18.3: mandatory on a stream
        (b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", None),  # a response is never answered
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: 99999999999\r\n\r\n", 400),
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: 1e3\r\n\r\n", 400),
        (b"INVITE sip:a@b.example SIP/2.0\r\nl: 40000\r\n\r\n", 513),  # over the body limit
    ],
)
def test_missing_or_invalid_content_length_breaks_stream_framing(
    data: bytes, hint: int | None
) -> None:
    framer = StreamFramer()
    framer.feed(data)
    with pytest.raises(ParseError) as caught:
        framer.next_frame()
    assert caught.value.status_hint == hint
    assert framer.rejected is not None
    assert data.startswith(framer.rejected)
    # The framer stays failed: the transport closes the connection.
    with pytest.raises(ParseError) as again:
        framer.next_frame()
    assert again.value.status_hint is None
    with pytest.raises(ParseError):
        framer.feed(b"more")


def test_header_section_beyond_the_limit_breaks_framing() -> None:
    framer = StreamFramer(Limits(max_message_size=64))
    framer.feed(b"INVITE sip:a@b.example SIP/2.0\r\n" + b"X: y\r\n" * 10)
    with pytest.raises(ParseError) as caught:
        framer.next_frame()
    assert caught.value.status_hint == 513


def test_message_beyond_the_size_limit_breaks_framing() -> None:
    framer = StreamFramer(Limits(max_message_size=64, max_body_size=1000))
    framer.feed(b"INVITE sip:a@b.example SIP/2.0\r\nl: 100\r\n\r\n")
    with pytest.raises(ParseError) as caught:
        framer.next_frame()
    assert caught.value.status_hint == 513


def test_a_header_end_split_across_feeds_is_found_without_rescanning(
    wire: SimpleNamespace,
) -> None:
    data = wire.request("OPTIONS")
    framer = StreamFramer()
    framer.feed(data[:-3])
    assert framer.next_frame() is None
    framer.feed(data[-3:])
    assert framer.next_frame() == data


def test_consumed_octets_are_compacted_away_as_the_stream_goes_on(
    wire: SimpleNamespace,
) -> None:
    one = wire.request("OPTIONS")
    framer = StreamFramer()
    for _ in range(50):
        framer.feed(one + one[:10])
        assert framer.next_frame() == one
        framer.feed(one[10:])
        assert framer.next_frame() == one
    assert framer.buffered == 0


def test_many_pings_in_one_segment_are_linear_not_quadratic() -> None:
    framer = StreamFramer()
    framer.feed(b"\r\n\r\n" * 16384)
    assert sum(1 for _ in iter(framer.next_frame, None)) == 16384
