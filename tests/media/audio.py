"""Audio fixtures the tests make themselves with PyAV (no binary is committed): a multi-tone
signal encoded into WAV variants, MP3, OGG/Opus, OGG/Vorbis, FLAC and WMA."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import av
import numpy as np

#: The test signal's tones (Hz): well apart, all below 4 kHz (they survive 8 kHz sampling).
TONES = (440.0, 1000.0, 2200.0)


def tones(seconds: float, rate: int, channels: int = 1, level: float = 0.25) -> np.ndarray:
    """The multi-tone signal as float samples in [-1, 1], shape (channels, n)."""
    t = np.arange(round(seconds * rate)) / rate
    mono = sum(np.sin(2 * np.pi * f * t) for f in TONES) * level
    return np.tile(np.asarray(mono, dtype=np.float64), (channels, 1))


@dataclass(frozen=True, slots=True)
class Variant:
    """One way to encode the signal: container format, codec, sample format, rate, channels."""

    name: str
    container: str
    codec: str
    sample_format: str
    rate: int
    channels: int = 1
    suffix: str = ".wav"
    bit_rate: int | None = None


def encode(signal: np.ndarray, v: Variant) -> bytes:
    """Encode ``signal`` (float, shape (channels, n)) as ``v`` describes."""
    buffer = io.BytesIO()
    layout = "mono" if v.channels == 1 else "stereo"
    with av.open(buffer, mode="w", format=v.container) as out:
        stream = out.add_stream(v.codec, rate=v.rate, layout=layout)
        stream.format = v.sample_format
        if v.bit_rate is not None:
            stream.bit_rate = v.bit_rate  # wmav2 refuses to open without one
        # Feed float frames of 20 ms through a resampler to the encoder's sample format.
        resampler = av.AudioResampler(format=v.sample_format, layout=layout, rate=v.rate)
        step = v.rate // 50
        planar = np.ascontiguousarray(signal.astype(np.float32))
        for start in range(0, planar.shape[1], step):
            block = np.ascontiguousarray(planar[:, start : start + step])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate = v.rate
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def wav(seconds: float = 0.1, rate: int = 8000, frequency: float = 1000.0) -> bytes:
    """A small mono 16-bit WAV of one tone (stdlib only: quick, for tests that need any valid
    prompt file)."""
    t = np.arange(round(seconds * rate)) / rate
    samples = np.round(np.sin(2 * np.pi * frequency * t) * 8000).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def spectrum_peaks(pcm: bytes, rate: int = 16000, count: int = len(TONES)) -> list[float]:
    """The ``count`` strongest frequencies (Hz, ascending) of mono s16le PCM, one per lobe."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    window = np.hanning(samples.size)
    magnitude = np.abs(np.fft.rfft(samples * window))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    found: list[float] = []
    resolution = rate / samples.size
    for index in np.argsort(magnitude)[::-1]:
        f = float(freqs[index])
        if all(abs(f - g) > 20 * max(resolution, 1.0) for g in found):
            found.append(f)
        if len(found) == count:
            break
    return sorted(found)


def has_tones(pcm: bytes, rate: int = 16000, tolerance: float = 5.0) -> bool:
    """Whether the test signal's tones are the strongest frequencies of ``pcm``."""
    peaks = spectrum_peaks(pcm, rate)
    return all(abs(p - t) <= tolerance for p, t in zip(peaks, TONES, strict=True))


#: A quick WAV variant for tests outside tests/media (8 kHz, 16-bit, mono).
VARIANTS_FOR_STORE = (Variant("wav-s16-8k", "wav", "pcm_s16le", "s16", 8000),)
