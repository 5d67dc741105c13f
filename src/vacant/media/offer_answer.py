"""SDP offer/answer for one audio stream (RFC 3264), with SDES-SRTP keys (RFC 4568).

Theory of operation: ``answer`` reads the caller's offer, accepts the first audio stream it can
serve (RTP/AVP, or RTP/SAVP with a usable ``a=crypto``, and one of PCMU, PCMA, G.722), rejects
every other stream with port 0, and writes an answer with exactly as many ``m=`` lines in the same
order (RFC 3264 §6). ``make_offer`` writes our offer when the INVITE had none, and
``accept_answer`` reads the answer to it (§7). Each returns a ``Negotiated``: what the media
engine needs to send, receive and protect the stream.

Pure: no I/O, no clock; randomness (our SRTP keys) comes from an injected ``random.Random``.
Errors: malformed SDP raises ``SdpError`` (status hint 400); a description we understand but
cannot serve raises ``NotAcceptable`` (status hint 488) whose message says why.
"""

from __future__ import annotations

import base64
import ipaddress
import random
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from vacant.errors import MediaError
from vacant.media.sdp import (
    Attribute,
    Connection,
    Crypto,
    Direction,
    Media,
    Origin,
    SdpError,
    SessionDescription,
    Timing,
    parse,
    parse_crypto,
)


class Codec(StrEnum):
    """The audio codecs we send; the value is the SDP encoding name (RFC 3551 §6)."""

    PCMU = "PCMU"
    PCMA = "PCMA"
    G722 = "G722"


# RFC 3551 §6 static payload types. The RTP clock is 8000 for all three: G.722 samples at
# 16 kHz but its RTP clock rate is 8000 (RFC 3551 §4.5.2).
STATIC_PAYLOAD_TYPES: Final = {Codec.PCMU: 0, Codec.PCMA: 8, Codec.G722: 9}
CLOCK_RATE: Final = 8000
_BY_STATIC_TYPE: Final = {pt: codec for codec, pt in STATIC_PAYLOAD_TYPES.items()}
# Our offer's payload type for RFC 4733 telephone-event (a dynamic one, RFC 3551 §3).
TELEPHONE_EVENT: Final = 101
PTIME: Final = 20
# RFC 4568 §6.2: the suites we support; both take a 128-bit key and a 112-bit salt.
SRTP_SUITES: Final = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
SRTP_KEY_LENGTH: Final = 30
_RTP_AVP: Final = "RTP/AVP"
_RTP_SAVP: Final = "RTP/SAVP"


@dataclass(frozen=True, slots=True)
class SrtpKey:
    """One SDES key (RFC 4568 §6.2): ``key`` is master key (16) || master salt (14)."""

    suite: str
    key: bytes
    tag: int


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """Our side of the stream: RTP address and port (RTCP = port + 1), o= session id/version."""

    address: str
    port: int
    session_id: int
    version: int


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of an offer/answer exchange, what the media engine needs to send.

    ``remote`` is None when there is nowhere to send (the RFC 2543 ``c=0.0.0.0`` hold form);
    ``send``/``receive`` follow the directions both sides wrote (RFC 3264 §6.1).
    """

    codec: Codec
    payload_type: int
    telephone_event: int | None
    remote: tuple[str, int] | None
    remote_rtcp: tuple[str, int] | None
    send: bool
    receive: bool
    srtp_send: SrtpKey | None = None
    srtp_receive: SrtpKey | None = None
    ptime: int = PTIME


class NotAcceptable(MediaError):
    """An offer or answer we understand but cannot serve (RFC 3264 §6: 488 Not Acceptable Here)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.status_hint = 488


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """Where and whether the far side takes media, from its ``c=``, port, ``a=rtcp``, direction."""

    remote: tuple[str, int] | None
    remote_rtcp: tuple[str, int] | None
    direction: Direction  # the far side's, with c=0.0.0.0 read as "does not receive"


def _codecs(media: Media) -> list[tuple[Codec, int]]:
    """Our codecs among the stream's formats, in the order listed, with their payload types."""
    rtpmaps = {m.payload_type: m for m in media.rtpmaps}
    found = []
    for fmt in media.formats:
        if not fmt.isdigit() or int(fmt) > 127:
            continue
        pt = int(fmt)
        rtpmap = rtpmaps.get(pt)
        if rtpmap is None:
            # RFC 3551 §6: static payload types need no rtpmap.
            codec = _BY_STATIC_TYPE.get(pt)
        elif rtpmap.clock_rate == CLOCK_RATE and rtpmap.channels in (None, 1):
            codec = next((c for c in Codec if c.value == rtpmap.encoding.upper()), None)
        else:
            codec = None
        if codec is not None:
            found.append((codec, pt))
    return found


def _telephone_event(media: Media) -> int | None:
    """The payload type of RFC 4733 ``telephone-event/8000`` among the stream's formats."""
    formats = set(media.formats)
    for rtpmap in media.rtpmaps:
        if (
            rtpmap.encoding.lower() == "telephone-event"
            and rtpmap.clock_rate == CLOCK_RATE
            and str(rtpmap.payload_type) in formats
        ):
            return rtpmap.payload_type
    return None


def _usable_crypto(value: str) -> Crypto | None:
    """The crypto line if we can use it: a supported suite, one inline key of the right size,
    no MKI and no session parameters (RFC 4568 §6.1, §6.3); else None."""
    try:
        crypto = parse_crypto(value)
    except SdpError:
        return None
    if (
        crypto.suite not in SRTP_SUITES
        or len(crypto.keys) != 1
        or len(crypto.keys[0].key_salt) != SRTP_KEY_LENGTH
        or crypto.keys[0].mki is not None
        or crypto.session_params
    ):
        return None
    return crypto


def _endpoint(sd: SessionDescription, media: Media, index: int) -> _Endpoint:
    """Read the far side's address and direction for a stream it offered or answered."""
    connection = sd.connection_of(media)
    if connection is None:
        raise SdpError(f"SDP m-line {index}: no c= in the stream or session (RFC 4566 §5.7)")
    direction = sd.direction_of(media)
    if connection.is_unspecified:
        # RFC 3264 §8.4: c=0.0.0.0 (RFC 2543 hold) means send neither RTP nor RTCP there.
        return _Endpoint(None, None, Direction.of(send=direction.sends, receive=False))
    host = _host(connection, index, "c=")
    rtcp = media.rtcp
    if rtcp is None:
        remote_rtcp = (host, media.port + 1)  # RFC 3550 §11: RTCP on the next port up
    else:  # RFC 3605 §2.1: the port, and the address when it differs
        rtcp_host = host if rtcp.connection is None else _host(rtcp.connection, index, "a=rtcp")
        remote_rtcp = (rtcp_host, rtcp.port)
    return _Endpoint((host, media.port), remote_rtcp, direction)


def _host(connection: Connection, index: int, field: str) -> str:
    """The connection address as an IP literal of its address type (we resolve no names)."""
    try:
        address = ipaddress.ip_address(connection.address)
    except ValueError:
        raise NotAcceptable(
            f"m-line {index}: {field} address {connection.address[:60]!r} is not an IP address"
        ) from None
    if address.version != (4 if connection.addrtype == "IP4" else 6):
        raise SdpError(
            f"SDP m-line {index}: {field} address is not {connection.addrtype} (RFC 4566 §5.7)"
        )
    return str(address)


def _family(address: str) -> str:
    return "IP4" if ipaddress.ip_address(address).version == 4 else "IP6"


def _description(local: LocalMedia, media: tuple[Media, ...]) -> bytes:
    """Our SDP: o=vacant, s=vacant, one c= for the session, t=0 0 (RFC 3264 §5)."""
    family = _family(local.address)
    return SessionDescription(
        origin=Origin(
            "vacant", str(local.session_id), str(local.version), "IN", family, local.address
        ),
        name="vacant",
        connection=Connection("IN", family, local.address),
        timings=(Timing(0, 0),),
        media=media,
    ).serialize()


def _audio_attributes(
    codecs: list[tuple[Codec, int]],
    telephone_event: int | None,
    crypto: tuple[Attribute, ...],
    direction: Direction,
) -> tuple[Attribute, ...]:
    attributes = [Attribute("rtpmap", f"{pt} {codec.value}/{CLOCK_RATE}") for codec, pt in codecs]
    if telephone_event is not None:
        attributes += [
            Attribute("rtpmap", f"{telephone_event} telephone-event/{CLOCK_RATE}"),
            Attribute("fmtp", f"{telephone_event} 0-16"),
        ]
    attributes += [*crypto, Attribute("ptime", str(PTIME)), Attribute(direction.value)]
    return tuple(attributes)


def _rejected(media: Media) -> Media:
    """RFC 3264 §6: a rejected stream keeps its media and proto, port 0, a non-empty format list."""
    return Media(media.media, 0, media.proto, media.formats or ("0",))


def _choose(
    media: Media, index: int, previous: Negotiated | None
) -> tuple[Codec, int, Crypto | None]:
    """The codec and crypto line we accept for one offered audio stream, or NotAcceptable."""
    if media.port == 0:
        raise NotAcceptable(f"m-line {index}: the audio stream is disabled (port 0)")
    if media.proto not in (_RTP_AVP, _RTP_SAVP):
        raise NotAcceptable(
            f"m-line {index}: transport {media.proto[:40]} is not RTP/AVP or RTP/SAVP"
        )
    codecs = _codecs(media)
    if not codecs:
        raise NotAcceptable(
            f"m-line {index}: no common codec: offered {' '.join(media.formats)[:80]},"
            " we have PCMU PCMA G722"
        )
    # RFC 3264 §8.3.2: on a re-offer, keep the codec in use while it is still offered; else the
    # offerer's first choice (§6.1: the offer lists formats in order of preference).
    kept = [c for c in codecs if previous is not None and c[0] is previous.codec]
    codec, pt = (kept or codecs)[0]
    crypto = None
    if media.proto == _RTP_SAVP:
        # RFC 4568 §7.1.1: accept the first crypto line we support, else reject the stream.
        crypto = next(
            (c for c in map(_usable_crypto, media.values("crypto")) if c is not None), None
        )
        if crypto is None:
            raise NotAcceptable(
                f"m-line {index}: RTP/SAVP without a usable a=crypto"
                f" ({' or '.join(SRTP_SUITES)}, one inline key, no MKI; RFC 4568 §7.1.1)"
            )
    return codec, pt, crypto


def answer(
    offer: bytes, local: LocalMedia, rng: random.Random, previous: Negotiated | None = None
) -> tuple[Negotiated, bytes]:
    """Answer an offer (RFC 3264 §6); ``previous`` is the stream's state on a re-offer (§8).

    Accepts the first audio stream we can serve and rejects every other ``m=`` line with port 0.
    The codec is the offerer's first choice among PCMU, PCMA and G.722 (or, on a re-offer, the one
    in use while it is still offered), with telephone-event under the offerer's payload type. The
    direction mirrors the offer's (sendonly -> recvonly, §6.1). RTP/SAVP gets our own fresh SDES
    key, or the previous one on a re-offer that keeps the suite (RFC 4568 §7.1.4).

    Raises ``SdpError`` (400) for malformed SDP and ``NotAcceptable`` (488) when no audio stream
    can be served.
    """
    sd = parse(offer)
    reasons: list[str] = []
    chosen: tuple[int, Codec, int, Crypto | None] | None = None
    for index, media in enumerate(sd.media, start=1):
        if media.media != "audio" or chosen is not None:
            continue
        try:
            chosen = (index, *_choose(media, index, previous))
        except NotAcceptable as exc:
            reasons.append(str(exc))
    if chosen is None:
        raise NotAcceptable("; ".join(reasons) or "the offer has no audio stream (RFC 3264 §6)")
    index, codec, pt, crypto = chosen
    offered = sd.media[index - 1]
    endpoint = _endpoint(sd, offered, index)
    if endpoint.remote is not None and _family(endpoint.remote[0]) != _family(local.address):
        raise NotAcceptable(
            f"m-line {index}: the offer's address is {_family(endpoint.remote[0])},"
            f" our media address is {_family(local.address)}"
        )
    ours = endpoint.direction.reversed()
    telephone_event = _telephone_event(offered)
    srtp_send = srtp_receive = None
    crypto_attributes: tuple[Attribute, ...] = ()
    if crypto is not None:
        srtp_receive = SrtpKey(crypto.suite, crypto.keys[0].key_salt, crypto.tag)
        if previous is not None and previous.srtp_send and previous.srtp_send.suite == crypto.suite:
            srtp_send = replace(previous.srtp_send, tag=crypto.tag)
        else:
            srtp_send = SrtpKey(crypto.suite, rng.randbytes(SRTP_KEY_LENGTH), crypto.tag)
        crypto_attributes = (Attribute("crypto", _crypto_value(srtp_send)),)
    accepted = Media(
        "audio",
        local.port,
        offered.proto,
        (str(pt),) if telephone_event is None else (str(pt), str(telephone_event)),
        attributes=_audio_attributes([(codec, pt)], telephone_event, crypto_attributes, ours),
    )
    streams = tuple(
        accepted if i == index else _rejected(m) for i, m in enumerate(sd.media, start=1)
    )
    negotiated = Negotiated(
        codec=codec,
        payload_type=pt,
        telephone_event=telephone_event,
        remote=endpoint.remote,
        remote_rtcp=endpoint.remote_rtcp,
        send=ours.sends and endpoint.remote is not None,
        receive=ours.receives,
        srtp_send=srtp_send,
        srtp_receive=srtp_receive,
    )
    return negotiated, _description(local, streams)


def _crypto_value(key: SrtpKey) -> str:
    """``<tag> <suite> inline:<base64 key||salt>`` (RFC 4568 §9.1)."""
    return f"{key.tag} {key.suite} inline:{base64.b64encode(key.key).decode('ascii')}"


def make_offer(local: LocalMedia, rng: random.Random, *, srtp: bool = False) -> bytes:
    """Our offer for an INVITE without SDP, sent in the 200 OK (RFC 3264 §5, RFC 3261 §13.2.1).

    One sendrecv audio stream: PCMU, PCMA, G.722 and telephone-event/8000; with ``srtp``, an
    RTP/SAVP stream with one ``a=crypto`` line per supported suite, each with its own key.
    """
    codecs = list(STATIC_PAYLOAD_TYPES.items())
    crypto: tuple[Attribute, ...] = ()
    if srtp:
        crypto = tuple(
            Attribute("crypto", _crypto_value(SrtpKey(suite, rng.randbytes(SRTP_KEY_LENGTH), tag)))
            for tag, suite in enumerate(SRTP_SUITES, start=1)
        )
    media = Media(
        "audio",
        local.port,
        _RTP_SAVP if srtp else _RTP_AVP,
        (*(str(pt) for _, pt in codecs), str(TELEPHONE_EVENT)),
        attributes=_audio_attributes(codecs, TELEPHONE_EVENT, crypto, Direction.SENDRECV),
    )
    return _description(local, (media,))


def accept_answer(offer: bytes, answer: bytes) -> Negotiated:
    """Read the answer (in the ACK) to our ``offer`` (RFC 3264 §7).

    The answer must keep our audio stream (same position, port not 0, same transport); we send
    with its first codec that we offered, under the answer's payload type. RTP/SAVP needs a crypto
    line answering one of ours: same tag and suite (RFC 4568 §7.1.3).
    Raises ``SdpError`` (400) for malformed SDP and ``NotAcceptable`` when nothing is usable.
    """
    ours = parse(offer)
    theirs = parse(answer)
    index, offered = next(
        ((i, m) for i, m in enumerate(ours.media, start=1) if m.media == "audio" and m.port),
        (0, None),
    )
    if offered is None:
        raise NotAcceptable("our offer has no audio stream")
    if len(theirs.media) != len(ours.media):
        raise NotAcceptable(
            f"the answer has {len(theirs.media)} m-lines for the offer's {len(ours.media)}"
            " (RFC 3264 §6: the same count and order)"
        )
    media = theirs.media[index - 1]
    if media.media != "audio" or media.port == 0:
        raise NotAcceptable(f"m-line {index}: the answer rejected the audio stream (RFC 3264 §6)")
    if media.proto != offered.proto:
        raise NotAcceptable(
            f"m-line {index}: the answer's transport {media.proto[:40]} is not the offer's"
            f" {offered.proto}"
        )
    offered_codecs = {codec for codec, _ in _codecs(offered)}
    codec, pt = next(((c, p) for c, p in _codecs(media) if c in offered_codecs), (None, 0))
    if codec is None:
        raise NotAcceptable(f"m-line {index}: the answer has none of the codecs we offered")
    srtp_send = srtp_receive = None
    if media.proto == _RTP_SAVP:
        mine = {c.tag: c for c in map(_usable_crypto, offered.values("crypto")) if c is not None}
        for crypto in map(_usable_crypto, media.values("crypto")):
            if crypto is not None and crypto.tag in mine and mine[crypto.tag].suite == crypto.suite:
                key = mine[crypto.tag].keys[0].key_salt
                srtp_send = SrtpKey(crypto.suite, key, crypto.tag)
                srtp_receive = SrtpKey(crypto.suite, crypto.keys[0].key_salt, crypto.tag)
                break
        else:
            raise NotAcceptable(
                f"m-line {index}: no a=crypto answering one of ours (RFC 4568 §7.1.3)"
            )
    endpoint = _endpoint(theirs, media, index)
    telephone_event = _telephone_event(media) if _telephone_event(offered) is not None else None
    return Negotiated(
        codec=codec,
        payload_type=pt,
        telephone_event=telephone_event,
        remote=endpoint.remote,
        remote_rtcp=endpoint.remote_rtcp,
        send=endpoint.direction.receives and endpoint.remote is not None,
        receive=endpoint.direction.sends,
        srtp_send=srtp_send,
        srtp_receive=srtp_receive,
    )
