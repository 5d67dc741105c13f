"""Text-to-speech, offline, with espeak-ng (configuration time only: never during a call).

The engine is the ``libespeak-ng.so`` and voice data that the pip package ``espeakng-loader``
ships (no root, no network; Debian's ``espeak-ng`` package would work the same way), driven
through ctypes: ``espeak_Initialize`` in synchronous mode with the package's data path,
``espeak_SetVoiceByName``, then ``espeak_Synth`` with a callback that collects the 16-bit samples.
espeak-ng keeps global state, so every use holds one process-wide lock; the output is bounded
(:data:`MAX_SECONDS`: the callback aborts the synthesis past it) and resampled to what the
prompts use: mono signed 16-bit little-endian at 16 kHz.

Every one of Lync's 26 locales (:data:`vacant.routing.model.LOCALES`) maps to an espeak-ng voice
(:data:`VOICES`). Where espeak-ng has no voice for the region the nearest one of the language is
used (en-AU, en-IN → British English; en-CA → American English; fr-CA → French of France;
zh-TW → Mandarin; zh-HK → Cantonese).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import av
import espeakng_loader
import numpy as np

from vacant.errors import MediaError, ValidationError

log = logging.getLogger(__name__)

#: Lync locale -> espeak-ng voice (``espeak-ng --voices`` lists the names).
VOICES: Mapping[str, str] = MappingProxyType(
    {
        "ca-ES": "ca",
        "da-DK": "da",
        "de-DE": "de",
        "en-AU": "en",
        "en-CA": "en-us",
        "en-GB": "en",
        "en-IN": "en",
        "en-US": "en-us",
        "es-ES": "es",
        "es-MX": "es-419",
        "fi-FI": "fi",
        "fr-CA": "fr",
        "fr-FR": "fr",
        "it-IT": "it",
        "ja-JP": "ja",
        "ko-KR": "ko",
        "nb-NO": "nb",
        "nl-NL": "nl",
        "pl-PL": "pl",
        "pt-BR": "pt-br",
        "pt-PT": "pt",
        "ru-RU": "ru",
        "sv-SE": "sv",
        "zh-CN": "cmn",
        "zh-HK": "yue",
        "zh-TW": "cmn",
    }
)
SAMPLE_RATE = 16000
#: A rendering longer than this is refused (the text itself is limited to 4000 characters).
MAX_SECONDS = 600.0
#: A rendering whose peak is below -60 dBFS says nothing (as a silent audio file).
_QUIET = 33

# espeak_AUDIO_OUTPUT / options / flags / errors of speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EE_OK = 0
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class TtsError(MediaError):
    """The speech engine could not be loaded or failed to render."""


@dataclass(frozen=True, slots=True)
class Speech:
    """A rendered prompt: mono s16le PCM at 16 kHz."""

    pcm: bytes
    duration: float


class _Engine:
    """The loaded library (one per process) and the lock every call holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._lib: ctypes.CDLL | None = None
        self.rate = 0

    def lib(self) -> ctypes.CDLL:
        """Load and initialise espeak-ng on first use (the caller holds the lock)."""
        if self._lib is None:
            try:
                lib = ctypes.CDLL(espeakng_loader.get_library_path())
                data = espeakng_loader.get_data_path()
            except (OSError, RuntimeError) as exc:
                raise TtsError(f"cannot load espeak-ng: {exc}") from exc
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            ]
            lib.espeak_SetVoiceByName.restype = ctypes.c_int
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetSynthCallback.restype = None
            lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
            lib.espeak_Synth.restype = ctypes.c_int
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_uint,
                ctypes.c_int,
                ctypes.c_uint,
                ctypes.c_uint,
                ctypes.c_void_p,
                ctypes.c_void_p,
            ]
            rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INITIALIZE_DONT_EXIT
            )
            if rate <= 0:
                raise TtsError(f"espeak-ng failed to initialise with its data at {data}")
            self.rate = rate
            self._lib = lib
            log.debug("espeak-ng loaded, %d Hz", rate)
        return self._lib


_ENGINE = _Engine()


def voice_for(locale: str) -> str:
    """The espeak-ng voice of a Lync locale; :class:`ValidationError` (``language``) when there
    is none, so an announcement in that locale is refused when it is configured."""
    voice = VOICES.get(locale)
    if voice is None:
        raise ValidationError("language", f"{locale[:20]!r} has no text-to-speech voice")
    return voice


def voice_loads(voice: str) -> bool:
    """Whether espeak-ng can select ``voice`` (its data is installed)."""
    with _ENGINE.lock:
        lib = _ENGINE.lib()
        return bool(lib.espeak_SetVoiceByName(voice.encode()) == _EE_OK)


def render(text: str, locale: str, *, max_seconds: float = MAX_SECONDS) -> Speech:
    """Speak ``text`` in ``locale``'s voice: mono s16le at 16 kHz. Serialised (espeak-ng's
    global state) and bounded: past ``max_seconds`` of speech, :class:`ValidationError`
    (``tts``). An empty rendering (nothing speakable) is refused the same way."""
    voice = voice_for(locale)
    with _ENGINE.lock:
        lib = _ENGINE.lib()
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise TtsError(f"espeak-ng has no voice {voice!r} (for {locale})")
        limit = int(max_seconds * _ENGINE.rate)
        chunks: list[bytes] = []
        state = {"samples": 0, "over": False}

        def collect(wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
            if count > 0 and wav:
                state["samples"] += count
                if state["samples"] > limit:
                    state["over"] = True
                    return 1  # abort the synthesis
                chunks.append(ctypes.string_at(wav, count * 2))
            return 0

        callback = _CALLBACK(collect)
        lib.espeak_SetSynthCallback(callback)
        data = text.encode("utf-8") + b"\0"
        result = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_SetSynthCallback(_CALLBACK())
        rate = _ENGINE.rate
    if state["over"]:
        raise ValidationError("tts", f"speaks for more than {max_seconds:g} s: shorten the text")
    if result != _EE_OK:
        raise TtsError(f"espeak-ng failed to render (error {result})")
    raw = b"".join(chunks)
    if not raw or int(np.max(np.abs(np.frombuffer(raw, dtype="<i2").astype(np.int32)))) < _QUIET:
        raise ValidationError("tts", "renders no speech (silence only): give words to say")
    pcm = resample(raw, rate)
    return Speech(pcm, len(pcm) / 2 / SAMPLE_RATE)


def resample(pcm: bytes, rate: int) -> bytes:
    """Mono s16le at ``rate`` Hz to mono s16le at 16 kHz (FFmpeg's resampler)."""
    if rate == SAMPLE_RATE:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    out = [f.to_ndarray().tobytes() for f in resampler.resample(frame)]
    out += [f.to_ndarray().tobytes() for f in resampler.resample(None)]
    return b"".join(out)
