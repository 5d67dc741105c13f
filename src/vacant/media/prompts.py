"""Decoding an imported audio file into a prompt: mono signed 16-bit little-endian at 16 kHz.

PyAV (FFmpeg inside the wheel) reads whatever FFmpeg reads: WAV of any PCM width (8 to 32 bits),
float, A-law or µ-law at any rate, mono or stereo; WMA, MP3, OGG (Vorbis, Opus), FLAC, and more.
The first audio stream is decoded and ``av.AudioResampler`` converts it (stereo is mixed down to
mono). :func:`decode` refuses, with :class:`~vacant.errors.ValidationError` naming the ``file``
and the reason, what cannot be a prompt:

- bytes FFmpeg cannot read, or that fail to decode part-way (damaged);
- a file without an audio stream;
- a truncated file: fewer samples than its header announces (WAV, FLAC, …);
- a file longer than ``max_duration`` (checked from the header when it says, and while decoding:
  decoding stops as soon as the limit is passed, so a 10-hour file is never decoded whole);
- silence: a peak level below :data:`SILENCE_DBFS` (-60 dBFS) after normalisation.

The caller (the store) also limits the file's size in bytes before decoding.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import av
import numpy as np

from vacant.errors import ValidationError

SAMPLE_RATE = 16000
#: The default limit of a prompt's length (the CLI's and the API's --max-duration).
DEFAULT_MAX_DURATION = 600.0  # as vacant.routing.model.DEFAULT_MAX_DURATION
#: A file whose peak is below this level is silence-only and refused.
SILENCE_DBFS = -60.0
#: A stream that decodes to less than its header's duration by more than this is truncated.
TRUNCATION_TOLERANCE = 0.05
_FULL_SCALE = 32768.0


@dataclass(frozen=True, slots=True)
class DecodedPrompt:
    """A decoded, normalised prompt and what the import reports about it."""

    pcm: bytes
    duration: float
    peak_dbfs: float
    #: What the file was: FFmpeg's container and codec names, its sample rate and channels.
    container: str
    codec: str
    sample_rate: int
    channels: int


def peak_dbfs(pcm: bytes) -> float:
    """The peak level of mono s16le PCM in dBFS (full scale 32768; -inf for digital silence)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    if samples.size == 0:
        return -math.inf
    peak = int(np.max(np.abs(samples.astype(np.int32))))
    return -math.inf if peak == 0 else 20 * math.log10(peak / _FULL_SCALE)


def decode(
    content: bytes, *, max_duration: float = DEFAULT_MAX_DURATION, field: str = "file"
) -> DecodedPrompt:
    """Decode and normalise an audio file (see the module docstring for what is refused)."""
    limit = int(max_duration * SAMPLE_RATE)
    try:
        container = av.open(io.BytesIO(content), mode="r")
    except (av.FFmpegError, ValueError) as exc:
        raise ValidationError(field, f"is not a readable audio file ({_reason(exc)})") from None
    with container:
        if not container.streams.audio:
            raise ValidationError(field, "has no audio stream")
        stream = container.streams.audio[0]
        declared = _declared_seconds(content, container, stream, field)
        if declared is not None and declared > max_duration + TRUNCATION_TOLERANCE:
            raise ValidationError(
                field, f"lasts {declared:.1f} s: longer than the limit of {max_duration:g} s"
            )
        codec = stream.codec_context.name
        rate = stream.codec_context.sample_rate or 0
        channels = stream.codec_context.channels or 0
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[bytes] = []
        count = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().tobytes()
                    chunks.append(chunk)
                    count += len(chunk) // 2
                if count > limit:
                    raise ValidationError(field, f"is longer than the limit of {max_duration:g} s")
            for out in resampler.resample(None):
                chunk = out.to_ndarray().tobytes()
                chunks.append(chunk)
                count += len(chunk) // 2
        except av.FFmpegError as exc:
            raise ValidationError(field, f"is damaged or truncated ({_reason(exc)})") from None
        format_name = container.format.name
    if count > limit:
        raise ValidationError(field, f"is longer than the limit of {max_duration:g} s")
    if count == 0:
        raise ValidationError(field, "contains no audio samples")
    duration = count / SAMPLE_RATE
    if declared is not None and duration < declared - TRUNCATION_TOLERANCE:
        raise ValidationError(
            field,
            f"is truncated: its header says {declared:.3f} s, only {duration:.3f} s decode",
        )
    pcm = b"".join(chunks)
    peak = peak_dbfs(pcm)
    if peak < SILENCE_DBFS:
        shown = "-inf" if math.isinf(peak) else f"{peak:.1f}"
        raise ValidationError(
            field, f"is silent: its peak is {shown} dBFS, below {SILENCE_DBFS:g} dBFS"
        )
    return DecodedPrompt(pcm, duration, peak, format_name, codec, rate, channels)


def _declared_seconds(
    content: bytes, container: av.container.InputContainer, stream: av.AudioStream, field: str
) -> float | None:
    """The duration the file's header announces, when it announces it exactly (a sample count or
    a stream duration: WAV, FLAC, WMA, an MP3 with a Xing/Info/VBRI frame); estimates from the bit
    rate are ignored (a truncated file changes them along with its content)."""
    name = container.format.name
    if name == "wav":
        return _wav_declared_seconds(content, field)
    exact = name in _EXACT_DURATION_FORMATS or (name == "mp3" and _has_mp3_info_frame(content))
    if exact and stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        if seconds > 0:
            return seconds
    return None


#: Containers whose header gives the exact length.
_EXACT_DURATION_FORMATS = frozenset({"flac", "asf", "aiff", "w64", "caf"})


def _wav_declared_seconds(content: bytes, field: str) -> float | None:
    """The RIFF ``data`` chunk's size over the ``fmt`` chunk's byte rate, in seconds; None for a
    streamed WAV (size 0 or 0xFFFFFFFF) or a header without them. FFmpeg clamps the size to the
    bytes present, so a truncated WAV would look whole: a ``data`` chunk larger than the bytes
    that follow it is refused here, to the byte."""
    if content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        return None
    byte_rate = 0
    offset = 12
    while offset + 8 <= len(content):
        chunk_id = content[offset : offset + 4]
        size = int.from_bytes(content[offset + 4 : offset + 8], "little")
        if chunk_id == b"fmt " and size >= 16:
            # WAVEFORMATEX: format tag, channels, samples per second, average bytes per second.
            byte_rate = int.from_bytes(content[offset + 16 : offset + 20], "little")
        elif chunk_id == b"data":
            if size in (0, 0xFFFFFFFF) or byte_rate <= 0:
                return None
            present = len(content) - offset - 8
            if size > present:
                raise ValidationError(
                    field,
                    f"is truncated: its data chunk declares {size} bytes, {present} are present",
                )
            return size / byte_rate
        offset += 8 + size + (size & 1)
    return None


def _has_mp3_info_frame(content: bytes) -> bool:
    """Whether the first MP3 frame (after an ID3v2 tag) is a Xing/Info/VBRI frame that counts
    the frames of the file."""
    start = 0
    if content[:3] == b"ID3" and len(content) >= 10:
        # ID3v2 header: 4 syncsafe bytes of size after 6 bytes of header.
        size = 0
        for byte in content[6:10]:
            size = (size << 7) | (byte & 0x7F)
        start = 10 + size
    head = content[start : start + 200]
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]
