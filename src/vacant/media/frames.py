"""Prompt audio to 20 ms RTP payloads and back: ``encode(pcm16k, codec)`` / ``decode``.

A prompt is stored as mono signed 16-bit little-endian PCM at 16 kHz and encoded once per codec
(DESIGN.md §5); a call then only hands out the frames. Every codec gives 160-octet payloads per
20 ms: G.711 codes 160 samples at 8 kHz, G.722 at 64 kbit/s codes 320 samples at 16 kHz into 160
octets. The last frame is padded with silence.

G.711 needs 8 kHz: the 16 kHz signal goes through a low-pass FIR (a Kaiser-windowed sinc, 95 taps,
cut-off 3.9 kHz: flat to 3.5 kHz, below -50 dB from 4.3 kHz, so nothing above the new 4 kHz
Nyquist frequency folds back audibly) and every other sample is kept. The filter is linear-phase
and centred, so the output is not delayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, assert_never

import G722
import numpy as np
import numpy.typing as npt

from vacant.errors import MediaError
from vacant.media import g711
from vacant.media.offer_answer import Codec

FRAME_SECONDS: Final = 0.020
FRAME_BYTES: Final = 160  # payload octets per 20 ms, for each of our codecs
INPUT_RATE: Final = 16000
#: The longest prompt ``encode`` takes: one hour of 16 kHz 16-bit audio.
MAX_PCM_BYTES: Final = INPUT_RATE * 2 * 3600
G722_BITRATE: Final = 64000
#: G.722 is encoded this many samples (1 s) at a time with one encoder (its state carries over,
#: so the output is the same): the C encoder holds the GIL for a whole call, ~0.7 ms per second
#: of audio, and a prompt encoded in a worker thread must not stop the event loop for longer.
G722_CHUNK: Final = INPUT_RATE


def _lowpass(taps: int, cutoff_hz: float, beta: float, rate: int) -> npt.NDArray[np.float64]:
    """A windowed-sinc low-pass FIR with unity gain at 0 Hz."""
    n = np.arange(taps) - (taps - 1) / 2
    h = np.sinc(2 * cutoff_hz / rate * n) * np.kaiser(taps, beta)
    return np.asarray(h / h.sum(), dtype=np.float64)


DECIMATION_FILTER: Final = _lowpass(95, 3900.0, 8.0, INPUT_RATE)


def _samples(pcm: bytes) -> npt.NDArray[np.int16]:
    if len(pcm) % 2:
        raise MediaError(f"pcm16k: {len(pcm)} octets is not a whole number of 16-bit samples")
    if len(pcm) > MAX_PCM_BYTES:
        raise MediaError(f"pcm16k: {len(pcm)} octets exceed the limit of {MAX_PCM_BYTES} (1 h)")
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


def downsample(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """16 kHz to 8 kHz: low-pass (anti-alias) then keep every other sample."""
    if not len(samples):
        return samples
    filtered = np.convolve(samples.astype(np.float64), DECIMATION_FILTER, mode="same")[::2]
    return np.clip(np.rint(filtered), -32768, 32767).astype(np.int16)


def _split(payload: bytes, silence: int) -> tuple[bytes, ...]:
    short = -len(payload) % FRAME_BYTES
    payload += bytes([silence]) * short
    return tuple(payload[i : i + FRAME_BYTES] for i in range(0, len(payload), FRAME_BYTES))


def encode(pcm16k: bytes, codec: Codec) -> tuple[bytes, ...]:
    """20 ms payloads of ``codec`` (160 octets each) for mono s16le PCM at 16 kHz.

    The last payload is padded with silence; empty input gives no payload. ``MediaError`` when
    ``pcm16k`` is not whole samples or is longer than an hour.
    """
    samples = _samples(pcm16k)
    match codec:
        case Codec.PCMU:
            return _split(g711.ulaw_encode(downsample(samples)), g711.ULAW_SILENCE)
        case Codec.PCMA:
            return _split(g711.alaw_encode(downsample(samples)), g711.ALAW_SILENCE)
        case Codec.G722:
            # 320 samples per frame; pad with zeros before encoding (the codec is stateful, so
            # silence must go through the encoder, not be appended as octets).
            short = -len(samples) % (2 * FRAME_BYTES)
            padded = np.concatenate([samples, np.zeros(short, dtype=np.int16)])
            encoder = G722.G722(INPUT_RATE, G722_BITRATE)
            encoded = b"".join(
                bytes(encoder.encode(padded[i : i + G722_CHUNK]))
                for i in range(0, len(padded), G722_CHUNK)
            )
            return _split(encoded, 0)
        case _:
            assert_never(codec)


def decode(frames: Iterable[bytes], codec: Codec) -> bytes:
    """s16le PCM for payloads of ``codec``: 8 kHz for G.711, 16 kHz for G.722."""
    payload = b"".join(frames)
    match codec:
        case Codec.PCMU:
            samples = g711.ulaw_decode(payload)
        case Codec.PCMA:
            samples = g711.alaw_decode(payload)
        case Codec.G722:
            decoded = G722.G722(INPUT_RATE, G722_BITRATE).decode(payload) if payload else []
            samples = np.asarray(decoded, dtype=np.int16)
        case _:
            assert_never(codec)
    return samples.astype("<i2").tobytes()
