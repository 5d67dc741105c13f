"""SDP parse/serialize (RFC 4566), limits, and the typed attribute views (RFC 3605, RFC 4568)."""

import pytest

from tests.unit.media import offers
from vacant.errors import MediaError
from vacant.media import sdp
from vacant.media.sdp import (
    Attribute,
    Bandwidth,
    Connection,
    Crypto,
    Direction,
    KeyParam,
    Limits,
    Media,
    Origin,
    Rtcp,
    RtpMap,
    SdpError,
    SessionDescription,
    Timing,
)


def _error(data: bytes, limits: Limits = sdp.DEFAULT_LIMITS) -> SdpError:
    with pytest.raises(SdpError) as caught:
        sdp.parse(data, limits)
    assert caught.value.status_hint == 400
    return caught.value


def _with(*lines: str) -> bytes:
    """A minimal valid session section followed by ``lines``."""
    head = ["v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-"]
    return ("\r\n".join([*head, *lines]) + "\r\n").encode()


# --- whole descriptions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        offers.BARESIP_OFFER,
        offers.BARESIP_SRTP_OFFER,
        offers.LINPHONE_OFFER,
        offers.LINPHONE_HOLD,
        offers.VIDEO_AUDIO_OFFER,
        offers.SRTP_OFFER,
    ],
)
def test_real_offers_serialize_byte_for_byte(data: bytes) -> None:
    assert sdp.parse(data).serialize() == data


def test_baresip_offer_parses_into_fields() -> None:
    description = sdp.parse(offers.BARESIP_OFFER)
    assert description.origin == Origin("-", "2407295881", "1282917476", "IN", "IP4", "127.0.0.1")
    assert description.name == "-"
    assert description.connection == Connection("IN", "IP4", "127.0.0.1")
    assert description.timings == (Timing(0, 0),)
    assert description.attributes == (Attribute("tool", "baresip 1.0.0"),)
    (audio,) = description.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 6706, "RTP/AVP")
    assert audio.formats == ("0", "8", "9", "101")
    assert audio.attributes[-5:-2] == (
        Attribute("label", "1"),
        Attribute("rtcp-rsize"),
        Attribute("ssrc", "1921946034 cname:sip:baresip@127.0.0.1"),
    )


def test_lf_line_ends_are_accepted_and_crlf_written() -> None:
    # RFC 4566 §5: lines end in CRLF, but parsers should also accept a bare LF.
    description = sdp.parse(offers.SIPP_OFFER)
    assert description.serialize() == offers.SIPP_OFFER.replace(b"\n", b"\r\n")


def test_every_field_kept_in_rfc4566_order() -> None:
    data = (
        b"v=0\r\no=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\ns=SDP Seminar\r\n"
        b"i=A Seminar on the session description protocol\r\n"
        b"u=http://www.example.com/seminars/sdp.pdf\r\ne=j.doe@example.com (Jane Doe)\r\n"
        b"p=+1 617 555-6011\r\nc=IN IP4 224.2.17.12/127\r\nb=CT:128\r\n"
        b"t=2873397496 2873404696\r\nr=7d 1h 0 25h\r\nt=0 0\r\n"
        b"z=2882844526 -1h 2898848070 0\r\nk=prompt\r\na=recvonly\r\n"
        b"m=audio 49170/2 RTP/AVP 0\r\ni=the audio\r\nc=IN IP4 224.2.17.12/127\r\nb=AS:64\r\n"
        b"k=prompt\r\na=rtpmap:0 PCMU/8000\r\n"
        b"m=application 32416 udp wb\r\na=orient:portrait\r\n"
    )
    description = sdp.parse(data)
    assert description.serialize() == data
    assert description.information == "A Seminar on the session description protocol"
    assert description.uri == "http://www.example.com/seminars/sdp.pdf"
    assert description.emails == ("j.doe@example.com (Jane Doe)",)
    assert description.phones == ("+1 617 555-6011",)
    assert description.bandwidths == (Bandwidth("CT", 128),)
    assert description.timings == (Timing(2873397496, 2873404696, ("7d 1h 0 25h",)), Timing())
    assert (description.zone, description.key) == ("2882844526 -1h 2898848070 0", "prompt")
    audio = description.media[0]
    assert (audio.port, audio.port_count, audio.information, audio.key) == (
        49170,
        2,
        "the audio",
        "prompt",
    )
    assert audio.bandwidths == (Bandwidth("AS", 64),)


def test_missing_t_line_is_tolerated() -> None:
    description = sdp.parse(_with("c=IN IP4 192.0.2.1", "m=audio 4000 RTP/AVP 0"))
    assert description.timings == ()
    assert b"t=" not in description.serialize()


def test_trailing_blank_lines_and_missing_final_line_end_are_accepted() -> None:
    assert sdp.parse(_with("t=0 0") + b"\r\n\r\n").timings == (Timing(),)
    assert sdp.parse(_with("t=0 0").rstrip()).timings == (Timing(),)


def test_non_utf8_text_round_trips() -> None:
    data = _with("t=0 0").replace(b"s=-", b"s=caf\xe9")
    assert sdp.parse(data).serialize() == data


def test_trailing_space_after_structured_fields_is_tolerated() -> None:
    description = sdp.parse(_with("c=IN IP4 192.0.2.1 ", "t=0 0 ", "m=audio 4000 RTP/AVP 0 8 "))
    assert description.media[0].formats == ("0", "8")
    assert description.connection == Connection("IN", "IP4", "192.0.2.1")


def test_media_with_no_formats_is_tolerated() -> None:
    assert sdp.parse(_with("t=0 0", "m=video 0 RTP/AVP")).media[0].formats == ()


# --- errors (RFC 4566 §5 syntax) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"\r\n", "empty"),
        (offers.MALFORMED_OFFER, "line 2 (s=): this line must be o="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\n", "needs v=, o= and s="),
        (b"v=1\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "version '1' is not 0"),
        (b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", "needs 6 fields"),
        (b"v=0\r\no=-  1 1 IN IP4 h\r\ns=-\r\n", "needs 6 fields"),
        (b"v=0\r\no=- x 1 IN IP4 h\r\ns=-\r\n", "sess-id 'x' is not 1-20 digits"),
        (b"v=0\r\no=- 1 1 I@N IP4 h\r\ns=-\r\n", "nettype 'I@N' is not a token"),
        (_with("v=0"), "unknown or misplaced type letter"),
        (_with("y=3gpp"), "unknown or misplaced type letter"),
        (_with("x"), "is not <type>=<value>"),
        (_with("A=b"), "is not <type>=<value>"),
        (_with("a =b"), "is not <type>=<value>"),
        (_with("", "t=0 0"), "is not <type>=<value>"),
        (_with("i=a\rb"), "may not hold CR or NUL"),
        (_with("i=a\0b"), "may not hold CR or NUL"),
        (_with("i=a", "i=b"), "appears twice"),
        (_with("c=IN IP4 h", "c=IN IP4 h"), "appears twice"),
        (_with("c=IN IP4"), "needs 3 fields"),
        (_with("c=ATM NSAP 47"), "only IN IP4 and IN IP6"),
        (_with("c=IN IPX h"), "only IN IP4 and IN IP6"),
        (_with("b=AS"), "bw '' is not 1-20 digits"),
        (_with("b=:64"), "bwtype '' is not a token"),
        (_with("t=0"), "needs 2 fields"),
        (_with("t=0 x"), "stop 'x' is not 1-20 digits"),
        (_with("r=7d 1h 0"), "must follow a t= line"),
        (_with("a=:x"), "att-field '' is not a token"),
        (_with("m=audio 4000"), "needs <media> <port> <proto>"),
        (_with("m=audio 4000  RTP/AVP 0"), "needs <media> <port> <proto>"),
        (_with("m=audio 65536 RTP/AVP 0"), "port '65536' is not 0..65535"),
        (_with("m=audio x RTP/AVP 0"), "port 'x' is not 0..65535"),
        (_with("m=audio 4000/0 RTP/AVP 0"), "number of ports '0'"),
        (_with("m=audio 4000/x RTP/AVP 0"), "number of ports 'x'"),
        (_with("m=audio 4000 RTP(AVP) 0"), "proto 'RTP(AVP)'"),
        (_with("m=audio 4000 RTP/AVP 0 (1)"), "fmt '(1)' is not a token"),
        (_with("m=au@dio 4000 RTP/AVP 0"), "media 'au@dio' is not a token"),
        (_with("m=audio 4000 RTP/AVP 0", "t=0 0"), "is not a media-level field"),
        (_with("m=audio 4000 RTP/AVP 0", "i=a", "i=b"), "appears twice"),
    ],
)
def test_malformed_description_raises_sdp_error_400_naming_the_rule(data: bytes, says: str) -> None:
    error = _error(data)
    assert isinstance(error, MediaError)
    assert says in str(error)


def test_limits_bound_size_lines_and_media() -> None:
    data = _with("t=0 0", "m=audio 1 RTP/AVP 0", "m=audio 2 RTP/AVP 0")
    assert "exceed the limit of 10" in str(_error(data, Limits(max_size=10)))
    assert "6 lines exceed the limit of 5" in str(_error(data, Limits(max_lines=5)))
    assert "more than 1 media descriptions" in str(_error(data, Limits(max_media=1)))
    assert len(sdp.parse(data, Limits(max_size=len(data), max_lines=6, max_media=2)).media) == 2


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(max_media=0)


# --- views -------------------------------------------------------------------------------------


def test_rtpmap_and_fmtp_views() -> None:
    audio = sdp.parse(offers.LINPHONE_OFFER).media[0]
    assert audio.rtpmap(96) == RtpMap(96, "opus", 48000, 2)
    assert audio.rtpmap(101) == RtpMap(101, "telephone-event", 8000)
    assert audio.rtpmap(0) is None
    assert audio.fmtp(18) == "annexb=yes"
    assert audio.fmtp(0) is None
    assert audio.values("rtcp-fb") == ("* trr-int 5000", "* ccm tmmbr")


@pytest.mark.parametrize("value", ["x PCMU/8000", "0 PCMU", "0 PCMU/x", "128 PCMU/8000", "0  a/1"])
def test_malformed_rtpmap_raises_sdp_error(value: str) -> None:
    with pytest.raises(SdpError, match="a=rtpmap"):
        sdp.parse_rtpmap(value)


def test_ptime_view() -> None:
    assert sdp.parse(offers.BARESIP_OFFER).media[0].ptime == 20
    assert sdp.parse(offers.SIPP_OFFER).media[0].ptime is None
    bad = Media("audio", 1, "RTP/AVP", ("0",), attributes=(Attribute("ptime", "20.5"),))
    with pytest.raises(SdpError, match="a=ptime"):
        _ = bad.ptime


def test_direction_media_level_overrides_session_level_default_sendrecv() -> None:
    # RFC 4566 §6 / RFC 3264 §5.1: sendrecv when no direction attribute is present.
    description = sdp.parse(
        _with("t=0 0", "a=recvonly", "m=audio 1 RTP/AVP 0", "m=audio 2 RTP/AVP 0", "a=inactive")
    )
    first, second = description.media
    assert first.direction is None
    assert description.direction is Direction.RECVONLY
    assert description.direction_of(first) is Direction.RECVONLY
    assert description.direction_of(second) is Direction.INACTIVE
    plain = sdp.parse(offers.SIPP_OFFER)
    assert plain.direction_of(plain.media[0]) is Direction.SENDRECV
    # A value attribute with a direction's name is not a direction.
    odd = Media("audio", 1, "RTP/AVP", ("0",), attributes=(Attribute("sendonly", "x"),))
    assert odd.direction is None


@pytest.mark.parametrize(
    ("direction", "sends", "receives", "mirror"),
    [
        (Direction.SENDRECV, True, True, Direction.SENDRECV),
        (Direction.SENDONLY, True, False, Direction.RECVONLY),
        (Direction.RECVONLY, False, True, Direction.SENDONLY),
        (Direction.INACTIVE, False, False, Direction.INACTIVE),
    ],
)
def test_direction_mirror_rfc3264_section_6_1(
    direction: Direction, sends: bool, receives: bool, mirror: Direction
) -> None:
    assert (direction.sends, direction.receives) == (sends, receives)
    assert direction.reversed() is mirror


def test_connection_of_prefers_media_level() -> None:
    description = sdp.parse(offers.VIDEO_AUDIO_OFFER)
    video, audio = description.media
    assert description.connection_of(video) == Connection("IN", "IP6", "2001:db8::10")
    assert description.connection_of(audio) == Connection("IN", "IP6", "2001:db8::11")
    assert Connection("IN", "IP4", "0.0.0.0").is_unspecified
    assert Connection("IN", "IP6", "::").is_unspecified
    assert not Connection("IN", "IP4", "192.0.2.1").is_unspecified


def test_rtcp_view_rfc3605_section_2_1() -> None:
    audio = sdp.parse(offers.VIDEO_AUDIO_OFFER).media[1]
    assert audio.rtcp == Rtcp(53020, Connection("IN", "IP6", "2001:db8::12"))
    assert sdp.parse_rtcp("53020") == Rtcp(53020)
    assert sdp.parse(offers.SIPP_OFFER).media[0].rtcp is None


@pytest.mark.parametrize("value", ["x", "70000", "53020 IN IP4", "53020 IN IPX h", "1 ATM a b"])
def test_malformed_rtcp_raises_sdp_error(value: str) -> None:
    with pytest.raises(SdpError, match="RFC 3605"):
        sdp.parse_rtcp(value)


def test_crypto_view_rfc4568_section_9_1() -> None:
    lines = sdp.parse(offers.SRTP_OFFER).media[0].crypto
    assert [c.tag for c in lines] == [1, 2, 3, 4]
    assert lines[1] == Crypto(
        2,
        "AES_CM_128_HMAC_SHA1_80",
        (KeyParam(b"YS___semctl () {\t220;}\n}\nunles", 2**20, (1, 4)),),
    )
    assert lines[2].keys[0].lifetime == 2**20
    assert lines[3].keys[0].mki is None
    assert len(lines[0].keys[0].key_salt) == 46


def test_crypto_lifetime_without_exponent_several_keys_and_session_params() -> None:
    key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
    crypto = sdp.parse_crypto(f"7 AES_CM_128_HMAC_SHA1_32 inline:{key}|1000;inline:{key}|2:1 KDR=1")
    assert crypto.tag == 7
    assert [k.lifetime for k in crypto.keys] == [1000, None]
    assert [k.mki for k in crypto.keys] == [None, (2, 1)]
    assert crypto.session_params == ("KDR=1",)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1 AES_CM_128_HMAC_SHA1_80", "needs <tag> <crypto-suite> <key-params>"),
        ("1234567890 S inline:QUJD", "tag '1234567890' is not 1-9 digits"),
        ("1 AES-CM inline:QUJD", "suite 'AES-CM' is not a suite name"),
        ("1 S uri:http://k", "key method 'uri' is not inline"),
        ("1 S inline", "key method 'inline' is not inline"),
        ("1 S inline:QUJ", "the key is not base64"),
        ("1 S inline:QU*D", "the key is not base64"),
        ("1 S inline:QUJD|2^65", "the key lifetime exceeds 2^64"),
        ("1 S inline:QUJD|1:0", "the MKI length is not 1..128"),
        ("1 S inline:QUJD|1:129", "the MKI length is not 1..128"),
        ("1 S inline:QUJD|1:4|20", "is not a lifetime or MKI"),
        ("1 S inline:QUJD|20|30", "is not a lifetime or MKI"),
        ("1 S inline:QUJD|1:4|2:4", "is not a lifetime or MKI"),
        ("1 S inline:QUJD|x", "is not a lifetime or MKI"),
    ],
)
def test_malformed_crypto_raises_sdp_error_naming_the_rule(value: str, says: str) -> None:
    with pytest.raises(SdpError, match="a=crypto") as caught:
        sdp.parse_crypto(value)
    assert says in str(caught.value)


def test_session_values_and_serialize_of_a_built_description() -> None:
    description = SessionDescription(
        origin=Origin("vacant", "1", "2", "IN", "IP4", "192.0.2.1"),
        attributes=(Attribute("group", "BUNDLE 0"), Attribute("ice-lite")),
        media=(Media("audio", 0, "RTP/AVP", ("0",)),),
    )
    assert description.values("group") == ("BUNDLE 0",)
    assert description.serialize() == (
        b"v=0\r\no=vacant 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
        b"a=group:BUNDLE 0\r\na=ice-lite\r\nm=audio 0 RTP/AVP 0\r\n"
    )
