"""Text-to-speech with espeak-ng (offline, through espeakng-loader's library and data)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vacant.errors import ValidationError
from vacant.media import tts
from vacant.routing.model import LOCALES


def test_the_voice_table_covers_every_lync_locale() -> None:
    assert set(tts.VOICES) == set(LOCALES)
    assert len(tts.VOICES) == 26


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_every_locales_voice_loads(locale: str) -> None:
    assert tts.voice_loads(tts.voice_for(locale))


def test_a_voice_that_does_not_exist_does_not_load() -> None:
    assert not tts.voice_loads("xx-nowhere")


def test_chinese_locales_map_to_mandarin_and_cantonese() -> None:
    assert (tts.VOICES["zh-CN"], tts.VOICES["zh-TW"], tts.VOICES["zh-HK"]) == (
        "cmn",
        "cmn",
        "yue",
    )


def test_a_locale_without_a_voice_is_refused_naming_the_language_field() -> None:
    with pytest.raises(ValidationError, match="language: 'tlh-QO' has no text-to-speech voice"):
        tts.render("nuqneH", "tlh-QO")


def test_rendering_gives_16k_mono_speech() -> None:
    speech = tts.render("The number you have dialled is not in service.", "en-US")
    samples = np.frombuffer(speech.pcm, dtype="<i2")
    assert speech.duration == samples.size / 16000
    assert 1.0 < speech.duration < 6.0
    assert np.max(np.abs(samples)) > 3000
    # Speech energy sits in the telephone band: most of it below 4 kHz.
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / 16000)
    assert spectrum[freqs < 4000].sum() > 0.9 * spectrum.sum()


def test_rendering_depends_on_the_voice() -> None:
    """espeak-ng's output varies slightly from run to run (a few samples): a prompt is rendered
    once, stored, and its SHA-256 versions it."""
    british = tts.render("Not in service", "en-GB")
    assert tts.render("Not in service", "en-GB").duration == pytest.approx(
        british.duration, abs=0.02
    )
    assert tts.render("Not in service", "en-US").pcm != british.pcm


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh-HK", "你撥打的號碼暫停使用"),
        ("ja-JP", "おかけになった番号は使われておりません"),
        ("ru-RU", "Номер не обслуживается"),
    ],
)
def test_non_latin_text_is_spoken(locale: str, text: str) -> None:
    assert tts.render(text, locale).duration > 0.5


def test_speech_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="tts: speaks for more than 1 s"):
        tts.render(
            "This sentence takes longer than one second to say. " * 3, "en-US", max_seconds=1
        )


def test_text_with_nothing_to_say_is_refused() -> None:
    with pytest.raises(ValidationError, match="tts: renders no speech"):
        tts.render(" ", "en-US")


def test_concurrent_renderings_are_serialised_and_each_is_whole() -> None:
    """espeak-ng has global state: renderings from several threads take turns."""
    expected = tts.render("Please hang up and try again.", "en-US").duration
    results: list[float] = []

    def speak() -> None:
        results.append(tts.render("Please hang up and try again.", "en-US").duration)

    threads = [threading.Thread(target=speak) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == pytest.approx([expected] * 4, abs=0.02)


def test_resampling_keeps_a_tone_and_the_length() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    tone = (np.sin(2 * np.pi * 1000 * t) * 10000).astype("<i2").tobytes()
    out = np.frombuffer(tts.resample(tone, rate), dtype="<i2")
    assert abs(out.size - 16000) <= 32
    peak = np.argmax(np.abs(np.fft.rfft(out.astype(np.float64))))
    assert abs(peak * 16000 / out.size - 1000) < 2
    assert tts.resample(tone, 16000) == tone
