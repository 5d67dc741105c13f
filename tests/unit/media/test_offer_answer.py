"""Offer/answer (RFC 3264) for one audio stream, SDES-SRTP (RFC 4568), and the 488 cases."""

import base64
import random

import pytest

from tests.unit.media import offers
from vacant.media import sdp
from vacant.media.offer_answer import (
    Codec,
    LocalMedia,
    Negotiated,
    NotAcceptable,
    SrtpKey,
    accept_answer,
    answer,
    make_offer,
)
from vacant.media.sdp import Direction, SdpError

LOCAL = LocalMedia("127.0.0.1", 20000, 7, 1)
LOCAL6 = LocalMedia("2001:db8::1", 20000, 7, 1)
KEY = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"  # 30 octets, base64


def _rng() -> random.Random:
    return random.Random(4568)


def _offer(*lines: str, c: str = "c=IN IP4 192.0.2.5", session: tuple[str, ...] = ()) -> bytes:
    head = ["v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", *([c] if c else []), "t=0 0", *session]
    return ("\r\n".join([*head, *lines]) + "\r\n").encode()


def _answer(
    offer: bytes, local: LocalMedia = LOCAL, previous: Negotiated | None = None
) -> tuple[Negotiated, bytes]:
    return answer(offer, local, _rng(), previous)


def _not_acceptable(offer: bytes, local: LocalMedia = LOCAL) -> str:
    with pytest.raises(NotAcceptable) as caught:
        answer(offer, local, _rng())
    assert caught.value.status_hint == 488
    return str(caught.value)


def _key(b64: str) -> bytes:
    return base64.b64decode(b64)


# --- answers to real offers -----------------------------------------------------------------


def test_answer_to_baresip_takes_its_first_codec_and_telephone_event() -> None:
    negotiated, body = _answer(offers.BARESIP_OFFER)
    assert negotiated == Negotiated(
        codec=Codec.PCMU,
        payload_type=0,
        telephone_event=101,
        remote=("127.0.0.1", 6706),
        remote_rtcp=("127.0.0.1", 6707),
        send=True,
        receive=True,
    )
    assert body == (
        b"v=0\r\n"
        b"o=vacant 7 1 IN IP4 127.0.0.1\r\n"
        b"s=vacant\r\n"
        b"c=IN IP4 127.0.0.1\r\n"
        b"t=0 0\r\n"
        b"m=audio 20000 RTP/AVP 0 101\r\n"
        b"a=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
        b"a=fmtp:101 0-16\r\n"
        b"a=ptime:20\r\n"
        b"a=sendrecv\r\n"
    )


def test_answer_to_linphone_skips_codecs_we_lack_and_other_event_rates() -> None:
    # RFC 3264 §6.1: the offerer's order is its preference; opus and speex are not ours, and
    # telephone-event/48000 and /16000 do not go with an 8000 Hz codec.
    negotiated, body = _answer(offers.LINPHONE_OFFER)
    assert (negotiated.codec, negotiated.payload_type, negotiated.telephone_event) == (
        Codec.PCMU,
        0,
        101,
    )
    assert b"m=audio 20000 RTP/AVP 0 101\r\n" in body


def test_answer_to_sipp_with_lf_line_ends() -> None:
    negotiated, body = _answer(offers.SIPP_OFFER)
    assert (negotiated.codec, negotiated.telephone_event) == (Codec.PCMU, None)
    assert negotiated.remote == ("127.0.0.1", 6000)
    assert b"m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n" in body


def test_answer_rejects_video_with_port_zero_keeping_m_line_count_and_order() -> None:
    # RFC 3264 §6: one m-line per offered m-line, in order; rejected ones with port 0.
    negotiated, body = _answer(offers.VIDEO_AUDIO_OFFER, LOCAL6)
    answered = sdp.parse(body)
    assert [(m.media, m.port) for m in answered.media] == [("video", 0), ("audio", 20000)]
    assert answered.media[0].formats == ("96",)
    assert answered.origin.addrtype == "IP6"
    assert answered.connection == sdp.Connection("IN", "IP6", "2001:db8::1")
    # G.722 is static payload type 9 (RFC 3551 §6): no rtpmap needed in the offer.
    assert (negotiated.codec, negotiated.payload_type) == (Codec.G722, 9)
    assert answered.media[1].rtpmap(9) == sdp.RtpMap(9, "G722", 8000)
    # Media-level c= wins; a=rtcp with an address (RFC 3605 §2.1).
    assert negotiated.remote == ("2001:db8::11", 49170)
    assert negotiated.remote_rtcp == ("2001:db8::12", 53020)


def test_rejected_stream_without_formats_gets_one() -> None:
    _, body = _answer(_offer("m=image 9 udptl", "m=audio 4000 RTP/AVP 0"))
    assert sdp.parse(body).media[0] == sdp.Media("image", 0, "udptl", ("0",))


@pytest.mark.parametrize(
    ("formats", "rtpmaps", "codec", "pt"),
    [
        ("0 8 9", (), Codec.PCMU, 0),
        ("8 0 9", (), Codec.PCMA, 8),
        ("9 8 0", (), Codec.G722, 9),
        ("18 3 8", (), Codec.PCMA, 8),
        ("96 0", ("a=rtpmap:96 pcma/8000",), Codec.PCMA, 96),
        ("97 96 0", ("a=rtpmap:97 PCMU/8000/2", "a=rtpmap:96 G722/8000/1"), Codec.G722, 96),
        ("96 0", ("a=rtpmap:96 G722/16000",), Codec.PCMU, 0),
        ("0 8", ("a=rtpmap:0 GSM/8000",), Codec.PCMA, 8),
        ("x 200 8", (), Codec.PCMA, 8),
    ],
)
def test_codec_is_the_offerers_first_choice_among_ours_rfc3264_section_6_1(
    formats: str, rtpmaps: tuple[str, ...], codec: Codec, pt: int
) -> None:
    negotiated, body = _answer(_offer(f"m=audio 4000 RTP/AVP {formats}", *rtpmaps))
    assert (negotiated.codec, negotiated.payload_type) == (codec, pt)
    # One codec in the answer, with the offerer's payload type (RFC 3264 §6.1).
    assert sdp.parse(body).media[0].formats == (str(pt),)


@pytest.mark.parametrize(
    ("lines", "event"),
    [
        (("m=audio 4000 RTP/AVP 0 100", "a=rtpmap:100 telephone-event/8000"), 100),
        (("m=audio 4000 RTP/AVP 0", "a=rtpmap:100 telephone-event/8000"), None),
        (("m=audio 4000 RTP/AVP 0 100", "a=rtpmap:100 telephone-event/16000"), None),
    ],
)
def test_telephone_event_keeps_the_offerers_payload_type_rfc4733(
    lines: tuple[str, ...], event: int | None
) -> None:
    negotiated, body = _answer(_offer(*lines))
    assert negotiated.telephone_event == event
    if event is not None:
        assert f"a=rtpmap:{event} telephone-event/8000\r\n".encode() in body


# --- directions and hold (RFC 3264 §6.1, §8.4) --------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "answered", "send", "receive"),
    [
        ("sendrecv", "sendrecv", True, True),
        ("sendonly", "recvonly", False, True),
        ("recvonly", "sendonly", True, False),
        ("inactive", "inactive", False, False),
    ],
)
def test_direction_is_mirrored_rfc3264_section_6_1(
    offered: str, answered: str, send: bool, receive: bool
) -> None:
    negotiated, body = _answer(_offer("m=audio 4000 RTP/AVP 0", f"a={offered}"))
    assert sdp.parse(body).media[0].direction is Direction(answered)
    assert (negotiated.send, negotiated.receive) == (send, receive)


def test_session_level_direction_applies_to_the_stream() -> None:
    negotiated, body = _answer(_offer("m=audio 4000 RTP/AVP 0", session=("a=sendonly",)))
    assert sdp.parse(body).media[0].direction is Direction.RECVONLY
    assert not negotiated.send


def test_linphone_hold_reinvite_sendonly_answers_recvonly_keeping_the_codec() -> None:
    # RFC 3264 §8.4: a sendonly re-offer puts us on hold; we answer recvonly and stop sending.
    first, _ = _answer(offers.LINPHONE_OFFER)
    held, body = answer(offers.LINPHONE_HOLD, LocalMedia("127.0.0.1", 20000, 7, 2), _rng(), first)
    assert (held.codec, held.send, held.receive) == (Codec.PCMU, False, True)
    assert held.remote == first.remote
    answered = sdp.parse(body)
    assert answered.origin.version == "2"
    assert answered.media[0].direction is Direction.RECVONLY


@pytest.mark.parametrize(
    ("direction", "answered", "receive"),
    [("sendrecv", "recvonly", True), ("recvonly", "inactive", False)],
)
def test_rfc2543_hold_c_0_0_0_0_sends_nothing_rfc3264_section_8_4(
    direction: str, answered: str, receive: bool
) -> None:
    offer = _offer("m=audio 4000 RTP/AVP 0", f"a={direction}", c="c=IN IP4 0.0.0.0")
    negotiated, body = _answer(offer)
    assert (negotiated.remote, negotiated.remote_rtcp) == (None, None)
    assert (negotiated.send, negotiated.receive) == (False, receive)
    assert sdp.parse(body).media[0].direction is Direction(answered)


def test_reoffer_keeps_the_codec_in_use_while_still_offered_rfc3264_section_8_3_2() -> None:
    previous, _ = _answer(_offer("m=audio 4000 RTP/AVP 8 0"))
    assert previous.codec is Codec.PCMA
    kept, _ = _answer(_offer("m=audio 4000 RTP/AVP 0 8"), previous=previous)
    assert kept.codec is Codec.PCMA
    changed, _ = _answer(_offer("m=audio 4000 RTP/AVP 9 0"), previous=previous)
    assert changed.codec is Codec.G722


def test_rtcp_port_without_address_uses_the_stream_address_rfc3605() -> None:
    negotiated, _ = _answer(_offer("m=audio 4000 RTP/AVP 0", "a=rtcp:4444"))
    assert negotiated.remote_rtcp == ("192.0.2.5", 4444)


def test_first_servable_audio_stream_is_accepted_others_rejected() -> None:
    offer = _offer("m=audio 4000 RTP/AVP 18", "m=audio 4002 RTP/AVP 8", "m=audio 4004 RTP/AVP 0")
    negotiated, body = _answer(offer)
    assert negotiated.remote == ("192.0.2.5", 4002)
    assert [m.port for m in sdp.parse(body).media] == [0, 20000, 0]


# --- SDES-SRTP (RFC 4568) --------------------------------------------------------------------


def test_srtp_answers_the_first_supported_crypto_line_with_its_tag_and_our_key() -> None:
    # RFC 4568 §7.1.1: tag 1's suite is unknown to us, tag 2 carries an MKI: tag 3 is chosen.
    negotiated, body = _answer(offers.SRTP_OFFER)
    suite = "AES_CM_128_HMAC_SHA1_32"
    assert negotiated.srtp_receive == SrtpKey(
        suite, _key("NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"), 3
    )
    ours = _rng().randbytes(30)
    assert negotiated.srtp_send == SrtpKey(suite, ours, 3)
    (crypto,) = sdp.parse(body).media[0].crypto
    assert (crypto.tag, crypto.suite, crypto.keys[0].key_salt) == (3, suite, ours)
    assert sdp.parse(body).media[0].proto == "RTP/SAVP"


def test_srtp_answer_to_baresip() -> None:
    negotiated, _ = _answer(offers.BARESIP_SRTP_OFFER)
    assert negotiated.srtp_receive == SrtpKey(
        "AES_CM_128_HMAC_SHA1_80", _key("1Rt1iRZwUmDigzW3VcHhLYO1qqx77EpHcT0rZFxb"), 1
    )
    assert negotiated.srtp_send is not None
    assert negotiated.srtp_send.key != negotiated.srtp_receive.key


def test_srtp_reoffer_keeps_our_key_for_the_same_suite_rfc4568_section_7_1_4() -> None:
    first, _ = _answer(offers.BARESIP_SRTP_OFFER)
    assert first.srtp_send is not None
    reoffer = offers.BARESIP_SRTP_OFFER.replace(b"crypto:1 ", b"crypto:5 ")
    again, _ = answer(reoffer, LOCAL, random.Random(1), first)
    assert again.srtp_send == SrtpKey(first.srtp_send.suite, first.srtp_send.key, 5)
    other_suite = offers.BARESIP_SRTP_OFFER.replace(b"SHA1_80", b"SHA1_32")
    changed, _ = answer(other_suite, LOCAL, random.Random(1), first)
    assert changed.srtp_send is not None
    assert changed.srtp_send.key != first.srtp_send.key
    plain_previous, _ = _answer(offers.BARESIP_OFFER)
    fresh, _ = answer(offers.BARESIP_SRTP_OFFER, LOCAL, random.Random(1), plain_previous)
    assert fresh.srtp_send == SrtpKey("AES_CM_128_HMAC_SHA1_80", random.Random(1).randbytes(30), 1)


def test_rtp_avp_offer_gets_plain_rtp_even_with_crypto_lines() -> None:
    offer = _offer(
        "m=audio 4000 RTP/AVP 0",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
    )
    negotiated, body = _answer(offer)
    assert (negotiated.srtp_send, negotiated.srtp_receive) == (None, None)
    assert b"crypto" not in body


@pytest.mark.parametrize(
    "crypto",
    [
        (),
        ("a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",),
        ("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD",),
        ("a=crypto:1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",),
        (
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
            ";inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
        ),
        (
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80"
            " inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP",
        ),
    ],
)
def test_savp_without_a_usable_crypto_line_is_488_rfc4568_section_7_1_1(
    crypto: tuple[str, ...],
) -> None:
    says = _not_acceptable(_offer("m=audio 4000 RTP/SAVP 0", *crypto))
    assert "RTP/SAVP without a usable a=crypto" in says


# --- 488 and 400 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offer", "says"),
    [
        (offers.VIDEO_AUDIO_OFFER.split(b"m=audio")[0], "the offer has no audio stream"),
        (_offer("m=audio 4000 RTP/AVP 18 96", "a=rtpmap:96 opus/48000/2"), "no common codec"),
        (_offer("m=audio 0 RTP/AVP 0"), "the audio stream is disabled (port 0)"),
        (_offer("m=audio 4000 UDP/TLS/RTP/SAVPF 0"), "is not RTP/AVP or RTP/SAVP"),
        (_offer("m=audio 4000 RTP/AVP 0", c="c=IN IP4 pbx.example.com"), "is not an IP address"),
        (_offer("m=audio 4000 RTP/AVP 0", "a=rtcp:4001 IN IP4 rtcp.example"), "a=rtcp address"),
        (_offer("m=audio 4000 RTP/AVP 0", c="c=IN IP6 2001:db8::5"), "is IP6, our media"),
    ],
)
def test_unservable_offer_is_488_saying_why(offer: bytes, says: str) -> None:
    assert says in _not_acceptable(offer)


def test_488_lists_the_reason_of_every_audio_stream() -> None:
    says = _not_acceptable(_offer("m=audio 4000 RTP/AVP 18", "m=audio 0 RTP/AVP 0"))
    assert "m-line 1: no common codec" in says
    assert "m-line 2: the audio stream is disabled" in says


@pytest.mark.parametrize(
    ("offer", "says"),
    [
        (offers.MALFORMED_OFFER, "must be o="),
        (_offer("m=audio 4000 RTP/AVP 0", c=""), "no c= in the stream or session"),
        (_offer("m=audio 4000 RTP/AVP 0", c="c=IN IP6 192.0.2.5"), "c= address is not IP6"),
        (_offer("m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU"), "a=rtpmap"),
    ],
)
def test_malformed_offer_is_400(offer: bytes, says: str) -> None:
    with pytest.raises(SdpError) as caught:
        _answer(offer)
    assert caught.value.status_hint == 400
    assert says in str(caught.value)


# --- our offer and the answer to it (RFC 3264 §5, §7) ----------------------------------------


def test_make_offer_lists_our_codecs_and_telephone_event() -> None:
    assert make_offer(LOCAL, _rng()) == (
        b"v=0\r\n"
        b"o=vacant 7 1 IN IP4 127.0.0.1\r\n"
        b"s=vacant\r\n"
        b"c=IN IP4 127.0.0.1\r\n"
        b"t=0 0\r\n"
        b"m=audio 20000 RTP/AVP 0 8 9 101\r\n"
        b"a=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:9 G722/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
        b"a=fmtp:101 0-16\r\n"
        b"a=ptime:20\r\n"
        b"a=sendrecv\r\n"
    )


def test_make_offer_with_srtp_has_one_crypto_line_per_suite() -> None:
    offer = sdp.parse(make_offer(LOCAL6, _rng(), srtp=True))
    assert offer.origin.addrtype == "IP6"
    (audio,) = offer.media
    assert audio.proto == "RTP/SAVP"
    rng = _rng()
    assert [(c.tag, c.suite, c.keys[0].key_salt) for c in audio.crypto] == [
        (1, "AES_CM_128_HMAC_SHA1_80", rng.randbytes(30)),
        (2, "AES_CM_128_HMAC_SHA1_32", rng.randbytes(30)),
    ]


def test_accept_answer_from_our_own_answerer() -> None:
    offer = make_offer(LOCAL, _rng())
    _, reply = answer(offer, LocalMedia("127.0.0.1", 30000, 1, 1), _rng())
    negotiated = accept_answer(offer, reply)
    assert negotiated == Negotiated(
        codec=Codec.PCMU,
        payload_type=0,
        telephone_event=101,
        remote=("127.0.0.1", 30000),
        remote_rtcp=("127.0.0.1", 30001),
        send=True,
        receive=True,
    )


def test_accept_answer_uses_the_answers_codec_payload_type_and_direction() -> None:
    reply = _offer(
        "m=audio 5000 RTP/AVP 96 8 0 100",
        "a=rtpmap:96 G722/8000",
        "a=rtpmap:100 telephone-event/8000",
        "a=recvonly",
    )
    negotiated = accept_answer(make_offer(LOCAL, _rng()), reply)
    assert (negotiated.codec, negotiated.payload_type, negotiated.telephone_event) == (
        Codec.G722,
        96,
        100,
    )
    assert (negotiated.send, negotiated.receive) == (True, False)


def test_accept_answer_ignores_events_we_did_not_offer() -> None:
    offer = _offer("m=audio 4000 RTP/AVP 0")
    reply = _offer("m=audio 5000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000")
    assert accept_answer(offer, reply).telephone_event is None


def test_accept_answer_with_srtp_pairs_the_tags_rfc4568_section_7_1_3() -> None:
    offer = make_offer(LOCAL, _rng(), srtp=True)
    theirs = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
    reply = _offer(
        "m=audio 5000 RTP/SAVP 8",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj",
        f"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{theirs}",
    )
    negotiated = accept_answer(offer, reply)
    rng = _rng()
    rng.randbytes(30)
    assert negotiated.srtp_send == SrtpKey("AES_CM_128_HMAC_SHA1_32", rng.randbytes(30), 2)
    assert negotiated.srtp_receive == SrtpKey("AES_CM_128_HMAC_SHA1_32", _key(theirs), 2)


@pytest.mark.parametrize(
    ("offer", "reply", "says"),
    [
        (
            _offer("m=video 4000 RTP/AVP 96"),
            _offer("m=video 4000 RTP/AVP 96"),
            "our offer has no audio stream",
        ),
        (
            make_offer(LOCAL, _rng()),
            _offer("m=audio 5000 RTP/AVP 0", "m=video 0 RTP/AVP 96"),
            "the answer has 2 m-lines for the offer's 1",
        ),
        (make_offer(LOCAL, _rng()), _offer("m=audio 0 RTP/AVP 0"), "rejected the audio stream"),
        (make_offer(LOCAL, _rng()), _offer("m=video 5000 RTP/AVP 0"), "rejected the audio"),
        (make_offer(LOCAL, _rng()), _offer("m=audio 5000 RTP/SAVP 0"), "is not the offer's"),
        (make_offer(LOCAL, _rng()), _offer("m=audio 5000 RTP/AVP 18"), "none of the codecs"),
        (
            make_offer(LOCAL, _rng(), srtp=True),
            _offer(
                "m=audio 5000 RTP/SAVP 0",
                f"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{KEY}",
                f"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:{KEY}",
                "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:QUJD",
            ),
            "no a=crypto answering one of ours",
        ),
    ],
)
def test_unusable_answer_is_not_acceptable_rfc3264_section_7(
    offer: bytes, reply: bytes, says: str
) -> None:
    with pytest.raises(NotAcceptable) as caught:
        accept_answer(offer, reply)
    assert says in str(caught.value)
