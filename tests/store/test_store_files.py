"""Audio files imported into a pool's file store."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.media.audio import wav
from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import Announcement, AnnouncementFile, Pool
from vacant.store import repository as repo

WAV = wav()
OTHER = wav(frequency=500.0)


def test_add_file_keeps_the_content_and_its_digest(session: Session, pool: Pool) -> None:
    before = datetime.now(UTC)
    added = repo.add_file(session, pool.name, "greeting.wav", WAV, "audio/wav")
    assert (added.pool, added.name, added.media_type, added.size) == (
        pool.name,
        "greeting.wav",
        "audio/wav",
        len(WAV),
    )
    assert added.sha256 == hashlib.sha256(WAV).hexdigest()
    assert repo.get_file_content(session, pool.name, "greeting.wav") == WAV
    [listed] = repo.list_files(session)
    assert listed == added
    assert listed.created.tzinfo is not None
    assert before - timedelta(seconds=1) <= listed.created <= datetime.now(UTC)


def test_list_files_by_pool(session: Session, pool: Pool) -> None:
    repo.add_pool(session, Pool.create("b.example.com"))
    repo.add_file(session, "b.example.com", "z.wav", WAV, "audio/wav")
    repo.add_file(session, pool.name, "b.wav", WAV, "audio/wav")
    repo.add_file(session, pool.name, "a.wav", WAV, "audio/wav")
    assert [(f.pool, f.name) for f in repo.list_files(session)] == [
        ("b.example.com", "z.wav"),
        (pool.name, "a.wav"),
        (pool.name, "b.wav"),
    ]
    assert [f.name for f in repo.list_files(session, pool.name)] == ["a.wav", "b.wav"]
    with pytest.raises(NotFound, match=r"pool 'nope' does not exist"):
        repo.list_files(session, "nope")


def test_a_file_larger_than_the_limit_is_refused(session: Session, pool: Pool) -> None:
    limit = len(WAV)
    big = wav(seconds=0.2)
    with pytest.raises(ValidationError, match=rf"larger than the limit of {limit} bytes") as info:
        repo.add_file(session, pool.name, "big.wav", big, "audio/wav", max_size=limit)
    assert info.value.field == "file"
    assert repo.add_file(session, pool.name, "ok.wav", WAV, "audio/wav", max_size=limit)
    assert [f.name for f in repo.list_files(session)] == ["ok.wav"]


@pytest.mark.parametrize(
    ("name", "content", "media_type", "field"),
    [
        ("a/b.wav", WAV, "audio/wav", "file"),
        ("..", WAV, "audio/wav", "file"),
        ("a.wav", b"", "audio/wav", "file"),
        ("a.wav", WAV, "wav", "media-type"),
    ],
)
def test_add_file_validates_its_fields(
    session: Session, pool: Pool, name: str, content: bytes, media_type: str, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        repo.add_file(session, pool.name, name, content, media_type)
    assert info.value.field == field
    assert repo.list_files(session) == []


def test_a_file_needs_an_existing_pool(session: Session) -> None:
    with pytest.raises(NotFound, match=r"pool 'nope.example.com'"):
        repo.add_file(session, "nope.example.com", "a.wav", WAV, "audio/wav")


def test_a_file_name_is_unique_in_its_pool_unless_replaced(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "a.wav", WAV, "audio/wav")
    with pytest.raises(Conflict, match=r"file 'a.wav' already exists in pool"):
        repo.add_file(session, pool.name, "a.wav", OTHER, "audio/wav")
    replaced = repo.add_file(session, pool.name, "a.wav", OTHER, "audio/x-wav", replace=True)
    assert isinstance(replaced, AnnouncementFile)
    assert repo.get_file_content(session, pool.name, "a.wav") == OTHER
    assert repo.list_files(session) == [replaced]


def test_remove_file(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "a.wav", WAV, "audio/wav")
    repo.remove_file(session, pool.name, "a.wav")
    assert repo.list_files(session) == []
    with pytest.raises(NotFound, match=r"file 'a.wav' does not exist in pool"):
        repo.remove_file(session, pool.name, "a.wav")
    with pytest.raises(NotFound, match=r"file 'a.wav' does not exist in pool"):
        repo.get_file_content(session, pool.name, "a.wav")


def test_a_file_an_announcement_plays_cannot_be_removed(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "a.wav", WAV, "audio/wav")
    repo.add_announcement(session, Announcement.create(pool.name, "closed", audio_file="a.wav"))
    with pytest.raises(Conflict, match=r"is used by announcement\(s\) 'closed'"):
        repo.remove_file(session, pool.name, "a.wav")
    assert repo.get_file_content(session, pool.name, "a.wav") == WAV
