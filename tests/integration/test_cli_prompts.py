"""The CLI's prompt commands end to end (SQLite and PostgreSQL): import-file decodes and reports,
refuses what cannot be a prompt; the announcement options; preview; call records."""

from __future__ import annotations

import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.test_cli import POOL, Run
from tests.media.audio import VARIANTS_FOR_STORE, Variant, encode, has_tones, tones
from vacant.media.tones import sit_vacant_code
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import make_engine, session_scope

MP3 = Variant("mp3", "mp3", "libmp3lame", "fltp", 44100, 2, ".mp3")


@pytest.fixture
def run(db_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    runner = Run(db_url, capsys)
    runner("db", "upgrade")
    return runner


@pytest.fixture
def pool(run: Run) -> Run:
    run("pool", "add", POOL)
    return run


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_import_file_reports_duration_and_peak(pool: Run, tmp_path: Path) -> None:
    mp3 = _file(tmp_path, "closed.mp3", encode(tones(1.0, 44100, 2), MP3))
    out = pool("announcement", "import-file", mp3, "--pool", POOL)
    assert out.startswith(f"imported {POOL}/closed.mp3 (")
    assert "1.00 s, peak -3." in out
    [listed] = pool.json("announcement", "files", "--pool", POOL)  # type: ignore[misc]
    assert listed["media_type"] == "audio/mpeg"
    assert listed["duration"] == pytest.approx(1.0, abs=0.02)
    assert -4.5 < listed["peak_dbfs"] < -1.0


def test_import_file_json_has_the_report(pool: Run, tmp_path: Path) -> None:
    path = _file(tmp_path, "t.wav", encode(tones(0.5, 8000), VARIANTS_FOR_STORE[0]))
    stored = pool.json("announcement", "import-file", path, "--pool", POOL)
    assert isinstance(stored, dict)
    assert stored["duration"] == pytest.approx(0.5, abs=0.001)
    assert stored["peak_dbfs"] < 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"I am a text file with a .wav name\n" * 5, "is not a readable audio file"),
        (encode(tones(1.0, 8000), VARIANTS_FOR_STORE[0])[:-100], "is truncated"),
        (encode(tones(1.0, 8000, level=0.0), VARIANTS_FOR_STORE[0]), "is silent"),
    ],
)
def test_import_file_refuses_with_the_reason_and_stores_nothing(
    pool: Run, tmp_path: Path, content: bytes, reason: str
) -> None:
    pool("announcement", "import-file", _file(tmp_path, "x.wav", content), "--pool", POOL, code=2)
    assert pool.err.startswith("error: file: ")
    assert reason in pool.err
    assert pool.json("announcement", "files") == []


def test_import_file_duration_limit_is_an_option(pool: Run, tmp_path: Path) -> None:
    path = _file(tmp_path, "t.wav", encode(tones(2.0, 8000), VARIANTS_FOR_STORE[0]))
    pool("announcement", "import-file", path, "--pool", POOL, "--max-duration", "1.5", code=2)
    assert "longer than the limit of 1.5 s" in pool.err
    pool("announcement", "import-file", path, "--pool", POOL, "--max-duration", "0", code=2)
    pool("announcement", "import-file", path, "--pool", POOL)


def test_announcement_options_on_add_set_show_and_list(pool: Run) -> None:
    created = pool.json(
        "announcement",
        "add",
        "Gone",
        "--pool",
        POOL,
        "--tts",
        "Gone.",
        "--language",
        "en-US",
        "--repeat",
        "2",
        "--early-media",
        "--early-status",
        "410",
        "--sit",
    )
    assert isinstance(created, dict)
    assert (created["repeat"], created["early_media"], created["early_status"]) == (2, True, 410)
    assert (created["sit"], created["redirect_without_answer"]) == (True, False)
    updated = pool.json(
        "announcement",
        "set",
        "Gone",
        "--pool",
        POOL,
        "--no-early-media",
        "--no-sit",
        "--redirect-without-answer",
        "--target",
        "sip:op@example.com",
    )
    assert isinstance(updated, dict)
    assert (updated["repeat"], updated["early_media"], updated["early_status"]) == (2, False, 410)
    assert (updated["sit"], updated["redirect_without_answer"]) == (False, True)
    shown = pool("announcement", "show", "Gone", "--pool", POOL)
    assert "repeat: 2" in shown
    assert "redirect_without_answer: True" in shown
    listed = pool("announcement", "list")
    assert "OPTIONS" in listed
    assert "repeat=2,redirect-without-answer" in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "0"], "error: repeat: must be an integer from 1 to 100"),
        (["--repeat", "101"], "error: repeat: must be an integer from 1 to 100"),
        (["--early-status", "200"], "error: early-status: must be an integer from 400 to 699"),
    ],
)
def test_announcement_options_are_validated_naming_the_field(
    pool: Run, args: list[str], message: str
) -> None:
    pool("announcement", "add", "A", "--pool", POOL, *args, code=2)
    assert pool.err.startswith(message)


def test_tts_in_a_locale_each_renders_at_configuration(pool: Run, tmp_path: Path) -> None:
    pool("announcement", "add", "HK", "--pool", POOL, "--tts", "空號", "--language", "zh-HK")
    out = tmp_path / "hk.wav"
    pool("announcement", "preview", "HK", "--pool", POOL, "--out", str(out))
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() > 1600


def test_preview_writes_sit_and_prompt_repeated(pool: Run, tmp_path: Path) -> None:
    path = _file(tmp_path, "t.wav", encode(tones(0.5, 8000), VARIANTS_FOR_STORE[0]))
    pool("announcement", "import-file", path, "--pool", POOL)
    pool(
        "announcement",
        "add",
        "T",
        "--pool",
        POOL,
        "--audio-file",
        "t.wav",
        "--repeat",
        "3",
        "--sit",
    )
    out = tmp_path / "preview.wav"
    report = pool.json("announcement", "preview", "T", "--pool", POOL, "--out", str(out))
    assert isinstance(report, dict)
    assert (report["sit"], report["repeat"]) == (True, 3)
    assert report["duration"] == pytest.approx(3 * (1.034 + 0.5), abs=0.002)
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        pcm = w.readframes(w.getnframes())
    sit = sit_vacant_code()
    third = len(pcm) // 3
    assert pcm[:third] == pcm[third : 2 * third] == pcm[2 * third :]
    assert pcm[: len(sit)] == sit
    assert has_tones(pcm[len(sit) : third])
    text = pool("announcement", "preview", "T", "--pool", POOL, "--out", str(out))
    assert text == f"wrote {out} (4.60 s: SIT and 0.50 s of prompt, x 3)\n"


def test_preview_of_an_announcement_without_prompt_is_refused(pool: Run, tmp_path: Path) -> None:
    pool("announcement", "add", "Busy", "--pool", POOL)
    out = tmp_path / "busy.wav"
    pool("announcement", "preview", "Busy", "--pool", POOL, "--out", str(out), code=2)
    assert "has no prompt" in pool.err
    assert not out.exists()


def test_calls_list_shows_prompt_seconds_outcome_and_transfer_target(run: Run) -> None:
    engine = make_engine(run.db_url)
    try:
        with session_scope(engine) as s:
            add_calls(
                s,
                [
                    CallRecord(
                        started=datetime(2026, 11, 26, 12, tzinfo=UTC),
                        call_id="c1",
                        caller="sip:a@x",
                        dialled="tel:+14255551500",
                        normalised="+14255551500",
                        decision="announcement",
                        range_name="Redmond",
                        status=200,
                        duration=4.2,
                        pool=POOL,
                        prompt_seconds=2.5,
                        transfer_target="sip:op@example.com",
                        outcome="transferred",
                    )
                ],
            )
    finally:
        engine.dispose()
    table = run("calls", "list")
    assert "PROMPT" in table
    assert "OUTCOME" in table
    assert "2.5 s" in table
    assert "transferred" in table
    assert "sip:op@example.com" in table
    [record] = run.json("calls", "list")  # type: ignore[misc]
    assert (record["prompt_seconds"], record["outcome"]) == (2.5, "transferred")
    assert record["transfer_target"] == "sip:op@example.com"
