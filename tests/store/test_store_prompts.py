"""Prompts in the store: audio files decoded at import, text-to-speech rendered when an
announcement changes, loaded for the server by ``prompt_audio`` / ``prompts_for_pools``, and the
announcement options; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.media.audio import VARIANTS_FOR_STORE, encode, has_tones, tones, wav
from vacant.errors import NotFound, ValidationError
from vacant.routing.model import Announcement, Pool
from vacant.store import repository as repo
from vacant.store.calls import CallRecord, add_calls, list_calls
from vacant.store.engine import make_engine, upgrade
from vacant.store.models import AnnouncementFileRow, AnnouncementRow
from vacant.store.prompts import (
    PromptAudio,
    playout,
    prompt_audio,
    prompt_versions,
    prompts_for_pools,
)

TONES_WAV = encode(tones(1.0, 8000), VARIANTS_FOR_STORE[0])


def _add(session: Session, pool: str, name: str, **fields: object) -> Announcement:
    return repo.add_announcement(session, Announcement.create(pool, name, **fields))  # type: ignore[arg-type]


# --- files -----------------------------------------------------------------------------------


def test_import_decodes_and_reports_duration_and_peak(session: Session, pool: Pool) -> None:
    stored = repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    assert stored.duration == pytest.approx(1.0, abs=0.001)
    assert stored.peak_dbfs == pytest.approx(-2.5, abs=0.5)
    assert repo.list_files(session) == [stored]
    row = session.scalar(select(AnnouncementFileRow))
    assert row is not None
    assert row.pcm is not None
    assert row.pcm_sha256 == hashlib.sha256(row.pcm).hexdigest()
    assert has_tones(row.pcm)
    assert repo.get_file_content(session, pool.name, "tones.wav") == TONES_WAV  # the original


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"this is text, not audio" * 10, "is not a readable audio file"),
        (wav(seconds=1.0)[:-10], "is truncated"),
        (encode(tones(1.0, 8000, level=0.0), VARIANTS_FOR_STORE[0]), "is silent"),
    ],
)
def test_a_file_that_cannot_be_a_prompt_is_refused_and_nothing_is_stored(
    session: Session, pool: Pool, content: bytes, rule: str
) -> None:
    with pytest.raises(ValidationError, match=rule) as info:
        repo.add_file(session, pool.name, "bad.wav", content, "audio/wav")
    assert info.value.field == "file"
    assert repo.list_files(session) == []


def test_a_file_over_the_duration_limit_is_refused(session: Session, pool: Pool) -> None:
    with pytest.raises(ValidationError, match=r"longer than the limit of 0\.5 s"):
        repo.add_file(session, pool.name, "long.wav", TONES_WAV, "audio/wav", max_duration=0.5)
    assert repo.list_files(session) == []


# --- prompt_audio --------------------------------------------------------------------------


def test_prompt_of_an_audio_file_is_its_decoded_pcm(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    ann = _add(session, pool.name, "A", audio_file="tones.wav")
    audio = prompt_audio(session, ann.id)
    assert isinstance(audio, PromptAudio)
    assert audio.duration == pytest.approx(1.0, abs=0.001)
    assert audio.version == hashlib.sha256(audio.pcm).hexdigest()
    assert has_tones(audio.pcm)


def test_prompt_of_a_tts_announcement_is_rendered_when_it_is_created(
    session: Session, pool: Pool
) -> None:
    ann = _add(session, pool.name, "A", tts_text="Not in service.", language="en-US")
    row = session.get(AnnouncementRow, str(ann.id))
    assert row is not None
    assert row.tts_pcm is not None
    audio = prompt_audio(session, ann.id)
    assert audio is not None
    assert audio.pcm == row.tts_pcm
    assert audio.version == row.tts_sha256 == hashlib.sha256(row.tts_pcm).hexdigest()
    assert 0.5 < audio.duration < 5


def test_the_audio_file_wins_over_tts(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    ann = _add(session, pool.name, "A", audio_file="tones.wav", tts_text="Hello", language="en-US")
    audio = prompt_audio(session, ann.id)
    assert audio is not None
    assert has_tones(audio.pcm)


def test_an_announcement_without_prompt_has_none(session: Session, pool: Pool) -> None:
    ann = _add(session, pool.name, "A", target="sip:op@example.com")
    assert prompt_audio(session, ann.id) is None
    with pytest.raises(NotFound, match="no announcement has the id"):
        prompt_audio(session, uuid.uuid4())


def test_tts_is_rendered_again_only_when_its_text_or_language_changes(
    session: Session, pool: Pool
) -> None:
    ann = _add(session, pool.name, "A", tts_text="Closed.", language="en-US")

    def version() -> str | None:
        return session.scalar(
            select(AnnouncementRow.tts_sha256).where(AnnouncementRow.id == str(ann.id))
        )

    first = version()
    repo.update_announcement(session, pool.name, "A", target="sip:op@example.com", repeat=2)
    assert version() == first
    repo.update_announcement(session, pool.name, "A", tts_text="Closed for the holidays.")
    second = version()
    assert second not in (None, first)
    repo.update_announcement(session, pool.name, "A", language="en-GB")
    assert version() not in (None, second)
    repo.update_announcement(session, pool.name, "A", tts_text=None, language=None)
    row = session.get(AnnouncementRow, str(ann.id))
    assert row is not None
    assert (row.tts_pcm, row.tts_sha256) == (None, None)
    assert prompt_audio(session, ann.id) is None


def test_a_tts_that_cannot_render_is_refused_and_nothing_is_stored(
    session: Session, pool: Pool
) -> None:
    with pytest.raises(ValidationError, match="tts: renders no speech"):
        _add(session, pool.name, "A", tts_text="   .", language="en-US")
    assert repo.list_announcements(session) == []


def test_prompts_for_pools_loads_every_prompt_of_those_pools_once(
    session: Session, pool: Pool
) -> None:
    repo.add_pool(session, Pool.create("other.example.com"))
    repo.add_pool(session, Pool.create("third.example.com"))
    repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    a = _add(session, pool.name, "A", audio_file="tones.wav")
    b = _add(session, pool.name, "B", audio_file="tones.wav", repeat=3)
    c = _add(session, "other.example.com", "C", tts_text="Gone.", language="fr-FR")
    _add(session, pool.name, "D", target="sip:op@example.com")
    _add(session, "third.example.com", "E", tts_text="Elsewhere.", language="en-US")
    found = prompts_for_pools(session, [pool.name, "OTHER.example.com"])
    assert set(found) == {a.id, b.id, c.id}
    assert found[a.id] is found[b.id]  # one file, one PromptAudio
    assert found[c.id] == prompt_audio(session, c.id)
    assert prompts_for_pools(session, []) == {}
    assert set(prompts_for_pools(session, [pool.name, "other.example.com"], only=[c.id])) == {c.id}
    assert prompts_for_pools(session, [pool.name], only=[]) == {}
    versions = prompt_versions(session, [pool.name, "other.example.com"])
    assert versions == {
        a.id: found[a.id].version,
        b.id: found[a.id].version,
        c.id: found[c.id].version,
    }


# --- made before migration 0004 --------------------------------------------------------------


def test_a_file_imported_before_decoding_existed_is_decoded_on_demand_and_kept(
    session: Session, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    ann = _add(session, pool.name, "A", audio_file="tones.wav")
    session.execute(
        update(AnnouncementFileRow).values(pcm=None, pcm_sha256=None, duration=None, peak_dbfs=None)
    )
    session.expire_all()
    assert prompt_versions(session, [pool.name]) == {ann.id: None}
    with caplog.at_level(logging.WARNING, logger="vacant.store.prompts"):
        audio = prompt_audio(session, ann.id)
    assert audio is not None
    assert has_tones(audio.pcm)
    assert "imported before prompts were decoded at import: decoding it now" in caplog.text
    session.flush()
    assert prompt_versions(session, [pool.name]) == {ann.id: audio.version}
    [listed] = repo.list_files(session)
    assert listed.duration == pytest.approx(1.0, abs=0.001)


def test_an_old_file_that_does_not_decode_falls_back_to_tts_then_to_nothing(
    session: Session, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    repo.add_file(session, pool.name, "x.wav", TONES_WAV, "audio/wav")
    both = _add(session, pool.name, "A", audio_file="x.wav", tts_text="Hi.", language="en-US")
    only = _add(session, pool.name, "B", audio_file="x.wav")
    session.execute(update(AnnouncementFileRow).values(pcm=None, content=b"not audio"))
    session.expire_all()
    with caplog.at_level(logging.WARNING, logger="vacant.store.prompts"):
        found = prompts_for_pools(session, [pool.name])
    assert set(found) == {both.id}
    assert "cannot be played" in caplog.text
    assert prompt_audio(session, only.id) is None


def test_a_tts_announcement_made_before_rendering_existed_is_rendered_on_demand(
    session: Session, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    ann = _add(session, pool.name, "A", tts_text="Hello.", language="de-DE")
    session.execute(update(AnnouncementRow).values(tts_pcm=None, tts_sha256=None))
    session.expire_all()
    with caplog.at_level(logging.WARNING, logger="vacant.store.prompts"):
        audio = prompt_audio(session, ann.id)
    assert audio is not None
    assert audio.duration > 0.2
    assert "rendering it now" in caplog.text
    row = session.get(AnnouncementRow, str(ann.id))
    assert row is not None
    assert row.tts_sha256 == audio.version


def test_migration_0004_keeps_older_rows_with_defaults_and_no_prompt_yet(
    db_url_factory: object,
) -> None:
    url = db_url_factory()  # type: ignore[operator]
    upgrade(url, "0003")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO pools (name, description) VALUES ('p.example.com', '')"))
            conn.execute(
                text(
                    "INSERT INTO announcement_files (pool, name, media_type, size, sha256,"
                    " content, created) VALUES ('p.example.com', 'a.wav', 'audio/wav', :n, 'x',"
                    " :c, :t)"
                ),
                {"n": len(TONES_WAV), "c": TONES_WAV, "t": datetime.now(UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO announcements (id, pool, name, audio_file) VALUES"
                    " ('6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', 'p.example.com', 'A', 'a.wav')"
                )
            )
        upgrade(engine, "0004")
        with Session(engine) as s:
            [ann] = repo.list_announcements(s)
            assert (ann.repeat, ann.early_media, ann.early_status) == (1, False, 404)
            assert (ann.redirect_without_answer, ann.sit) == (False, False)
            [old] = repo.list_files(s)
            assert (old.duration, old.peak_dbfs) == (None, None)
            audio = prompt_audio(s, ann.id)
            assert audio is not None
            assert has_tones(audio.pcm)
    finally:
        engine.dispose()


# --- options, what a caller hears --------------------------------------------------------------


def test_announcement_options_are_stored_and_changed(session: Session, pool: Pool) -> None:
    ann = _add(
        session,
        pool.name,
        "A",
        target="sip:op@example.com",
        repeat=2,
        early_media=True,
        early_status=410,
        redirect_without_answer=True,
        sit=True,
    )
    assert repo.get_announcement(session, pool.name, "A") == ann
    changed = repo.update_announcement(
        session, pool.name, "A", repeat=5, early_media=False, sit=False
    )
    assert (changed.repeat, changed.early_media, changed.early_status) == (5, False, 410)
    assert (changed.redirect_without_answer, changed.sit) == (True, False)
    assert repo.get_announcement(session, pool.name, "A") == changed
    with pytest.raises(ValidationError, match="early-status: must be an integer from 400 to 699"):
        repo.update_announcement(session, pool.name, "A", early_status=200)
    assert repo.get_announcement(session, pool.name, "A") == changed


def test_a_caller_hears_the_sit_and_the_prompt_repeat_times(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "tones.wav", TONES_WAV, "audio/wav")
    ann = _add(session, pool.name, "A", audio_file="tones.wav", repeat=3, sit=True)
    heard = playout(session, ann)
    assert len(heard.sit) == 2 * round(16000 * 1.034)
    assert b"".join(heard.chunks()) == (heard.sit + heard.prompt.pcm) * 3
    assert heard.duration == pytest.approx(3 * (1.034 + 1.0), abs=0.002)
    plain = playout(session, _add(session, pool.name, "B", audio_file="tones.wav"))
    assert (plain.sit, list(plain.chunks())) == (b"", [plain.prompt.pcm])


def test_a_caller_of_an_announcement_without_prompt_hears_nothing_to_preview(
    session: Session, pool: Pool
) -> None:
    ann = _add(session, pool.name, "Busy")
    with pytest.raises(NotFound, match="has no prompt"):
        playout(session, ann)


# --- configuration export and import -----------------------------------------------------------


def test_export_leaves_default_options_out_and_import_brings_them_back(
    session: Session, pool: Pool
) -> None:
    _add(session, pool.name, "Plain", target="sip:op@example.com")
    _add(
        session,
        pool.name,
        "Tuned",
        tts_text="Gone.",
        language="en-US",
        repeat=2,
        sit=True,
        early_media=True,
        early_status=410,
        redirect_without_answer=True,
    )
    doc = repo.export_config(session)
    plain, tuned = doc["announcements"]
    assert not set(plain) & {"repeat", "early_media", "early_status", "sit"}
    assert {k: tuned[k] for k in ("repeat", "sit", "early_media", "early_status")} == {
        "repeat": 2,
        "sit": True,
        "early_media": True,
        "early_status": 410,
    }
    assert tuned["redirect_without_answer"] is True
    tuned["repeat"] = 4
    del tuned["sit"]
    changes = repo.import_config(session, doc)
    assert changes == [f"~ announcement {pool.name}/Tuned: repeat 2 -> 4, sit True -> False"]
    got = repo.get_announcement(session, pool.name, "Tuned")
    assert (got.repeat, got.sit, got.early_status) == (4, False, 410)


def test_import_renders_new_tts_and_refuses_bad_options_naming_the_field(
    session: Session, pool: Pool
) -> None:
    doc = {
        "pools": [{"name": pool.name}],
        "announcements": [
            {"pool": pool.name, "name": "T", "tts_text": "Gone.", "language": "sv-SE"},
        ],
    }
    repo.import_config(session, doc)
    ann = repo.get_announcement(session, pool.name, "T")
    assert prompt_audio(session, ann.id) is not None
    bad = {"announcements": [{"pool": pool.name, "name": "T", "repeat": 0, "sit": "yes"}]}
    with pytest.raises(ValidationError) as info:
        repo.import_config(session, bad)
    assert "announcements[0] 'T'.repeat: must be an integer from 1 to 100" in str(info.value)
    unspeakable = {
        "announcements": [{"pool": pool.name, "name": "T", "tts_text": " .", "language": "en-US"}]
    }
    with pytest.raises(ValidationError, match=r"announcements .*/T.tts: renders no speech"):
        repo.import_config(session, unspeakable)
    assert repo.get_announcement(session, pool.name, "T").tts_text == "Gone."


# --- call records ------------------------------------------------------------------------------


def test_call_records_keep_prompt_seconds_transfer_target_and_outcome(session: Session) -> None:
    started = datetime(2026, 11, 26, 12, tzinfo=UTC)
    base = {
        "call_id": "c1",
        "caller": "sip:a@x",
        "dialled": "tel:+1",
        "normalised": "+1",
        "decision": "announcement",
        "range_name": "r",
        "status": 200,
        "duration": 3.5,
        "pool": "p",
    }
    add_calls(
        session,
        [
            CallRecord(
                started=started,
                **base,
                prompt_seconds=2.48,  # type: ignore[arg-type]
                transfer_target="sip:op@example.com",
                outcome="transferred",
            ),
            CallRecord(started=started.replace(hour=11), **base),  # type: ignore[arg-type]
        ],
    )
    newest, older = list_calls(session)
    assert (newest.prompt_seconds, newest.transfer_target, newest.outcome) == (
        2.48,
        "sip:op@example.com",
        "transferred",
    )
    assert (older.prompt_seconds, older.transfer_target, older.outcome) == (None, None, None)
