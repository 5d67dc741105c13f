"""Pools: names, backups, and what keeps a pool from being removed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.media.audio import wav
from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import Announcement, Pool
from vacant.store import repository as repo


def test_add_pool_returns_the_validated_pool(session: Session) -> None:
    added = repo.add_pool(session, Pool.create("Pool1.Example.COM", description="main"))
    assert added == Pool("pool1.example.com", None, "main")
    assert repo.get_pool(session, "POOL1.example.com") == added


def test_add_pool_validates_a_value_built_without_create(session: Session) -> None:
    with pytest.raises(ValidationError, match=r"name: 'bad name!'"):
        repo.add_pool(session, Pool("bad name!"))
    with pytest.raises(ValidationError, match=r"backup: a pool cannot be its own backup"):
        repo.add_pool(session, Pool("a.example.com", "a.example.com"))
    assert repo.list_pools(session) == []


def test_a_pool_name_is_unique(session: Session, pool: Pool) -> None:
    with pytest.raises(Conflict, match=r"pool 'pool1.example.com' already exists"):
        repo.add_pool(session, Pool.create("pool1.example.com"))


def test_a_backup_pool_must_exist(session: Session) -> None:
    with pytest.raises(NotFound, match=r"backup pool 'b.example.com' does not exist"):
        repo.add_pool(session, Pool.create("a.example.com", backup="b.example.com"))
    assert repo.list_pools(session) == []


def test_pools_may_back_each_other_up(session: Session) -> None:
    repo.add_pool(session, Pool.create("a.example.com"))
    repo.add_pool(session, Pool.create("b.example.com", backup="a.example.com"))
    updated = repo.update_pool(session, "a.example.com", backup="b.example.com")
    assert updated.backup == "b.example.com"
    assert [(p.name, p.backup) for p in repo.list_pools(session)] == [
        ("a.example.com", "b.example.com"),
        ("b.example.com", "a.example.com"),
    ]


def test_update_pool_changes_only_what_is_given(session: Session, pool: Pool) -> None:
    repo.add_pool(session, Pool.create("b.example.com"))
    assert repo.update_pool(session, pool.name, description="first").description == "first"
    assert repo.update_pool(session, pool.name, backup="b.example.com") == Pool(
        pool.name, "b.example.com", "first"
    )
    assert repo.update_pool(session, pool.name, backup=None) == Pool(pool.name, None, "first")
    assert repo.update_pool(session, pool.name) == Pool(pool.name, None, "first")
    assert repo.get_pool(session, pool.name) == Pool(pool.name, None, "first")


def test_update_pool_checks_the_backup(session: Session, pool: Pool) -> None:
    with pytest.raises(NotFound, match=r"backup pool 'nope.example.com'"):
        repo.update_pool(session, pool.name, backup="nope.example.com")
    with pytest.raises(ValidationError, match=r"own backup"):
        repo.update_pool(session, pool.name, backup=pool.name)
    with pytest.raises(ValidationError, match=r"description"):
        repo.update_pool(session, pool.name, description="x" * 5000)
    assert repo.get_pool(session, pool.name) == pool


def test_an_unknown_pool_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match=r"pool 'nope' does not exist"):
        repo.get_pool(session, "nope")
    with pytest.raises(NotFound):
        repo.update_pool(session, "nope", description="x")
    with pytest.raises(NotFound):
        repo.remove_pool(session, "nope")


def test_list_pools_is_sorted_by_name(session: Session) -> None:
    for name in ("c.example.com", "a.example.com", "b.example.com"):
        repo.add_pool(session, Pool.create(name))
    assert [p.name for p in repo.list_pools(session)] == [
        "a.example.com",
        "b.example.com",
        "c.example.com",
    ]


def test_remove_pool(session: Session, pool: Pool) -> None:
    repo.remove_pool(session, pool.name)
    assert repo.list_pools(session) == []


def test_a_pool_with_announcements_cannot_be_removed(
    session: Session, announcement: Announcement
) -> None:
    with pytest.raises(Conflict, match=r"still has 1 announcement\(s\) \('busy'\)"):
        repo.remove_pool(session, announcement.pool)


def test_a_pool_with_files_cannot_be_removed(session: Session, pool: Pool) -> None:
    repo.add_file(session, pool.name, "a.wav", wav(), "audio/wav")
    with pytest.raises(Conflict, match=r"still has 1 audio file\(s\) \('a.wav'\)"):
        repo.remove_pool(session, pool.name)


def test_a_backup_pool_cannot_be_removed(session: Session, pool: Pool) -> None:
    repo.add_pool(session, Pool.create("b.example.com", backup=pool.name))
    with pytest.raises(Conflict, match=r"is the backup of pool\(s\) 'b.example.com'"):
        repo.remove_pool(session, pool.name)


def test_long_lists_in_messages_are_cut(session: Session, pool: Pool) -> None:
    for i in range(12):
        repo.add_announcement(session, Announcement.create(pool.name, f"a{i:02d}"))
    with pytest.raises(Conflict, match=r"'a09' and 2 more"):
        repo.remove_pool(session, pool.name)
