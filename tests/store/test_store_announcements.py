"""Announcements: the pool and file they need, their ids, and removal with dangling ranges."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from tests.media.audio import wav
from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import Announcement, Pool
from vacant.store import repository as repo

ID = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f")


def test_add_announcement_returns_it(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "closed.wav", wav(), "audio/wav")
    ann = Announcement.create(
        pool.name,
        " closed ",
        id=ID,
        audio_file="closed.wav",
        tts_text="We are closed",
        language="en-US",
        target="sip:voicemail@example.com;opaque=app:voicemail",
    )
    assert repo.add_announcement(session, ann) == ann
    assert ann.name == "closed"
    assert repo.get_announcement(session, pool.name, "closed") == ann
    assert repo.get_announcement_by_id(session, ID) == ann
    assert repo.get_announcement_by_id(session, str(ID)) == ann


def test_add_announcement_validates_a_value_built_without_create(
    session: Session, pool: Pool
) -> None:
    with pytest.raises(ValidationError, match=r"language: is required"):
        repo.add_announcement(session, Announcement(ID, pool.name, "x", tts_text="hello"))
    with pytest.raises(ValidationError, match=r"target"):
        repo.add_announcement(session, Announcement(ID, pool.name, "x", target="nonsense"))
    assert repo.list_announcements(session) == []


def test_an_announcement_needs_its_pool(session: Session) -> None:
    with pytest.raises(NotFound, match=r"pool 'nope.example.com' does not exist"):
        repo.add_announcement(session, Announcement.create("nope.example.com", "busy"))


def test_an_audio_file_must_be_imported_into_the_same_pool(session: Session, pool: Pool) -> None:
    repo.add_pool(session, Pool.create("b.example.com"))
    repo.add_file(session, "b.example.com", "closed.wav", wav(), "audio/wav")
    with pytest.raises(NotFound, match=r"audio file 'closed.wav' is not imported into pool"):
        repo.add_announcement(
            session, Announcement.create(pool.name, "closed", audio_file="closed.wav")
        )
    assert repo.list_announcements(session) == []


def test_an_announcement_name_is_unique_within_its_pool(
    session: Session, announcement: Announcement
) -> None:
    with pytest.raises(Conflict, match=r"announcement 'busy' already exists in pool"):
        repo.add_announcement(session, Announcement.create(announcement.pool, "busy"))
    repo.add_pool(session, Pool.create("b.example.com"))
    repo.add_announcement(session, Announcement.create("b.example.com", "busy"))
    assert len(repo.list_announcements(session)) == 2


def test_an_announcement_id_is_unique(session: Session, announcement: Announcement) -> None:
    with pytest.raises(Conflict, match=f"id {announcement.id} is already used by"):
        repo.add_announcement(
            session, Announcement.create(announcement.pool, "other", id=announcement.id)
        )


def test_list_announcements_all_or_by_pool(session: Session, pool: Pool) -> None:
    repo.add_pool(session, Pool.create("a.example.com"))
    for p, name in [(pool.name, "z"), ("a.example.com", "y"), (pool.name, "x")]:
        repo.add_announcement(session, Announcement.create(p, name))
    assert [(a.pool, a.name) for a in repo.list_announcements(session)] == [
        ("a.example.com", "y"),
        (pool.name, "x"),
        (pool.name, "z"),
    ]
    assert [a.name for a in repo.list_announcements(session, pool.name)] == ["x", "z"]
    with pytest.raises(NotFound):
        repo.list_announcements(session, "nope")


def test_unknown_announcements_are_not_found(session: Session, pool: Pool) -> None:
    with pytest.raises(NotFound, match=r"announcement 'nope' does not exist in pool"):
        repo.get_announcement(session, pool.name, "nope")
    with pytest.raises(NotFound, match=f"no announcement has the id {ID}"):
        repo.get_announcement_by_id(session, ID)
    with pytest.raises(ValidationError, match=r"id: 'garbage' is not a UUID"):
        repo.get_announcement_by_id(session, "garbage")


def test_update_announcement_changes_only_what_is_given(
    session: Session, announcement: Announcement
) -> None:
    pool = announcement.pool
    updated = repo.update_announcement(
        session, pool, "busy", tts_text="All lines are busy", language="en-GB"
    )
    assert updated == Announcement(
        announcement.id,
        pool,
        "busy",
        tts_text="All lines are busy",
        language="en-GB",
        target="sip:operator@example.com",
    )
    assert repo.update_announcement(session, pool, "busy", target=None).target is None
    renamed = repo.update_announcement(session, pool, "busy", new_name="lines-busy")
    assert renamed.id == announcement.id
    assert repo.get_announcement(session, pool, "lines-busy") == renamed
    with pytest.raises(NotFound):
        repo.get_announcement(session, pool, "busy")


def test_update_announcement_validates_the_whole(
    session: Session, announcement: Announcement
) -> None:
    pool = announcement.pool
    with pytest.raises(ValidationError, match=r"language: is required"):
        repo.update_announcement(session, pool, "busy", tts_text="hello")
    with pytest.raises(NotFound, match=r"audio file 'x.wav'"):
        repo.update_announcement(session, pool, "busy", audio_file="x.wav")
    repo.add_announcement(session, Announcement.create(pool, "other"))
    with pytest.raises(Conflict, match=r"announcement 'other' already exists"):
        repo.update_announcement(session, pool, "busy", new_name="other")
    with pytest.raises(NotFound):
        repo.update_announcement(session, pool, "nope", target=None)
    assert repo.get_announcement(session, pool, "busy") == announcement


def test_update_announcement_sets_and_clears_the_audio_file(
    session: Session, announcement: Announcement
) -> None:
    pool = announcement.pool
    repo.add_file(session, pool, "busy.wav", wav(), "audio/wav")
    assert repo.update_announcement(session, pool, "busy", audio_file="busy.wav").audio_file
    assert repo.update_announcement(session, pool, "busy", audio_file=None).audio_file is None
    repo.remove_file(session, pool, "busy.wav")


def test_remove_an_unused_announcement(session: Session, announcement: Announcement) -> None:
    assert repo.remove_announcement(session, announcement.pool, "busy") == []
    assert repo.list_announcements(session) == []
    with pytest.raises(NotFound):
        repo.remove_announcement(session, announcement.pool, "busy")


def test_an_announcement_in_use_is_removed_only_by_force(
    session: Session, announcement: Announcement
) -> None:
    target = (announcement.pool, "busy")
    repo.add_range(session, "r1", start="+14255550100", end="+14255550199", announcement=target)
    repo.add_range(session, "r2", pattern=r"\+1999\d+", announcement=target)
    with pytest.raises(Conflict, match=r"is used by range\(s\) 'r1', 'r2'"):
        repo.remove_announcement(session, announcement.pool, "busy")
    assert repo.remove_announcement(session, announcement.pool, "busy", force=True) == [
        "r1",
        "r2",
    ]
    # The ranges stay, pointing at the dangling id (calls get busy), as in Lync.
    assert [r.announcement_id for r in repo.list_ranges(session)] == [announcement.id] * 2
    config = repo.load_routing_config(session)
    assert config.announcements == []


def test_adding_an_announcement_with_a_dangling_id_repairs_its_ranges(
    session: Session, announcement: Announcement
) -> None:
    repo.add_range(
        session,
        "r1",
        start="+14255550100",
        end="+14255550199",
        announcement=(announcement.pool, "busy"),
    )
    repo.remove_announcement(session, announcement.pool, "busy", force=True)
    again = Announcement.create(
        announcement.pool, "busy-again", id=announcement.id, target="tel:+14255550000"
    )
    repo.add_announcement(session, again)
    config = repo.load_routing_config(session)
    assert config.announcements == [again]
    assert config.ranges[0].announcement_id == again.id
