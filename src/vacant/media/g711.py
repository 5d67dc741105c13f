"""G.711 µ-law and A-law (ITU-T G.711 (11/88)), our own tables in numpy.

``audioop`` is gone in Python 3.13 (DESIGN.md §5), so the tables are built here, once, at import.
Linear samples are 16-bit signed; G.711 itself quantises 14-bit (µ-law) and 13-bit (A-law) values,
so the lowest 2 (µ-law) or 3 (A-law) bits are below its resolution.

How a sample is coded (G.711 §2 and tables 1a/2a, in the arrangement of the ITU-T G.191 software
tools): the magnitude is taken as the one's complement for negative samples, so that -1 codes like
0 and the code is symmetric. It falls into one of eight segments, each twice as wide as the one
below; the code byte is sign (1 = positive) | 3-bit segment | 4-bit position within the segment,
with every other bit inverted for A-law (XOR 0x55) and all of them for µ-law. Decoding gives
the middle of the quantisation interval.

Encoding is one table lookup per sample (65536 entries, indexed by the sample's bit pattern);
decoding is one lookup in a 256-entry table.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]

# All 16-bit samples in bit-pattern order: index i holds the sample whose uint16 view is i.
_ALL: Final = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)
_CODES: Final = np.arange(256, dtype=np.int32)
# The one's complement magnitude: ~x for negative x (G.191), so x and -x-1 code alike.
_MAGNITUDE: Final = np.where(_ALL < 0, ~_ALL, _ALL)
_POSITIVE: Final = np.where(_ALL >= 0, 0x80, 0)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    # µ-law: 14-bit magnitude plus the bias 33, clipped to 13 bits (8191 = 8158 + 33). Segment e
    # holds biased magnitudes [32 << e, 64 << e); the position is the four bits below the top one.
    biased = np.minimum((_MAGNITUDE >> 2) + 33, 0x1FFF)
    segment = np.searchsorted(np.array([64, 128, 256, 512, 1024, 2048, 4096]), biased, "right")
    position = (biased >> (segment + 1)) & 0x0F
    code = ((segment << 4) | position) ^ 0x7F | _POSITIVE
    return np.asarray(code, dtype=np.uint8)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    inverted = ~_CODES & 0xFF
    segment = (inverted >> 4) & 0x07
    position = inverted & 0x0F
    step = 8 << segment  # the interval width in 16-bit units
    # Segment e starts at biased magnitude 32 << e in 14-bit units (128 << e in 16-bit units);
    # decoded: the middle of the interval, minus the bias (33 * 4 = 132).
    magnitude = (128 << segment) + step * position + step // 2 - 132
    return np.asarray(np.where(_CODES & 0x80, magnitude, -magnitude), dtype=np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    # A-law: 12-bit magnitude (13-bit sample with the sign apart). Segments 0 and 1 have the same
    # step (16 values in 16-bit units); from segment 2 up each step doubles.
    magnitude = _MAGNITUDE >> 4
    segment = np.searchsorted(np.array([16, 32, 64, 128, 256, 512, 1024]), magnitude, "right")
    position = np.where(segment == 0, magnitude, magnitude >> np.maximum(segment - 1, 0)) & 0x0F
    code = ((segment << 4) | position | _POSITIVE) ^ 0x55
    return np.asarray(code, dtype=np.uint8)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    plain = _CODES ^ 0x55
    segment = (plain >> 4) & 0x07
    position = plain & 0x0F
    # Segment 0 starts at 0, segment e >= 1 at 16 << (e - 1) steps; the middle of the interval.
    mantissa = np.where(segment > 0, position + 16, position)
    magnitude = ((mantissa << 4) + 8) << np.maximum(segment - 1, 0)
    return np.asarray(np.where(plain & 0x80, magnitude, -magnitude), dtype=np.int16)


ULAW_ENCODE: Final = _ulaw_encode_table()
ULAW_DECODE: Final = _ulaw_decode_table()
ALAW_ENCODE: Final = _alaw_encode_table()
ALAW_DECODE: Final = _alaw_decode_table()
#: The code of a silent sample (linear 0): what a frame is padded with.
ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5


def ulaw_encode(samples: Samples) -> bytes:
    """µ-law codes for 16-bit samples (G.711 table 2a), one octet per sample."""
    return ULAW_ENCODE[samples.view(np.uint16)].tobytes()


def ulaw_decode(codes: bytes) -> Samples:
    """16-bit samples for µ-law codes: the middle of each quantisation interval."""
    return ULAW_DECODE[np.frombuffer(codes, dtype=np.uint8)]


def alaw_encode(samples: Samples) -> bytes:
    """A-law codes for 16-bit samples (G.711 table 1a), one octet per sample."""
    return ALAW_ENCODE[samples.view(np.uint16)].tobytes()


def alaw_decode(codes: bytes) -> Samples:
    """16-bit samples for A-law codes: the middle of each quantisation interval."""
    return ALAW_DECODE[np.frombuffer(codes, dtype=np.uint8)]
