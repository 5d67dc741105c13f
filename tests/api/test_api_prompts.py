"""The REST API's prompts: uploads decoded and checked as by the CLI (one implementation), the
announcement options, and ``prompt.wav``."""

from __future__ import annotations

import io
import wave

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import POOL, Api
from tests.media.audio import VARIANTS_FOR_STORE, Variant, encode, has_tones, tones

V1 = "/api/v1"
WAV = encode(tones(0.5, 8000), VARIANTS_FOR_STORE[0])
OPUS = Variant("opus", "ogg", "libopus", "s16", 48000, 1, ".ogg")


@pytest.fixture
def c(api: Api) -> TestClient:
    client = api.admin
    assert client.post(f"{V1}/pools", json={"name": POOL}).status_code == 201
    return client


def test_upload_is_decoded_and_reports_duration_and_peak(c: TestClient) -> None:
    response = c.post(
        f"{V1}/files/{POOL}", files={"file": ("hello.ogg", encode(tones(1.0, 48000), OPUS))}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duration"] == pytest.approx(1.0, abs=0.02)
    assert -4.5 < body["peak_dbfs"] < -1.0
    listed = c.get(f"{V1}/files/{POOL}/hello.ogg").json()
    assert listed["duration"] == body["duration"]


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"plain text, not audio\n" * 10, "is not a readable audio file"),
        (WAV[:-7], "is truncated"),
        (encode(tones(0.5, 8000, level=0.0), VARIANTS_FOR_STORE[0]), "is silent"),
    ],
)
def test_an_upload_that_cannot_be_a_prompt_is_422_with_field_and_rule(
    c: TestClient, content: bytes, rule: str
) -> None:
    response = c.post(f"{V1}/files/{POOL}", files={"file": ("bad.wav", content)})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "file"
    assert rule in body["rule"]
    assert c.get(f"{V1}/files").json() == []


def test_announcement_options_in_the_api(c: TestClient) -> None:
    created = c.post(
        f"{V1}/announcements",
        json={
            "pool": POOL,
            "name": "A",
            "target": "sip:op@example.com",
            "repeat": 2,
            "redirect_without_answer": True,
            "early_status": 480,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["repeat"], body["redirect_without_answer"], body["early_status"]) == (2, True, 480)
    assert (body["early_media"], body["sit"]) == (False, False)
    patched = c.patch(f"{V1}/announcements/{body['id']}", json={"sit": True, "repeat": 3})
    assert (patched.json()["sit"], patched.json()["repeat"]) == (True, 3)
    assert patched.json()["early_status"] == 480
    bad = c.patch(f"{V1}/announcements/{body['id']}", json={"early_status": 302})
    assert bad.status_code == 422
    assert (bad.json()["field"], bad.json()["rule"]) == (
        "early-status",
        "must be an integer from 400 to 699",
    )
    schema = c.get(f"{V1}/openapi.json").json()
    fields = schema["components"]["schemas"]["AnnouncementIn"]["properties"]
    assert {"repeat", "early_media", "early_status", "redirect_without_answer", "sit"} <= set(
        fields
    )


def test_prompt_wav_is_sit_then_the_decoded_prompt(c: TestClient) -> None:
    c.post(f"{V1}/files/{POOL}", files={"file": ("t.wav", WAV)})
    ann = c.post(
        f"{V1}/announcements", json={"pool": POOL, "name": "T", "audio_file": "t.wav"}
    ).json()
    response = c.get(f"{V1}/announcements/{ann['id']}/prompt.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        pcm = w.readframes(w.getnframes())
    assert len(pcm) == 2 * 8000
    assert has_tones(pcm)
    etag = response.headers["etag"]
    c.patch(f"{V1}/announcements/{ann['id']}", json={"sit": True})
    with_sit = c.get(f"{V1}/announcements/{ann['id']}/prompt.wav")
    assert len(with_sit.content) == len(response.content) + 2 * round(16000 * 1.034)
    assert with_sit.headers["etag"] == etag  # the prompt's version


def test_prompt_wav_of_a_tts_announcement_is_its_rendering(c: TestClient) -> None:
    ann = c.post(
        f"{V1}/announcements",
        json={"pool": POOL, "name": "S", "tts_text": "Não está em serviço.", "language": "pt-BR"},
    ).json()
    response = c.get(f"{V1}/announcements/{ann['id']}/prompt.wav")
    assert response.status_code == 200
    with wave.open(io.BytesIO(response.content)) as w:
        assert w.getnframes() > 8000


def test_prompt_wav_needs_a_prompt_and_an_announcement(c: TestClient) -> None:
    ann = c.post(f"{V1}/announcements", json={"pool": POOL, "name": "Busy"}).json()
    none = c.get(f"{V1}/announcements/{ann['id']}/prompt.wav")
    assert none.status_code == 404
    assert "has no prompt" in none.json()["detail"]
    missing = c.get(f"{V1}/announcements/6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f/prompt.wav")
    assert missing.status_code == 404


def test_a_tts_in_a_locale_without_voice_is_refused_at_configuration(c: TestClient) -> None:
    response = c.post(
        f"{V1}/announcements",
        json={"pool": POOL, "name": "X", "tts_text": "Hi", "language": "xx-XX"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "language"
