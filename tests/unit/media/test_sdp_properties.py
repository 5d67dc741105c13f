"""Hypothesis properties: descriptions round-trip; any octets give a description or SdpError."""

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.media import offers
from vacant.errors import MediaError
from vacant.media import offer_answer, sdp
from vacant.media.sdp import (
    Attribute,
    Bandwidth,
    Connection,
    Media,
    Origin,
    SdpError,
    SessionDescription,
    Timing,
)

FAST = settings(max_examples=300, deadline=None)
ROUND_TRIP = settings(max_examples=150, deadline=None)

TOKEN_CHARS = "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz{|}~"
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
# Field text: anything but CR, LF and NUL (RFC 4566 §5), no lone surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\0"), max_size=30)
words = st.text(
    st.characters(exclude_categories=["Cs", "Zs"], exclude_characters="\r\n\0\t\x0b\x0c"),
    min_size=1,
    max_size=20,
).filter(lambda s: s.split() == [s])
digits = st.integers(0, 10**20 - 1)
connections = st.builds(Connection, st.just("IN"), st.sampled_from(["IP4", "IP6"]), words)
bandwidths = st.builds(Bandwidth, tokens, digits)
attributes = st.builds(Attribute, tokens, st.none() | texts)
media = st.builds(
    Media,
    media=tokens,
    port=st.integers(0, 65535),
    proto=st.from_regex(r"[A-Za-z0-9]{1,5}(/[A-Za-z0-9]{1,5}){0,2}", fullmatch=True),
    formats=st.lists(tokens, max_size=4).map(tuple),
    port_count=st.none() | st.integers(1, 99999),
    information=st.none() | texts,
    connection=st.none() | connections,
    bandwidths=st.lists(bandwidths, max_size=2).map(tuple),
    key=st.none() | texts,
    attributes=st.lists(attributes, max_size=4).map(tuple),
)
descriptions = st.builds(
    SessionDescription,
    origin=st.builds(Origin, words, digits.map(str), digits.map(str), tokens, tokens, words),
    name=texts,
    connection=st.none() | connections,
    timings=st.lists(
        st.builds(Timing, digits, digits, st.lists(texts, max_size=2).map(tuple)), max_size=2
    ).map(tuple),
    attributes=st.lists(attributes, max_size=4).map(tuple),
    media=st.lists(media, max_size=3).map(tuple),
    bandwidths=st.lists(bandwidths, max_size=2).map(tuple),
    information=st.none() | texts,
    uri=st.none() | texts,
    emails=st.lists(texts, max_size=2).map(tuple),
    phones=st.lists(texts, max_size=2).map(tuple),
    zone=st.none() | texts,
    key=st.none() | texts,
)


@ROUND_TRIP
@given(descriptions)
def test_any_description_round_trips_through_serialize_and_parse(
    description: SessionDescription,
) -> None:
    assert sdp.parse(description.serialize()) == description


# Lines of real descriptions, so that random concatenations get past the first checks.
FRAGMENTS = [
    line + end
    for line in {
        *offers.BARESIP_SRTP_OFFER.splitlines(),
        *offers.VIDEO_AUDIO_OFFER.splitlines(),
        *offers.SRTP_OFFER.splitlines(),
        b"c=IN IP4 0.0.0.0",
        b"a=rtcp:x",
        b"a=ptime:x",
        b"a=rtpmap:0 PCMU",
        b"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:QUJD",
        b"m=audio 0 RTP/AVP 0",
        b"m=audio 9 RTP/SAVP 0",
        b"a=sendonly",
        b"r=1",
        b"x",
    }
    for end in (b"\r\n", b"\n", b"")
]
arbitrary = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(b"".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(
        lambda parts: b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n" + b"".join(parts)
    ),
)


def _views(stream: Media) -> None:
    """Read every typed view; each may only raise SdpError."""
    for name in ("rtpmaps", "crypto", "rtcp", "ptime"):
        with contextlib.suppress(SdpError):
            getattr(stream, name)


@FAST
@given(arbitrary)
def test_any_octets_give_a_description_or_sdp_error(data: bytes) -> None:
    try:
        description = sdp.parse(data)
    except SdpError as exc:
        status = exc.status_hint
    else:
        status = 0
        for stream in description.media:
            _views(stream)
    assert status in (0, 400)


@FAST
@given(arbitrary)
def test_any_offer_gets_an_answer_or_a_media_error_with_a_status(data: bytes) -> None:
    local = offer_answer.LocalMedia("192.0.2.99", 20000, 1, 1)
    try:
        negotiated, answer = offer_answer.answer(data, local, random.Random(0))
    except MediaError as exc:
        status = getattr(exc, "status_hint", None)
    else:
        status = 0
        # RFC 3264 §6: the answer has as many m-lines as the offer, and parses.
        assert len(sdp.parse(answer).media) == len(sdp.parse(data).media)
        assert negotiated.codec in offer_answer.Codec
    assert status in (0, 400, 488)
