"""RTP and RTCP packets (RFC 3550) and the sender state: byte-level, every rule named."""

from __future__ import annotations

import contextlib
import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vacant.errors import MediaError
from vacant.media import rtp
from vacant.media.rtp import PacketKind, RtpPacket, RtpSender

# V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0xDEADBEEF | SSRC 0x01020304 | payload "ab"
RTP_BYTES = bytes.fromhex("80 80 1234 deadbeef 01020304") + b"ab"


# RTP fixed header (RFC 3550 §5.1)


def test_serialize_writes_the_fixed_header_of_rfc3550_5_1() -> None:
    packet = RtpPacket(
        payload_type=0, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304, payload=b"ab",
        marker=True,
    )  # fmt: skip
    assert packet.serialize() == RTP_BYTES


def test_parse_reads_the_fixed_header_of_rfc3550_5_1() -> None:
    packet = RtpPacket.parse(RTP_BYTES)
    assert packet == RtpPacket(0, 0x1234, 0xDEADBEEF, 0x01020304, b"ab", marker=True)


def test_csrc_list_follows_the_fixed_header_and_cc_counts_it_rfc3550_5_1() -> None:
    packet = RtpPacket(8, 1, 2, 3, b"x", csrc=(7, 9))
    data = packet.serialize()
    assert data[0] == 0x82
    assert data[12:20] == struct.pack("!II", 7, 9)
    assert RtpPacket.parse(data) == packet


def test_parse_skips_the_header_extension_rfc3550_5_3_1() -> None:
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    data = bytes([0x90, 0x00]) + RTP_BYTES[2:12] + extension + b"payload"
    assert RtpPacket.parse(data).payload == b"payload"


def test_parse_removes_padding_counted_by_the_last_octet_rfc3550_5_1() -> None:
    data = bytes([0xA0, 0x00]) + RTP_BYTES[2:12] + b"voice" + b"\0\0\x03"
    assert RtpPacket.parse(data).payload == b"voice"


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (RTP_BYTES[:11], "fixed header"),
        (bytes([0x40]) + RTP_BYTES[1:], "version"),
        (bytes([0x83]) + RTP_BYTES[1:12] + b"\0" * 8, "CSRC"),
        (bytes([0x90]) + RTP_BYTES[1:12] + b"\xbe\xde", "extension: truncated"),
        (bytes([0x90]) + RTP_BYTES[1:12] + b"\xbe\xde\x00\x02" + b"\0" * 4, "extension: longer"),
        (bytes([0xA0]) + RTP_BYTES[1:12] + b"ab\x00", "padding"),
        (bytes([0xA0]) + RTP_BYTES[1:12] + b"ab\x04", "padding"),
    ],
)
def test_parse_rejects_a_packet_that_breaks_rfc3550_5_1(data: bytes, rule: str) -> None:
    with pytest.raises(MediaError, match=rule):
        RtpPacket.parse(data)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"payload_type": 128}, "payload_type"),
        ({"sequence": 1 << 16}, "sequence"),
        ({"timestamp": 1 << 32}, "timestamp"),
        ({"ssrc": -1}, "ssrc"),
        ({"csrc": tuple(range(16))}, "csrc count"),
        ({"payload": b"\0" * (rtp.MAX_PAYLOAD + 1)}, "payload"),
    ],
)
def test_header_fields_are_bounded_by_their_widths_rfc3550_5_1(
    fields: dict[str, object], name: str
) -> None:
    values: dict[str, object] = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0}
    values.update(fields)
    with pytest.raises(MediaError, match=name):
        RtpPacket(**values)  # type: ignore[arg-type]


@given(
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 65535),
    timestamp=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrc=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
)
def test_serialize_then_parse_round_trips(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrc: tuple[int, ...],
) -> None:
    packet = RtpPacket(payload_type, sequence, timestamp, ssrc, payload, marker, csrc)
    assert RtpPacket.parse(packet.serialize()) == packet


@given(st.binary(max_size=80))
def test_parse_of_arbitrary_bytes_gives_a_packet_or_media_error(data: bytes) -> None:
    with contextlib.suppress(MediaError):
        RtpPacket.parse(data)


# The sender (RFC 3550 §5.1, RFC 3551 §4.1)


def _stamp(sender: RtpSender, payload: bytes = b"\xff" * 160) -> RtpPacket:
    buffer = bytearray(rtp.HEADER_SIZE + len(payload))
    sender.stamp(buffer, len(payload))
    buffer[rtp.HEADER_SIZE :] = payload
    return RtpPacket.parse(bytes(buffer))


def test_initial_sequence_timestamp_and_ssrc_come_from_the_injected_rng_rfc3550_5_1() -> None:
    first, again, other = (RtpSender(random.Random(seed), 0) for seed in (1, 1, 2))
    assert (first.ssrc, first.sequence, first.timestamp) == (
        again.ssrc,
        again.sequence,
        again.timestamp,
    )
    assert (first.ssrc, first.sequence, first.timestamp) != (
        other.ssrc,
        other.sequence,
        other.timestamp,
    )


def test_marker_is_set_on_the_first_packet_of_the_stream_only_rfc3551_4_1() -> None:
    sender = RtpSender(random.Random(3), 8)
    packets = [_stamp(sender) for _ in range(3)]
    assert [p.marker for p in packets] == [True, False, False]
    assert {p.payload_type for p in packets} == {8}


def test_sequence_adds_one_and_timestamp_adds_160_per_20ms_frame_rfc3550_5_1() -> None:
    sender = RtpSender(random.Random(4), 0)
    packets = [_stamp(sender) for _ in range(3)]
    assert [p.sequence - packets[0].sequence for p in packets] == [0, 1, 2]
    assert [p.timestamp - packets[0].timestamp for p in packets] == [0, 160, 320]
    assert len({p.ssrc for p in packets}) == 1


def test_sequence_and_timestamp_wrap_around_rfc3550_5_1() -> None:
    sender = RtpSender(random.Random(5), 0)
    sender.sequence, sender.timestamp = 65535, 2**32 - 100
    _stamp(sender)
    packet = _stamp(sender)
    assert (packet.sequence, packet.timestamp) == (0, 60)


def test_skipped_slots_advance_the_timestamp_not_the_sequence_and_mark_a_talkspurt() -> None:
    """RFC 3550 §5.1 (timestamp follows the sampling clock, sequence +1 per packet sent) and
    RFC 3551 §4.1 (marker on the first packet after a silence: hold, a stall)."""
    sender = RtpSender(random.Random(6), 0)
    before = _stamp(sender)
    sender.skip(3)
    after = _stamp(sender)
    assert after.sequence == (before.sequence + 1) % 65536
    assert after.timestamp == (before.timestamp + 4 * 160) % 2**32
    assert after.marker


def test_sender_counts_packets_and_payload_octets_for_the_sr_rfc3550_6_4_1() -> None:
    sender = RtpSender(random.Random(7), 0)
    _stamp(sender, b"x" * 160)
    _stamp(sender, b"y" * 80)
    assert (sender.packets, sender.octets) == (2, 240)


def test_sender_rejects_a_payload_type_out_of_7_bits() -> None:
    with pytest.raises(MediaError, match="payload_type"):
        RtpSender(random.Random(8), 128)


def test_random_cname_is_96_random_bits_in_base64_rfc7022_4_2() -> None:
    cname = rtp.random_cname(random.Random(9))
    assert len(cname) == 16
    assert cname == rtp.random_cname(random.Random(9))
    assert cname != rtp.random_cname(random.Random(10))


# RTCP (RFC 3550 §6)


def test_ntp_timestamp_counts_32_32_fixed_point_seconds_since_1900_rfc3550_4() -> None:
    assert rtp.ntp_timestamp(0.0) == 2_208_988_800 << 32
    assert rtp.ntp_timestamp(1.5) == ((2_208_988_801 << 32) | 0x8000_0000)


def test_ntp_timestamp_seconds_wrap_in_2036_rfc3550_4() -> None:
    assert rtp.ntp_timestamp(float(2**32 - 2_208_988_800)) >> 32 == 0


def test_ntp_timestamp_rejects_a_wall_time_before_1970() -> None:
    with pytest.raises(MediaError, match="wall time"):
        rtp.ntp_timestamp(-1.0)


def _sender(packets: int = 0, octets: int = 0) -> RtpSender:
    sender = RtpSender(random.Random(11), 0)
    sender.ssrc, sender.packets, sender.octets = 0x0A0B0C0D, packets, octets
    return sender


def test_sender_report_layout_rfc3550_6_4_1() -> None:
    data = rtp.sender_report(_sender(3, 480), 1.5, 0x11223344)
    assert data == (
        bytes.fromhex("80 c8 0006 0a0b0c0d")
        + struct.pack("!II", 2_208_988_801, 0x8000_0000)
        + bytes.fromhex("11223344 00000003 000001e0")
    )
    (packet,) = rtp.parse_rtcp(data)
    assert packet.sender_report() == rtp.SenderReport(
        ssrc=0x0A0B0C0D,
        ntp=rtp.ntp_timestamp(1.5),
        rtp_timestamp=0x11223344,
        packets=3,
        octets=480,
    )


def test_sender_report_counts_wrap_modulo_2_32_rfc3550_6_4_1() -> None:
    data = rtp.sender_report(_sender(2**32 + 1, 2**32 + 2), 0.0, 2**32 + 3)
    report = rtp.parse_rtcp(data)[0].sender_report()
    assert (report.rtp_timestamp, report.packets, report.octets) == (3, 1, 2)


def test_empty_receiver_report_is_a_header_and_our_ssrc_rfc3550_6_4_2() -> None:
    assert rtp.receiver_report(0x0A0B0C0D) == bytes.fromhex("80 c9 0001 0a0b0c0d")


def test_sdes_cname_chunk_is_null_terminated_and_padded_to_32_bits_rfc3550_6_5() -> None:
    data = rtp.sdes_cname(0x0A0B0C0D, "ab")  # items: 01 02 'a' 'b' + 4 nulls (at least one)
    assert data == bytes.fromhex("81 ca 0003 0a0b0c0d 01 02 6162 00000000")
    data = rtp.sdes_cname(0x0A0B0C0D, "abc")  # 01 03 'abc' + 3 nulls
    assert data == bytes.fromhex("81 ca 0003 0a0b0c0d 01 03 616263 000000")
    assert len(data) % 4 == 0


@pytest.mark.parametrize("cname", ["", "x" * 256])
def test_sdes_cname_length_is_1_to_255_octets_rfc3550_6_5(cname: str) -> None:
    with pytest.raises(MediaError, match="CNAME"):
        rtp.sdes_cname(1, cname)


def test_bye_without_reason_is_a_header_and_our_ssrc_rfc3550_6_6() -> None:
    assert rtp.bye(0x0A0B0C0D) == bytes.fromhex("81 cb 0001 0a0b0c0d")


def test_bye_reason_is_length_prefixed_and_padded_rfc3550_6_6() -> None:
    assert rtp.bye(0x0A0B0C0D, "end") == bytes.fromhex("81 cb 0002 0a0b0c0d 03 656e64")
    assert rtp.bye(1, "bye!")[8:] == bytes.fromhex("04 62796521 000000")


def test_bye_reason_is_at_most_255_octets_rfc3550_6_6() -> None:
    with pytest.raises(MediaError, match="BYE reason"):
        rtp.bye(1, "x" * 256)


def test_report_is_sr_then_sdes_cname_once_we_have_sent_rfc3550_6_1() -> None:
    packets = rtp.parse_rtcp(rtp.report(_sender(1, 160), "cname", 10.0, 5))
    assert [p.packet_type for p in packets] == [rtp.SR, rtp.SDES]
    assert packets[1].cname() == "cname"
    assert {p.ssrc for p in packets} == {0x0A0B0C0D}


def test_report_is_an_empty_rr_before_we_have_sent_rfc3550_6_4() -> None:
    packets = rtp.parse_rtcp(rtp.report(_sender(), "cname", 10.0, 5))
    assert [(p.packet_type, p.count) for p in packets] == [(rtp.RR, 0), (rtp.SDES, 1)]


def test_goodbye_is_sr_sdes_then_bye_rfc3550_6_6() -> None:
    packets = rtp.parse_rtcp(rtp.goodbye(_sender(1, 160), "cname", 10.0, 5))
    assert [p.packet_type for p in packets] == [rtp.SR, rtp.SDES, rtp.BYE]
    assert packets[2].count == 1


def test_cname_is_found_after_other_sdes_items_rfc3550_6_5() -> None:
    # A NAME item (2) before the CNAME item (1).
    items = bytes([2, 3]) + b"bob" + bytes([1, 2]) + b"id" + b"\0"
    packet = rtp.RtcpPacket(rtp.SDES, 1, 5, items)
    assert packet.cname() == "id"


def test_cname_is_none_when_the_chunk_has_none_or_the_packet_is_not_sdes() -> None:
    assert rtp.RtcpPacket(rtp.SDES, 1, 5, bytes([2, 1]) + b"x\0").cname() is None
    assert rtp.RtcpPacket(rtp.BYE, 1, 5, b"").cname() is None


def test_sender_info_of_a_packet_that_is_not_an_sr_is_an_error() -> None:
    with pytest.raises(MediaError, match="not an SR"):
        rtp.RtcpPacket(rtp.RR, 0, 5, b"").sender_report()
    with pytest.raises(MediaError, match="not an SR"):
        rtp.RtcpPacket(rtp.SR, 0, 5, b"\0" * 19).sender_report()


def test_parse_rtcp_removes_padding_of_the_last_packet_rfc3550_a_2() -> None:
    rr = bytes.fromhex("80 c9 0001 00000005")
    padded_bye = bytes.fromhex("a1 cb 0002 00000005 00000004")
    packets = rtp.parse_rtcp(rr + padded_bye)
    assert packets[1] == rtp.RtcpPacket(rtp.BYE, 1, 5, b"")


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "empty"),
        (bytes.fromhex("80 c9 0001 00000005 80c9"), "trailing"),
        (bytes.fromhex("40 c9 0001 00000005"), "version"),
        (bytes.fromhex("80 c9 0002 00000005"), "longer than the datagram"),
        (bytes.fromhex("80 c9 0000 00000005"), "without an SSRC"),
        (bytes.fromhex("81 ca 0001 00000005"), "SR or RR"),
        (bytes.fromhex("a0 c9 0001 00000005 80 cb 0001 00000005"), "only the last"),
        (bytes.fromhex("a0 c9 0001 00000009"), "padding: longer"),
    ],
)
def test_parse_rtcp_rejects_what_the_validity_checks_of_a_2_reject(data: bytes, rule: str) -> None:
    with pytest.raises(MediaError, match=rule):
        rtp.parse_rtcp(data)


# Inbound demultiplexing (RFC 5761 §4)


@pytest.mark.parametrize(
    ("second", "kind"),
    [
        (0x00, PacketKind.RTP),  # PT 0
        (0x80, PacketKind.RTP),  # PT 0 with the marker
        (191, PacketKind.RTP),  # PT 63 with the marker
        (192, PacketKind.RTCP),  # FIR, the first of 192-223
        (200, PacketKind.RTCP),  # SR
        (201, PacketKind.RTCP),  # RR
        (223, PacketKind.RTCP),  # the last of 192-223
        (224, PacketKind.RTP),  # PT 96 with the marker
    ],
)
def test_classify_by_the_packet_type_ranges_of_rfc5761_4(second: int, kind: PacketKind) -> None:
    assert rtp.classify(bytes([0x80, second]) + b"\0" * 10) is kind


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\xc8\0\0\0\0\0",  # shorter than an RTCP header with its SSRC
        b"\x80\x00" + b"\0" * 9,  # shorter than the RTP fixed header
        b"\x00\x01\x00\x00" + b"\0" * 16,  # a STUN binding request (RFC 7983 §7: 0-3)
        b"\x16\xfe\xfd" + b"\0" * 20,  # DTLS (20-63)
        b"\x40\x00" + b"\0" * 10,  # RTP version 1
    ],
)
def test_classify_rejects_what_is_not_version_2_rtp_or_rtcp_rfc3550_5_1(data: bytes) -> None:
    assert rtp.classify(data) is None
