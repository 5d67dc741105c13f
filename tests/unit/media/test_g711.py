"""G.711 µ-law and A-law (ITU-T G.711 tables 1a, 2a): code values, segments, sign, error bounds.

The reconstruction levels are checked against FFmpeg's decoders (through PyAV); FFmpeg's encoder
rounds to the nearest level instead of using G.711's decision values, so encoders are compared
by decoded audio (DESIGN.md §5).
"""

from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
import pytest

from vacant.media import g711

ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
WIDE = ALL.astype(np.int32)
ALL_CODES = bytes(range(256))
Encode = Callable[[npt.NDArray[np.int16]], bytes]
Decode = Callable[[bytes], npt.NDArray[np.int16]]
LAWS = pytest.mark.parametrize(
    ("codec", "encode", "decode"),
    [
        ("pcm_mulaw", g711.ulaw_encode, g711.ulaw_decode),
        ("pcm_alaw", g711.alaw_encode, g711.alaw_decode),
    ],
)


def _ulaw(x: int) -> int:
    return g711.ulaw_encode(np.array([x], dtype=np.int16))[0]


def _alaw(x: int) -> int:
    return g711.alaw_encode(np.array([x], dtype=np.int16))[0]


def _ulaw_segment(x: int) -> int:
    return ((~_ulaw(x)) >> 4) & 7


def _alaw_segment(x: int) -> int:
    return ((_alaw(x) ^ 0x55) >> 4) & 7


def _ffmpeg(codec: str, data: bytes) -> npt.NDArray[np.int16]:
    context = av.CodecContext.create(codec, "r")
    context.sample_rate = 8000  # type: ignore[attr-defined]
    context.layout = "mono"  # type: ignore[attr-defined]
    frames = context.decode(av.Packet(data))  # type: ignore[attr-defined]
    return np.concatenate([f.to_ndarray().ravel() for f in frames]).astype(np.int16)


def test_zero_codes_ulaw_0xff_alaw_0xd5() -> None:
    # G.711 table 2a: µ-law +0 is 0xFF (all bits inverted); table 1a: A-law is 0xD5 (even bits
    # inverted), which decodes to the smallest positive level.
    assert (_ulaw(0), _alaw(0)) == (0xFF, 0xD5)
    assert list(g711.ulaw_decode(b"\xff\x7f")) == [0, 0]
    assert list(g711.alaw_decode(b"\xd5\x55")) == [8, -8]
    assert (g711.ULAW_SILENCE, g711.ALAW_SILENCE) == (0xFF, 0xD5)


def test_full_scale_codes() -> None:
    assert (_ulaw(32767), _ulaw(-32768)) == (0x80, 0x00)
    assert (_alaw(32767), _alaw(-32768)) == (0xAA, 0x2A)
    assert list(g711.ulaw_decode(b"\x80\x00")) == [32124, -32124]
    assert list(g711.alaw_decode(b"\xaa\x2a")) == [32256, -32256]


def test_sign_bit_is_set_for_positive_samples_in_both_laws() -> None:
    # G.711: bit 1 (the MSB) is the polarity, 1 for positive, in both laws after inversion.
    ulaw = np.frombuffer(g711.ulaw_encode(ALL), dtype=np.uint8)
    alaw = np.frombuffer(g711.alaw_encode(ALL), dtype=np.uint8)
    assert np.array_equal(ulaw >= 0x80, WIDE >= 0)
    assert np.array_equal(alaw >= 0x80, WIDE >= 0)


def test_codes_are_symmetric_in_ones_complement() -> None:
    # x and -x-1 get the same magnitude code, opposite polarity (ITU-T G.191 convention).
    positive = ALL[ALL >= 0]
    mirrored = (-positive.astype(np.int32) - 1).astype(np.int16)
    for encode in (g711.ulaw_encode, g711.alaw_encode):
        a = np.frombuffer(encode(positive), dtype=np.uint8)
        b = np.frombuffer(encode(mirrored), dtype=np.uint8)
        assert np.array_equal(a ^ 0x80, b)


@pytest.mark.parametrize(
    ("last", "segment"),
    # G.711 table 2a: µ-law segment end points in 14-bit units 31, 95, 223, 479, 991, 2015,
    # 4063 (times 4 in 16-bit units): the last sample of each segment, and the next one's first.
    [(4 * end - 1, segment) for segment, end in enumerate((31, 95, 223, 479, 991, 2015, 4063))],
)
def test_ulaw_segment_boundaries_table_2a(last: int, segment: int) -> None:
    assert _ulaw_segment(last) == segment
    assert _ulaw_segment(last + 1) == segment + 1
    assert _ulaw_segment(-last - 1) == segment
    assert _ulaw_segment(-last - 2) == segment + 1


@pytest.mark.parametrize(
    ("last", "segment"),
    # G.711 table 1a: A-law segments end at 13-bit magnitudes 32, 64, ..., 2048 (times 8 in
    # 16-bit units).
    [(8 * end - 1, segment) for segment, end in enumerate((32, 64, 128, 256, 512, 1024, 2048))],
)
def test_alaw_segment_boundaries_table_1a(last: int, segment: int) -> None:
    assert _alaw_segment(last) == segment
    assert _alaw_segment(last + 1) == segment + 1
    assert _alaw_segment(-last - 1) == segment
    assert _alaw_segment(-last - 2) == segment + 1


def test_ulaw_round_trip_error_is_at_most_half_a_step() -> None:
    codes = np.frombuffer(g711.ulaw_encode(ALL), dtype=np.uint8)
    segment = ((~codes) >> 4) & 7
    half_step = 4 << segment.astype(np.int32)  # steps of 8, 16, ... 1024 in 16-bit units
    error = np.abs(g711.ulaw_decode(codes.tobytes()).astype(np.int32) - WIDE)
    inside = np.abs(WIDE) <= 32124 + 512  # beyond the top level, clipping
    assert np.all(error[inside] <= half_step[inside])
    assert np.all(error[~inside] <= 32768 - 32124)


def test_alaw_round_trip_error_is_at_most_half_a_step() -> None:
    codes = np.frombuffer(g711.alaw_encode(ALL), dtype=np.uint8)
    segment = (((codes ^ 0x55) >> 4) & 7).astype(np.int32)
    half_step = np.where(segment <= 1, 8, 8 << np.maximum(segment - 1, 0))
    error = np.abs(g711.alaw_decode(codes.tobytes()).astype(np.int32) - WIDE)
    assert np.all(error <= half_step)


@LAWS
def test_decoded_levels_are_monotonic_and_re_encode_to_themselves(
    codec: str, encode: Encode, decode: Decode
) -> None:
    assert np.all(np.diff(decode(encode(ALL)).astype(np.int32)) >= 0)
    levels = decode(ALL_CODES)
    assert np.array_equal(decode(encode(levels)), levels)


@LAWS
def test_decoding_matches_ffmpeg_for_every_code(codec: str, encode: Encode, decode: Decode) -> None:
    assert np.array_equal(decode(ALL_CODES), _ffmpeg(codec, ALL_CODES))


@LAWS
def test_encoding_agrees_with_ffmpeg_by_decoded_audio(
    codec: str, encode: Encode, decode: Decode
) -> None:
    context = av.CodecContext.create(codec, "w")
    context.sample_rate = 8000  # type: ignore[attr-defined]
    context.layout = "mono"  # type: ignore[attr-defined]
    context.format = "s16"  # type: ignore[attr-defined]
    frame = av.AudioFrame.from_ndarray(ALL.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    packets = [*context.encode(frame), *context.encode(None)]  # type: ignore[attr-defined]
    theirs = decode(b"".join(bytes(p) for p in packets)).astype(np.int32)
    ours = decode(encode(ALL)).astype(np.int32)
    # FFmpeg builds its encoder by rounding to the nearest level, where G.711 puts some decision
    # values elsewhere (at segment boundaries; and it takes the two's complement of negative
    # samples where G.191 takes the one's). The two may differ, rarely, and by one level only.
    assert np.mean(ours != theirs) < 0.02
    levels = np.unique(decode(ALL_CODES))
    distance = np.searchsorted(levels, ours) - np.searchsorted(levels, theirs)
    assert set(np.unique(distance)) <= {-1, 0, 1}
