"""Decoding imported audio files into prompts (mono s16le at 16 kHz), with fixtures the tests
make themselves with PyAV: every format and width Lync accepts and more, and what is refused."""

from __future__ import annotations

import io
import math

import av
import numpy as np
import pytest

from tests.media.audio import TONES, Variant, encode, has_tones, spectrum_peaks, tones, wav
from vacant.errors import ValidationError
from vacant.media.prompts import SAMPLE_RATE, SILENCE_DBFS, decode, peak_dbfs

SECONDS = 1.5

VARIANTS = [
    Variant("wav-u8-8k", "wav", "pcm_u8", "u8", 8000),
    Variant("wav-s16-16k", "wav", "pcm_s16le", "s16", 16000),
    Variant("wav-s24-44k1", "wav", "pcm_s24le", "s32", 44100),
    Variant("wav-s32-48k", "wav", "pcm_s32le", "s32", 48000),
    Variant("wav-f32-22k05", "wav", "pcm_f32le", "flt", 22050),
    Variant("wav-alaw-8k", "wav", "pcm_alaw", "s16", 8000),
    Variant("wav-mulaw-8k", "wav", "pcm_mulaw", "s16", 8000),
    Variant("wav-s16-44k1-stereo", "wav", "pcm_s16le", "s16", 44100, 2),
    Variant("wav-s16-48k-stereo", "wav", "pcm_s16le", "s16", 48000, 2),
    Variant("mp3-44k1-stereo", "mp3", "libmp3lame", "fltp", 44100, 2, ".mp3"),
    Variant("ogg-opus-48k", "ogg", "libopus", "s16", 48000, 1, ".ogg"),
    Variant("flac-44k1", "flac", "flac", "s16", 44100, 1, ".flac"),
    Variant("wma-wmav2-44k1-stereo", "asf", "wmav2", "fltp", 44100, 2, ".wma", 64000),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_each_format_decodes_to_16k_mono_with_the_tones_and_its_duration(variant: Variant) -> None:
    content = encode(tones(SECONDS, variant.rate, variant.channels), variant)
    decoded = decode(content)
    assert len(decoded.pcm) % 2 == 0
    assert abs(decoded.duration - SECONDS) <= 0.020
    assert decoded.duration == len(decoded.pcm) / 2 / SAMPLE_RATE
    assert has_tones(decoded.pcm), spectrum_peaks(decoded.pcm)
    # Three tones at 0.25 each: peak near 20*log10(0.75) = -2.5 dBFS (codecs move it a little).
    assert -4.5 < decoded.peak_dbfs < -1.0
    assert (decoded.sample_rate, decoded.channels) == (variant.rate, variant.channels)


def test_stereo_is_mixed_down_to_mono() -> None:
    """Left carries 440 Hz, right 2200 Hz: both are in the mono prompt."""
    rate = 16000
    t = np.arange(rate) / rate
    signal = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 2200 * t)]) * 0.5
    content = encode(signal, Variant("stereo", "wav", "pcm_s16le", "s16", rate, 2))
    decoded = decode(content)
    assert spectrum_peaks(decoded.pcm, count=2) == pytest.approx([440, 2200], abs=5)


def test_report_names_the_container_and_codec() -> None:
    decoded = decode(encode(tones(0.5, 8000), VARIANTS[5]))
    assert (decoded.container, decoded.codec) == ("wav", "pcm_alaw")


# --- refused ---------------------------------------------------------------------------------


def _refused(content: bytes, match: str, **kwargs: float) -> ValidationError:
    with pytest.raises(ValidationError, match=match) as info:
        decode(content, **kwargs)
    assert info.value.field == "file"
    return info.value


def test_text_renamed_wav_is_not_readable_audio() -> None:
    _refused(b"Number not in service, please hang up.\n" * 20, "is not a readable audio file")


def test_empty_or_header_only_file_is_not_readable_audio() -> None:
    _refused(b"", "is not a readable audio file")
    _refused(b"RIFF", "is not a readable audio file")


@pytest.mark.parametrize("cut", [1, 1000])
def test_truncated_wav_is_refused_to_the_byte(cut: int) -> None:
    content = encode(tones(1.0, 16000), VARIANTS[1])
    _refused(content[:-cut], "is truncated: its data chunk declares")


@pytest.mark.parametrize("variant", [VARIANTS[9], VARIANTS[11], VARIANTS[12]], ids=lambda v: v.name)
def test_truncated_compressed_file_is_refused(variant: Variant) -> None:
    """MP3 (its Xing/Info frame counts the frames), FLAC (STREAMINFO counts the samples) and WMA
    (the ASF header gives the length) say how long they are: half of one is refused."""
    content = encode(tones(2.0, variant.rate, variant.channels), variant)
    _refused(content[: len(content) // 2], "truncated")


def test_truncated_ogg_is_refused() -> None:
    content = encode(tones(2.0, 48000), VARIANTS[10])
    _refused(content[: len(content) // 2], "is not a readable audio file|truncated")


def test_damaged_data_after_the_audio_is_refused() -> None:
    content = encode(tones(1.0, 44100, 2), VARIANTS[9])
    _refused(content + bytes(range(256)) * 64, "is damaged or truncated")


def test_file_without_an_audio_stream_is_refused() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    _refused(buffer.getvalue(), "has no audio stream")


def test_digital_silence_is_refused() -> None:
    content = encode(tones(1.0, 16000, level=0.0), VARIANTS[1])
    _refused(content, "is silent: its peak is -inf dBFS, below -60 dBFS")


def test_a_signal_below_minus_60_dbfs_is_silence() -> None:
    quiet = encode(tones(1.0, 16000, level=0.0003), VARIANTS[1])  # peak about -61 dBFS
    _refused(quiet, r"is silent: its peak is -61\.\d dBFS")
    audible = decode(encode(tones(1.0, 16000, level=0.0004), VARIANTS[1]))  # about -58 dBFS
    assert SILENCE_DBFS <= audible.peak_dbfs < -55


def test_a_file_whose_header_says_it_is_too_long_is_refused_before_decoding() -> None:
    content = encode(tones(2.0, 16000), VARIANTS[1])
    _refused(content, "lasts 2.0 s: longer than the limit of 1 s", max_duration=1.0)


def test_decoding_stops_at_the_limit_when_the_header_does_not_say() -> None:
    """An MP3 without a length header, with damage after 1.5 s: refused as too long, not as
    damaged, so decoding stopped before it reached the damage (a 10-hour file is never decoded
    whole)."""
    content = encode(tones(1.5, 44100, 2), VARIANTS[9])
    start = content.find(b"Info")
    headerless = content[: start - 36] + content[start + 400 :] if start > 36 else content
    _refused(
        headerless + bytes(range(256)) * 64, "is longer than the limit of 0.5 s", max_duration=0.5
    )


def test_a_file_within_the_limit_is_accepted() -> None:
    assert decode(wav(seconds=0.5), max_duration=0.5).duration == pytest.approx(0.5, abs=0.001)


def test_peak_level_of_full_scale_and_of_nothing() -> None:
    assert peak_dbfs(np.array([0, -32768], dtype="<i2").tobytes()) == 0.0
    assert peak_dbfs(b"") == -math.inf
    assert peak_dbfs(bytes(4)) == -math.inf


def test_tones_of_the_fixture_are_those_the_checks_expect() -> None:
    assert TONES == (440.0, 1000.0, 2200.0)


def test_a_wav_without_samples_is_refused() -> None:
    _refused(wav(seconds=0.0), "contains no audio samples")


def test_a_streamed_wav_of_unknown_length_is_accepted() -> None:
    """A WAV written while recording may give 0xFFFFFFFF as its data size: no length claim."""
    content = bytearray(wav(seconds=0.5))
    data = content.find(b"data")
    content[data + 4 : data + 8] = (0xFFFFFFFF).to_bytes(4, "little")
    assert decode(bytes(content)).duration == pytest.approx(0.5, abs=0.001)
