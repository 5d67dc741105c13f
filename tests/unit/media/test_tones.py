"""The Special Information Tone "Vacant Code" (Telcordia SR-2275 Special Information Tones;
ITU-T E.180 for the envelope the North American codes refine)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vacant.media.tones import LEVEL_DBM0, VACANT_CODE, sit_vacant_code


def _segments(rate: int) -> list[np.ndarray]:
    samples = np.frombuffer(sit_vacant_code(rate), dtype="<i2").astype(np.float64)
    bounds = np.cumsum([0] + [round(rate * seconds) for _, seconds in VACANT_CODE])
    return [samples[a:b] for a, b in itertools.pairwise(bounds)]


def _dominant(segment: np.ndarray, rate: int) -> float:
    padded = np.zeros(1 << 16)
    padded[: segment.size] = segment * np.hanning(segment.size)
    spectrum = np.abs(np.fft.rfft(padded))
    return float(np.fft.rfftfreq(padded.size, 1 / rate)[np.argmax(spectrum)])


def test_vacant_code_is_high_long_low_short_low_long() -> None:
    """SR-2275: VC = segment 1 high (985.2 Hz) long (380 ms), segment 2 low (1370.6 Hz) short
    (274 ms), segment 3 1776.7 Hz long (380 ms)."""
    assert VACANT_CODE == ((985.2, 0.380), (1370.6, 0.274), (1776.7, 0.380))


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_each_segment_has_its_frequency_and_length(rate: int) -> None:
    pcm = sit_vacant_code(rate)
    assert len(pcm) == 2 * sum(round(rate * s) for _, s in VACANT_CODE)
    for segment, (frequency, _seconds) in zip(_segments(rate), VACANT_CODE, strict=True):
        assert abs(_dominant(segment, rate) - frequency) < 1.0


def test_segments_follow_each_other_without_a_gap() -> None:
    """E.180 allows at most 30 ms of silence between segments: we leave none."""
    samples = np.frombuffer(sit_vacant_code(), dtype="<i2").astype(np.float64)
    window = 160  # 10 ms at 16 kHz
    rms = [np.sqrt(np.mean(samples[i : i + window] ** 2)) for i in range(0, samples.size, window)]
    assert min(rms[1:-1]) > 500


def test_level_is_minus_24_dbm0() -> None:
    """E.180: nominal -24 dBm0 (a 0 dBm0 sine peaks 3.14 dB below G.711 full scale)."""
    peak = np.max(np.abs(np.frombuffer(sit_vacant_code(), dtype="<i2")))
    assert LEVEL_DBM0 == -24.0
    assert 20 * np.log10(peak / 32767) == pytest.approx(-24.0 + 3.14, abs=0.1)


def test_ends_are_ramped_without_a_click() -> None:
    samples = np.frombuffer(sit_vacant_code(), dtype="<i2")
    assert abs(int(samples[0])) < 50
    assert abs(int(samples[-1])) < 300


@pytest.mark.parametrize("rate", [7999, 48001])
def test_rate_outside_8_to_48_khz_is_refused(rate: int) -> None:
    with pytest.raises(ValueError, match="rate must be 8000 to 48000 Hz"):
        sit_vacant_code(rate)
