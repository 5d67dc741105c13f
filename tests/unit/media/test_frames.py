"""Prompt PCM to 20 ms payloads: framing, padding, the 16k -> 8k anti-alias filter, speed."""

import numpy as np
import numpy.typing as npt
import pytest

from vacant.errors import MediaError
from vacant.media import frames
from vacant.media.offer_answer import Codec

RATE = 16000


def _tone(
    hz: float, seconds: float, amplitude: float = 10000.0, rate: int = RATE
) -> npt.NDArray[np.float64]:
    n = np.arange(int(seconds * rate))
    return amplitude * np.sin(2 * np.pi * hz * n / rate)


def _pcm(samples: npt.NDArray[np.float64]) -> bytes:
    return bytes(np.rint(samples).astype("<i2").tobytes())


def _samples(pcm: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _level_db(signal: npt.NDArray[np.generic], reference: npt.NDArray[np.float64]) -> float:
    """RMS level of ``signal`` relative to ``reference``, edges (filter start-up) left out."""
    trim = slice(200, -200)
    rms = np.sqrt(np.mean(np.square(signal[trim].astype(np.float64))))
    return float(20 * np.log10(max(rms, 1e-9) / np.sqrt(np.mean(np.square(reference[trim])))))


@pytest.mark.parametrize("codec", list(Codec))
def test_every_codec_gives_160_octet_payloads_per_20_ms(codec: Codec) -> None:
    payloads = frames.encode(_pcm(_tone(440, 1.0)), codec)
    assert len(payloads) == 50
    assert {len(p) for p in payloads} == {frames.FRAME_BYTES}
    assert frames.FRAME_SECONDS == 0.020


@pytest.mark.parametrize(("codec", "silence"), [(Codec.PCMU, b"\xff"), (Codec.PCMA, b"\xd5")])
def test_last_g711_payload_is_padded_with_silence(codec: Codec, silence: bytes) -> None:
    payloads = frames.encode(_pcm(_tone(440, 0.025)), codec)  # 25 ms: one frame and a quarter
    assert len(payloads) == 2
    assert payloads[1][40:] == silence * 120


def test_last_g722_payload_is_padded_with_encoded_silence() -> None:
    payloads = frames.encode(_pcm(_tone(440, 0.025)), Codec.G722)
    assert [len(p) for p in payloads] == [160, 160]
    decoded = _samples(frames.decode(payloads, Codec.G722))
    assert len(decoded) == 640
    assert np.max(np.abs(decoded[560:])) < 200  # the padding decodes to (near) silence


@pytest.mark.parametrize("codec", list(Codec))
def test_empty_pcm_gives_no_payload(codec: Codec) -> None:
    assert frames.encode(b"", codec) == ()
    assert frames.decode((), codec) == b""


def test_odd_octet_count_is_refused() -> None:
    with pytest.raises(MediaError, match="pcm16k: 3 octets is not a whole number"):
        frames.encode(b"\x00\x01\x02", Codec.PCMU)


def test_pcm_longer_than_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "MAX_PCM_BYTES", 4)
    with pytest.raises(MediaError, match="exceed the limit of 4"):
        frames.encode(b"\x00" * 6, Codec.PCMA)


def test_anti_alias_filter_passes_3500_hz_and_attenuates_6000_hz_by_30_db() -> None:
    # 6 kHz sampled at 8 kHz would fold to 2 kHz: the low-pass must remove it first.
    passband = _tone(3500, 0.5)
    stopband = _tone(6000, 0.5)
    reference = _tone(3500, 0.5, rate=8000)
    assert _level_db(frames.downsample(np.rint(passband).astype(np.int16)), reference) > -1.0
    assert _level_db(frames.downsample(np.rint(stopband).astype(np.int16)), reference) < -30.0


@pytest.mark.parametrize("codec", [Codec.PCMU, Codec.PCMA])
def test_g711_path_keeps_3500_hz_and_drops_6000_hz(codec: Codec) -> None:
    reference = _tone(3500, 0.5, rate=8000)
    kept = _samples(frames.decode(frames.encode(_pcm(_tone(3500, 0.5)), codec), codec))
    dropped = _samples(frames.decode(frames.encode(_pcm(_tone(6000, 0.5)), codec), codec))
    assert _level_db(kept[: len(reference)], reference) > -1.0
    assert _level_db(dropped[: len(reference)], reference) < -30.0


@pytest.mark.parametrize("codec", [Codec.PCMU, Codec.PCMA])
def test_g711_path_adds_no_delay_and_little_noise(codec: Codec) -> None:
    # The filter is centred: sample n at 8 kHz is the input's sample 2n, not a later one.
    reference = _tone(1000, 0.5, rate=8000)
    decoded = _samples(frames.decode(frames.encode(_pcm(_tone(1000, 0.5)), codec), codec))
    noise = decoded[: len(reference)] - reference
    assert _level_db(noise, reference) < -30.0


def test_g722_path_reproduces_wideband_audio() -> None:
    # G.722 keeps 16 kHz audio (a 6 kHz tone survives); its decoder output lags by a few samples.
    tone = _tone(6000, 0.5)
    decoded = _samples(frames.decode(frames.encode(_pcm(tone), Codec.G722), Codec.G722))
    assert len(decoded) == len(tone)
    assert _level_db(decoded, tone) > -2.0
    lag = int(np.argmax([np.dot(decoded[k : k + 4000], tone[:4000]) for k in range(40)]))
    aligned = decoded[lag : lag + 7000] - tone[:7000]
    assert _level_db(aligned, tone[:7000]) < -20.0


@pytest.mark.parametrize("codec", list(Codec))
def test_ten_minute_prompt_encodes_to_thirty_thousand_frames(codec: Codec) -> None:
    # How long it takes is measured by bench/media.py, not asserted here.
    payloads = frames.encode(_pcm(_tone(440, 600.0, amplitude=8000)), codec)
    assert len(payloads) == 30000
    assert {len(payload) for payload in payloads} == {frames.FRAME_BYTES}
