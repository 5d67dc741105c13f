"""RTP and RTCP packets (RFC 3550), and the state of one RTP sender.

Pure: no I/O and no clock. Wall time (for RTCP's NTP timestamps) is an argument; randomness (the
initial sequence number, timestamp and SSRC, the CNAME) comes from an injected ``random.Random``.

- :class:`RtpPacket`: the fixed header of §5.1 (with CSRCs, §5.3.1 extension and padding skipped
  on parse) and its payload: ``parse(bytes)`` / ``serialize()``.
- :class:`RtpSender`: one stream's sequence number, timestamp, SSRC, marker and counts; it stamps
  the 12-byte header into a caller-owned buffer, so the per-packet path allocates nothing.
- RTCP compound packets (§6.1): SR (§6.4.1) or an empty RR (§6.4.2) + SDES CNAME (§6.5.1) every
  report interval, and the same + BYE (§6.6) when the stream stops; :func:`parse_rtcp` for tests
  and inbound validation.
- :func:`classify`: is an inbound datagram RTP, RTCP (RFC 5761 §4 packet type ranges) or neither.
"""

from __future__ import annotations

import base64
import random
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from vacant.errors import MediaError

#: §5.1: "This field identifies the version of RTP. The version defined by this specification is
#: two (2)."
VERSION: Final = 2

#: §5.1: the fixed header without CSRCs.
HEADER_SIZE: Final = 12

#: RFC 3551 §4.5.2 and §4.5.14: PCMU, PCMA and G.722 all have an 8000 Hz RTP clock (G.722's
#: is 8000 although it samples at 16 kHz), so a 20 ms frame advances the timestamp by 160.
TIMESTAMP_STEP: Final = 160

#: Limits on what we build and parse (a UDP datagram on a 1500-byte MTU path).
MAX_PAYLOAD: Final = 1400
MAX_CNAME: Final = 255  # §6.5: an SDES item's length is one octet

#: RTCP packet types (§12.1).
SR: Final = 200
RR: Final = 201
SDES: Final = 202
BYE: Final = 203
APP: Final = 204

#: §6.5.1: the CNAME item of an SDES chunk.
SDES_CNAME: Final = 1

#: RFC 5905 §6: NTP time counts seconds from 1900-01-01; Unix time from 1970-01-01.
NTP_EPOCH_OFFSET: Final = 2_208_988_800

_FIXED = struct.Struct("!BBHII")
_RTCP_HEADER = struct.Struct("!BBHI")
_SR_INFO = struct.Struct("!IIIII")
_WORD = struct.Struct("!I")
_SEQUENCE_MOD: Final = 1 << 16
_TIMESTAMP_MOD: Final = 1 << 32


class PacketKind(StrEnum):
    """What an inbound datagram on an RTP or RTCP port is (RFC 5761 §4)."""

    RTP = "rtp"
    RTCP = "rtcp"


def classify(data: bytes) -> PacketKind | None:
    """Tell RTP from RTCP by the second octet, cheaply, or ``None`` for anything else.

    RFC 5761 §4: RTCP packet types 192-223 (200-204 and the feedback types) collide with RTP
    payload types 64-95 once the marker bit is counted, so an octet in 192..223 means RTCP and
    any other means RTP. Both need version 2 (§5.1, §6.4.1) and their minimum size: the 12-byte
    RTP fixed header (§5.1), an 8-byte RTCP header with its SSRC (§6.4.2's empty RR).
    STUN, DTLS and ZRTP packets (RFC 7983 §7) have another version field and yield ``None``.
    """
    if len(data) < 8 or data[0] >> 6 != VERSION:
        return None
    if 192 <= data[1] <= 223:
        return PacketKind.RTCP
    if len(data) < HEADER_SIZE:
        return None
    return PacketKind.RTP


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """An RTP packet (§5.1): the fixed header fields, the CSRC list and the payload."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_range("payload_type", self.payload_type, 0, 127)
        _check_range("sequence", self.sequence, 0, _SEQUENCE_MOD - 1)
        _check_range("timestamp", self.timestamp, 0, _TIMESTAMP_MOD - 1)
        _check_range("ssrc", self.ssrc, 0, _TIMESTAMP_MOD - 1)
        _check_range("csrc count", len(self.csrc), 0, 15)
        if len(self.payload) > MAX_PAYLOAD:
            raise MediaError(f"RTP payload: {len(self.payload)} bytes, at most {MAX_PAYLOAD}")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse a datagram as RTP (§5.1); raises :class:`MediaError` naming the broken rule.

        The header extension (§5.3.1) is skipped; padding (§5.1: P bit, the last octet counts
        the padding octets, itself included) is removed from the payload.
        """
        if len(data) < HEADER_SIZE:
            raise MediaError(f"RTP: {len(data)} bytes, the fixed header is {HEADER_SIZE} (§5.1)")
        first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
        if first >> 6 != VERSION:
            raise MediaError(f"RTP version: {first >> 6}, must be 2 (RFC 3550 §5.1)")
        count = first & 0x0F
        offset = HEADER_SIZE + 4 * count
        if len(data) < offset:
            raise MediaError(f"RTP: {count} CSRCs do not fit in {len(data)} bytes (§5.1)")
        csrc = struct.unpack_from(f"!{count}I", data, HEADER_SIZE)
        if first & 0x10:
            if len(data) < offset + 4:
                raise MediaError("RTP header extension: truncated (RFC 3550 §5.3.1)")
            words = struct.unpack_from("!H", data, offset + 2)[0]
            offset += 4 + 4 * words
            if len(data) < offset:
                raise MediaError("RTP header extension: longer than the packet (§5.3.1)")
        end = len(data)
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < offset:
                raise MediaError(f"RTP padding: {padding} octets do not fit (RFC 3550 §5.1)")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=csrc,
        )

    def serialize(self) -> bytes:
        """The packet's bytes: version 2, no padding, no extension (§5.1)."""
        first = (VERSION << 6) | len(self.csrc)
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _FIXED.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return header + csrc + self.payload


class RtpSender:
    """The sending state of one RTP stream (§5.1) and its counts for sender reports (§6.4.1).

    §5.1: the initial sequence number and timestamp are random ("SHOULD be random"), and so is
    the SSRC (§8.1). The marker bit is set on the first packet of a talkspurt (RFC 3551 §4.1):
    the first packet of the stream, and the first one after packets were not sent (hold, a
    stall of the media clock): :meth:`skip` advances the timestamp over such slots.
    """

    __slots__ = ("marker", "octets", "packets", "payload_type", "sequence", "ssrc", "timestamp")

    def __init__(self, rng: random.Random, payload_type: int) -> None:
        _check_range("payload_type", payload_type, 0, 127)
        self.ssrc = rng.getrandbits(32)
        self.sequence = rng.getrandbits(16)
        self.timestamp = rng.getrandbits(32)
        self.payload_type = payload_type
        self.marker = True
        self.packets = 0
        self.octets = 0

    def stamp(self, buffer: bytearray, payload_size: int) -> None:
        """Write the next packet's 12-byte header at the start of ``buffer`` and advance.

        The sequence number goes up by one per packet, modulo 2^16; the timestamp by one 20 ms
        frame (:data:`TIMESTAMP_STEP`), modulo 2^32 (§5.1). ``payload_size`` is counted in the
        sender's octet count (§6.4.1: payload octets only, no header or padding).
        """
        _FIXED.pack_into(
            buffer,
            0,
            0x80,
            (0x80 | self.payload_type) if self.marker else self.payload_type,
            self.sequence,
            self.timestamp,
            self.ssrc,
        )
        self.marker = False
        self.sequence = (self.sequence + 1) % _SEQUENCE_MOD
        self.timestamp = (self.timestamp + TIMESTAMP_STEP) % _TIMESTAMP_MOD
        self.packets += 1
        self.octets += payload_size

    def skip(self, slots: int) -> None:
        """``slots`` frame times passed without a packet: the timestamp still follows the
        sampling clock (§5.1) and the next packet starts a talkspurt (RFC 3551 §4.1). The
        sequence number does not move: nothing was lost (§5.1: +1 per packet sent)."""
        self.timestamp = (self.timestamp + slots * TIMESTAMP_STEP) % _TIMESTAMP_MOD
        self.marker = True


def random_cname(rng: random.Random) -> str:
    """A random CNAME (RFC 7022 §4.2): 96 random bits, base64, 16 characters; it names nothing
    about the host, and is unique per stream."""
    return base64.b64encode(rng.getrandbits(96).to_bytes(12, "big")).decode("ascii")


def ntp_timestamp(wall: float) -> int:
    """The 64-bit NTP timestamp (§4: 32.32 fixed point seconds since 1900) of Unix time ``wall``."""
    if wall < 0:
        raise MediaError(f"wall time: {wall}, must not be before 1970")
    seconds = int(wall)
    fraction = int((wall - seconds) * (1 << 32))
    return (((seconds + NTP_EPOCH_OFFSET) % _TIMESTAMP_MOD) << 32) | fraction


@dataclass(frozen=True, slots=True)
class SenderReport:
    """The sender info of an SR (§6.4.1): what was sent up to ``ntp`` (= ``rtp_timestamp``)."""

    ssrc: int
    ntp: int
    rtp_timestamp: int
    packets: int
    octets: int


def _rtcp_header(packet_type: int, count: int, length_octets: int, ssrc: int) -> bytes:
    # §6.4.1: V=2, P=0, a 5-bit count; length in 32-bit words minus one, header included.
    return _RTCP_HEADER.pack(
        (VERSION << 6) | count, packet_type, length_octets // 4 - 1, ssrc % _TIMESTAMP_MOD
    )


def sender_report(sender: RtpSender, wall: float, rtp_timestamp: int) -> bytes:
    """An SR with no report blocks (§6.4.1): we receive nothing we report on.

    ``rtp_timestamp`` is the RTP time of the same instant as ``wall`` (§6.4.1: "the same time
    as the NTP timestamp ... but in the same units and with the same random offset as the RTP
    timestamps"); the packet and octet counts wrap modulo 2^32.
    """
    info = _SR_INFO.pack(
        *divmod(ntp_timestamp(wall), 1 << 32),
        rtp_timestamp % _TIMESTAMP_MOD,
        sender.packets % _TIMESTAMP_MOD,
        sender.octets % _TIMESTAMP_MOD,
    )
    return _rtcp_header(SR, 0, 8 + len(info), sender.ssrc) + info


def receiver_report(ssrc: int) -> bytes:
    """An empty RR (§6.4.2): what leads a compound packet from a participant that has not sent
    RTP (§6.1: the first packet is always an SR or an RR)."""
    return _rtcp_header(RR, 0, 8, ssrc)


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one chunk: our SSRC and its CNAME item (§6.5, §6.5.1).

    §6.5: the item list ends with at least one null octet and is padded with nulls to a 32-bit
    boundary.
    """
    text = cname.encode("utf-8")
    if not 0 < len(text) <= MAX_CNAME:
        raise MediaError(f"CNAME: {len(text)} bytes, must be 1 to {MAX_CNAME} (RFC 3550 §6.5)")
    items = bytes((SDES_CNAME, len(text))) + text
    items += b"\0" * (4 - len(items) % 4)
    return _rtcp_header(SDES, 1, 8 + len(items), ssrc) + items


def bye(ssrc: int, reason: str = "") -> bytes:
    """A BYE for our SSRC (§6.6), with an optional reason (a length octet, then UTF-8 text,
    padded with nulls to a 32-bit boundary)."""
    text = reason.encode("utf-8")
    if len(text) > 255:
        raise MediaError(f"BYE reason: {len(text)} bytes, at most 255 (RFC 3550 §6.6)")
    extra = b""
    if text:
        extra = bytes((len(text),)) + text
        extra += b"\0" * (-len(extra) % 4)
    return _rtcp_header(BYE, 1, 8 + len(extra), ssrc) + extra


def report(sender: RtpSender, cname: str, wall: float, rtp_timestamp: int) -> bytes:
    """The periodic compound packet (§6.1): an SR if we have sent RTP, else an empty RR; then
    SDES with our CNAME (§6.1: "each compound RTCP packet MUST include" a CNAME)."""
    if sender.packets:
        lead = sender_report(sender, wall, rtp_timestamp)
    else:
        lead = receiver_report(sender.ssrc)
    return lead + sdes_cname(sender.ssrc, cname)


def goodbye(sender: RtpSender, cname: str, wall: float, rtp_timestamp: int) -> bytes:
    """The last compound packet (§6.6, §6.1): SR or RR, SDES CNAME, then BYE."""
    return report(sender, cname, wall, rtp_timestamp) + bye(sender.ssrc)


@dataclass(frozen=True, slots=True)
class RtcpPacket:
    """One packet of a compound RTCP packet (§6.1): its type, count field, first SSRC and the
    octets after that SSRC (padding removed)."""

    packet_type: int
    count: int
    ssrc: int
    body: bytes

    def sender_report(self) -> SenderReport:
        """The sender info of an SR (§6.4.1); raises :class:`MediaError` for any other packet."""
        if self.packet_type != SR or len(self.body) < _SR_INFO.size:
            raise MediaError(f"RTCP packet type {self.packet_type}: not an SR with sender info")
        ntp_high, ntp_low, rtp_timestamp, packets, octets = _SR_INFO.unpack_from(self.body)
        return SenderReport(self.ssrc, (ntp_high << 32) | ntp_low, rtp_timestamp, packets, octets)

    def cname(self) -> str | None:
        """The CNAME of the first chunk of an SDES packet (§6.5.1), or ``None``."""
        if self.packet_type != SDES:
            return None
        body = self.body
        index = 0
        while index + 1 < len(body) and body[index] != 0:
            kind, length = body[index], body[index + 1]
            text = body[index + 2 : index + 2 + length]
            if kind == SDES_CNAME:
                return text.decode("utf-8", "replace")
            index += 2 + length
        return None


def parse_rtcp(data: bytes) -> tuple[RtcpPacket, ...]:
    """Split and validate a compound RTCP packet (§6.1, the checks of Appendix A.2).

    Every packet has version 2; the first is an SR or an RR; only the last may be padded; the
    lengths add up to the datagram exactly. Raises :class:`MediaError` naming the broken rule.
    """
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _RTCP_HEADER.size:
            raise MediaError(f"RTCP: {len(data) - offset} trailing bytes (RFC 3550 A.2)")
        first, packet_type, words, ssrc = _RTCP_HEADER.unpack_from(data, offset)
        end = offset + 4 * (words + 1)
        if first >> 6 != VERSION:
            raise MediaError(f"RTCP version: {first >> 6}, must be 2 (RFC 3550 §6.4.1)")
        if end > len(data):
            raise MediaError("RTCP length: longer than the datagram (RFC 3550 A.2)")
        if words == 0:
            raise MediaError("RTCP length: 0, a packet without an SSRC (RFC 3550 §6.4)")
        if not packets and packet_type not in (SR, RR):
            raise MediaError(f"RTCP: first packet type {packet_type}, must be SR or RR (§6.1)")
        body_end = end
        if first & 0x20:
            if end != len(data):
                raise MediaError("RTCP padding: only the last packet may be padded (A.2)")
            body_end -= data[end - 1]
            if body_end < offset + _RTCP_HEADER.size:
                raise MediaError("RTCP padding: longer than the packet (RFC 3550 A.2)")
        body = bytes(data[offset + _RTCP_HEADER.size : body_end])
        packets.append(RtcpPacket(packet_type, first & 0x1F, ssrc, body))
        offset = end
    if not packets:
        raise MediaError("RTCP: empty datagram (RFC 3550 §6.1)")
    return tuple(packets)


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise MediaError(f"RTP {field}: {value}, must be {low} to {high} (RFC 3550 §5.1)")
