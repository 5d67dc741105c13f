"""Audio analysis for the tests with real phones: does what a phone recorded match the prompt?

A phone's recording went through a codec (G.711 at 8 kHz or G.722 at 16 kHz), the phone's jitter
buffer and its own start and stop times, so the checks compare what survives that, never samples:

- **tones**: a generated prompt is a sequence of pure tones; :func:`check_tones` finds the
  recording's tone segments (the dominant FFT peak of each 40 ms frame, grouped while it stays put)
  and compares their frequencies, order and durations with the prompt's, and requires the energy
  to sit at those frequencies (:func:`tonal_purity`), which noise never does.
- **envelope**: speech (a TTS prompt) is compared by its energy envelope (level per 10 ms in dB,
  relative to its own peak, so the codec's gain does not matter): :func:`envelope_similarity` is
  the best Pearson correlation over the lags a call's set-up delay can add.

Each check returns the problems it found (an empty list is a match), so an assertion message says
what was heard. The tests in ``test_phones.py`` prove both directions: the right prompt passes
through PCMU, PCMA and G.722; a wrong prompt, silence and noise fail.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float64]

#: Frames below this level (dB relative to full scale) are silence.
SILENCE_DB = -45.0
#: Analysis frame for tone detection: 40 ms resolves 25 Hz, enough to tell tones 100 Hz apart.
TONE_FRAME = 0.040
#: Envelope frame for speech.
ENVELOPE_FRAME = 0.010
#: Envelope floor, relative to the signal's peak frame.
ENVELOPE_FLOOR_DB = -40.0


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono audio as floats in [-1, 1) at ``rate`` samples per second."""

    samples: Samples
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    def slice(self, start: float, end: float | None = None) -> Audio:
        first = round(start * self.rate)
        last = None if end is None else round(end * self.rate)
        return Audio(self.samples[first:last], self.rate)


@dataclass(frozen=True, slots=True)
class Tone:
    """One segment of a generated prompt (or one found in a recording)."""

    frequency: float
    seconds: float
    start: float = 0.0


# --- files -----------------------------------------------------------------------------------


def read_wav(path: Path) -> Audio:
    """A 16-bit PCM WAV file (baresip's and linphonec's recordings), mixed down to mono."""
    with wave.open(str(path), "rb") as source:
        if source.getsampwidth() != 2:
            raise ValueError(f"{path}: sample width {source.getsampwidth()}, expected 2 bytes")
        channels, rate = source.getnchannels(), source.getframerate()
        data = source.readframes(source.getnframes())
    pcm = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        pcm = pcm[: len(pcm) - len(pcm) % channels].reshape(-1, channels).mean(axis=1)
    return Audio(pcm, rate)


def write_wav(path: Path, audio: Audio) -> Path:
    """Write ``audio`` as a mono 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as sink:
        sink.setnchannels(1)
        sink.setsampwidth(2)
        sink.setframerate(audio.rate)
        sink.writeframes(pcm16(audio))
    return path


def pcm16(audio: Audio) -> bytes:
    """Signed 16-bit little-endian samples."""
    clipped = np.clip(np.round(audio.samples * 32767.0), -32768, 32767)
    return clipped.astype("<i2").tobytes()


def resample(audio: Audio, rate: int) -> Audio:
    """``audio`` at ``rate`` (FFmpeg's resampler, low-pass filtered, as a codec path would)."""
    if rate == audio.rate:
        return audio
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm16(audio), dtype="<i2").reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = audio.rate
    out = [*resampler.resample(frame), *resampler.resample(None)]
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in out]) if out else np.zeros(0)
    return Audio(pcm.astype(np.float64) / 32768.0, rate)


#: The codecs vacant offers: FFmpeg's encoder and the codec's sample rate.
CODECS = {"PCMU": ("pcm_mulaw", 8000), "PCMA": ("pcm_alaw", 8000), "G722": ("g722", 16000)}


def encode(audio: Audio, codec: str) -> bytes:
    """Raw ``codec`` bytes ("PCMU", "PCMA" at 8 kHz, "G722" at 16 kHz; 160 bytes per 20 ms for
    each), for SIPp's ``rtp_stream``."""
    name, rate = CODECS[codec]
    narrow = resample(audio, rate)
    context = av.CodecContext.create(name, "w")
    assert isinstance(context, av.AudioCodecContext)
    context.sample_rate = rate
    context.layout = "mono"
    context.format = "s16"
    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm16(narrow), dtype="<i2").reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    packets = [*context.encode(frame), *context.encode(None)]
    return b"".join(bytes(packet) for packet in packets)


def through_codec(audio: Audio, codec: str) -> Audio:
    """``audio`` as a phone hears it over ``codec``: encoded and decoded again.

    For the analysis tests: a check must pass for the right prompt after this round trip."""
    name, rate = CODECS[codec]
    decoder = av.CodecContext.create(name, "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.sample_rate = rate
    decoder.layout = "mono"
    frames = decoder.decode(av.Packet(encode(audio, codec)))
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return Audio(pcm.astype(np.float64) / 32768.0, rate)


# --- signals ---------------------------------------------------------------------------------


def tones(segments: Sequence[Tone], *, rate: int = 16000, amplitude: float = 0.5) -> Audio:
    """A prompt made of pure tones one after the other (10 ms ramps, no clicks)."""
    parts = []
    for segment in segments:
        t = np.arange(round(segment.seconds * rate)) / rate
        part = amplitude * np.sin(2 * np.pi * segment.frequency * t)
        ramp = min(len(part) // 2, rate // 100)
        if ramp:
            window = np.linspace(0.0, 1.0, ramp)
            part[:ramp] *= window
            part[-ramp:] *= window[::-1]
        parts.append(part)
    return Audio(np.concatenate(parts) if parts else np.zeros(0), rate)


def silence(seconds: float, rate: int = 8000) -> Audio:
    return Audio(np.zeros(round(seconds * rate)), rate)


def noise(seconds: float, rate: int = 8000, *, level: float = 0.2, seed: int = 7) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(rng.uniform(-level, level, round(seconds * rate)), rate)


def concat(*parts: Audio) -> Audio:
    rates = {part.rate for part in parts}
    if len(rates) != 1:
        raise ValueError(f"concat: mixed rates {sorted(rates)}")
    return Audio(np.concatenate([part.samples for part in parts]), rates.pop())


# --- levels ----------------------------------------------------------------------------------


def _frames(audio: Audio, seconds: float) -> Samples:
    size = max(1, round(seconds * audio.rate))
    count = len(audio.samples) // size
    return audio.samples[: count * size].reshape(count, size)


def frame_levels(audio: Audio, frame: float = TONE_FRAME) -> Samples:
    """RMS level of each frame in dB relative to full scale (a sine at 1.0 is -3 dB)."""
    frames = _frames(audio, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1)) if len(frames) else np.zeros(0)
    levels: Samples = 20 * np.log10(np.maximum(rms, 1e-9))
    return levels


def active_seconds(audio: Audio, threshold_db: float = SILENCE_DB) -> float:
    """How long the audio is above ``threshold_db``."""
    return float(np.count_nonzero(frame_levels(audio) > threshold_db)) * TONE_FRAME


# --- tones -----------------------------------------------------------------------------------


def dominant_frequencies(audio: Audio, threshold_db: float = SILENCE_DB) -> Samples:
    """The strongest frequency of each :data:`TONE_FRAME` frame (Hann window, parabolic
    interpolation of the FFT peak); NaN for silent frames."""
    frames = _frames(audio, TONE_FRAME)
    if not len(frames):
        return np.zeros(0)
    size = frames.shape[1]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(size), n=4 * size, axis=1))
    peak = np.argmax(spectrum[:, 1:-1], axis=1) + 1
    rows = np.arange(len(frames))
    left, mid, right = spectrum[rows, peak - 1], spectrum[rows, peak], spectrum[rows, peak + 1]
    denominator = left - 2 * mid + right
    offset = np.where(
        denominator != 0, 0.5 * (left - right) / np.where(denominator, denominator, 1), 0
    )
    found: Samples = (peak + offset) * audio.rate / (4 * size)
    found[frame_levels(audio) <= threshold_db] = np.nan
    return found


def tone_segments(
    audio: Audio,
    *,
    tolerance_hz: float = 30.0,
    min_seconds: float = 0.12,
    max_gap: float = 0.1,
) -> list[Tone]:
    """Runs of frames whose dominant frequency stays within ``tolerance_hz``: the tones heard.

    Runs shorter than ``min_seconds`` (a transition between two tones, a click) are dropped; then
    runs of one frequency at most ``max_gap`` apart (a packet the phone lost or dropped) join."""
    runs: list[tuple[float, int, int]] = []  # (frequency, first frame, frame after the last)
    run: list[float] = []
    first = 0
    for index, frequency in enumerate([*dominant_frequencies(audio).tolist(), float("nan")]):
        if run and not abs(frequency - float(np.median(run))) <= tolerance_hz:
            if len(run) * TONE_FRAME >= min_seconds:
                runs.append((float(np.median(run)), first, first + len(run)))
            run = []
        if not np.isnan(frequency):
            if not run:
                first = index
            run.append(frequency)
    joined: list[tuple[float, int, int]] = []
    for frequency, begin, end in runs:
        if joined:
            last_frequency, last_begin, last_end = joined[-1]
            close = abs(frequency - last_frequency) <= tolerance_hz
            if close and (begin - last_end) * TONE_FRAME <= max_gap:
                joined[-1] = (last_frequency, last_begin, end)
                continue
        joined.append((frequency, begin, end))
    return [Tone(f, (end - begin) * TONE_FRAME, begin * TONE_FRAME) for f, begin, end in joined]


def tonal_purity(audio: Audio, frequencies: Sequence[float], tolerance_hz: float = 40.0) -> float:
    """The share of the active frames' spectral energy within ``tolerance_hz`` of ``frequencies``
    (1.0: nothing but those tones; white noise: about the share of the band they cover)."""
    frames = _frames(audio, TONE_FRAME)
    active = frame_levels(audio) > SILENCE_DB
    if not np.any(active):
        return 0.0
    frames = frames[active]
    size = frames.shape[1]
    power = np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2
    bins = np.fft.rfftfreq(size, 1 / audio.rate)
    near = np.zeros(len(bins), dtype=bool)
    for frequency in frequencies:
        near |= np.abs(bins - frequency) <= tolerance_hz
    total = float(power.sum())
    return float(power[:, near].sum()) / total if total > 0 else 0.0


def spectral_peaks(audio: Audio, count: int, *, separation_hz: float = 80.0) -> list[float]:
    """The ``count`` strongest frequencies of the whole recording (FFT), strongest first, each at
    least ``separation_hz`` from the others."""
    if len(audio.samples) < 2:
        return []
    power = np.abs(np.fft.rfft(audio.samples * np.hanning(len(audio.samples)))) ** 2
    bins = np.fft.rfftfreq(len(audio.samples), 1 / audio.rate)
    peaks: list[float] = []
    for index in np.argsort(power)[::-1]:
        if power[index] <= 0 or len(peaks) == count:
            break
        if all(abs(bins[index] - other) >= separation_hz for other in peaks):
            peaks.append(float(bins[index]))
    return peaks


def check_tones(
    recording: Audio,
    expected: Sequence[Tone],
    *,
    tolerance_hz: float = 30.0,
    seconds_tolerance: float = 0.2,
    min_purity: float = 0.8,
) -> list[str]:
    """Problems with ``recording`` as a rendition of the tone prompt ``expected`` (empty: it is).

    The recording must hold the prompt's tones in order, each for its duration within
    ``seconds_tolerance``, with nothing else between them (a prompt repeated or cut short fails),
    and at least ``min_purity`` of its energy at the prompt's frequencies (noise fails)."""
    problems: list[str] = []
    heard = tone_segments(recording, tolerance_hz=tolerance_hz)
    described = ", ".join(f"{t.frequency:.0f} Hz {t.seconds:.2f} s at {t.start:.2f}" for t in heard)
    if len(heard) != len(expected):
        problems.append(
            f"heard {len(heard)} tone segments ({described or 'none'}), expected {len(expected)}"
        )
    for number, (got, want) in enumerate(zip(heard, expected, strict=False), start=1):
        if abs(got.frequency - want.frequency) > tolerance_hz:
            problems.append(f"tone {number}: {got.frequency:.0f} Hz, expected {want.frequency:.0f}")
        if abs(got.seconds - want.seconds) > seconds_tolerance:
            problems.append(f"tone {number}: {got.seconds:.2f} s, expected {want.seconds:.2f}")
    purity = tonal_purity(recording, [t.frequency for t in expected])
    if purity < min_purity:
        problems.append(f"only {purity:.0%} of the energy is at the prompt's tones")
    total = sum(t.seconds for t in expected)
    active = active_seconds(recording)
    if abs(active - total) > 2 * seconds_tolerance:
        problems.append(f"{active:.2f} s of sound, the prompt lasts {total:.2f} s")
    return problems


# --- envelopes -------------------------------------------------------------------------------


def envelope(audio: Audio, frame: float = ENVELOPE_FRAME) -> Samples:
    """Level per ``frame`` in dB relative to the loudest frame, floored at
    :data:`ENVELOPE_FLOOR_DB` (so the codec's gain and the noise floor do not matter)."""
    levels = frame_levels(audio, frame)
    if not len(levels):
        return levels
    relative: Samples = np.maximum(levels - levels.max(), ENVELOPE_FLOOR_DB)
    return relative


@dataclass(frozen=True, slots=True)
class Similarity:
    correlation: float  # Pearson correlation of the envelopes at the best lag
    lag: float  # seconds: where the reference starts in the recording (negative: cut)


def envelope_similarity(recording: Audio, reference: Audio, *, max_lag: float = 2.0) -> Similarity:
    """The best correlation of the recording's envelope with the reference's, over lags from
    ``-max_lag`` to ``max_lag`` seconds (the phone starts recording before or after the prompt
    starts). Silence in either correlates with nothing (0)."""
    if active_seconds(recording) == 0 or active_seconds(reference) == 0:
        return Similarity(0.0, 0.0)
    rec, ref = envelope(recording), envelope(reference)
    steps = round(max_lag / ENVELOPE_FRAME)
    floor = ENVELOPE_FLOOR_DB
    padded = np.concatenate([np.full(steps, floor), rec, np.full(len(ref) + steps, floor)])
    best = Similarity(0.0, 0.0)
    for shift in range(2 * steps + 1):
        window = padded[shift : shift + len(ref)]
        if np.std(window) == 0 or np.std(ref) == 0:
            continue
        correlation = float(np.corrcoef(window, ref)[0, 1])
        if correlation > best.correlation:
            best = Similarity(correlation, (shift - steps) * ENVELOPE_FRAME)
    return best


def check_envelope(
    recording: Audio,
    reference: Audio,
    *,
    min_correlation: float = 0.8,
    seconds_tolerance: float = 0.4,
) -> list[str]:
    """Problems with ``recording`` as a rendition of ``reference`` by energy envelope: the best
    correlation must reach ``min_correlation`` and the sound last as long as the reference's."""
    problems: list[str] = []
    similarity = envelope_similarity(recording, reference)
    if similarity.correlation < min_correlation:
        problems.append(
            f"envelope correlation {similarity.correlation:.2f} (lag {similarity.lag:+.2f} s),"
            f" expected at least {min_correlation:.2f}"
        )
    heard, want = active_seconds(recording), active_seconds(reference)
    if abs(heard - want) > seconds_tolerance:
        problems.append(f"{heard:.2f} s of sound, the reference has {want:.2f} s")
    return problems
