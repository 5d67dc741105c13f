"""Disaster recovery in one transaction each way (vacant.store.failover), on SQLite and
PostgreSQL: Lync's manual procedure (reference §8), made safe to re-run."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.media.audio import wav
from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import Announcement, Pool
from vacant.store import failover
from vacant.store import repository as repo
from vacant.store.models import AnnouncementFileRow, AnnouncementRow, FailoverRangeRow

A, B = "a.example.com", "b.example.com"
WAV = wav()
OTHER = wav(frequency=500.0)


@pytest.fixture
def pools(session: Session) -> None:
    """Pool A backed by B; A has a file, two announcements and two ranges; an auto-attendant
    range and a range of B's own stay out of it."""
    repo.add_pool(session, Pool.create(B))
    repo.add_pool(session, Pool.create(A, B))
    repo.add_file(session, A, "gone.wav", WAV, "audio/wav")
    repo.add_announcement(
        session, Announcement.create(A, "Gone", audio_file="gone.wav", target="sip:op@example.com")
    )
    repo.add_announcement(session, Announcement.create(A, "Busy"))
    repo.add_announcement(session, Announcement.create(B, "Own"))
    repo.add_range(
        session, "R1", start="+14255550000", end="+14255550999", announcement=(A, "Gone")
    )
    repo.add_range(
        session, "R2", start="+14255551000", end="+14255551999", announcement=(A, "Busy")
    )
    repo.add_range(session, "AA", start="+14255552000", end="+14255552999", auto_attendant="+1425")
    repo.add_range(session, "RB", start="+14255553000", end="+14255553999", announcement=(B, "Own"))
    session.commit()


def _pool_of_range(s: Session, name: str) -> tuple[str, str] | None:
    r = repo.get_range(s, name)
    if r.announcement_id is None:
        return None
    a = repo.get_announcement_by_id(s, r.announcement_id)
    return a.pool, a.name


def _file_rows(s: Session, pool: str) -> list[dict[str, object]]:
    t = AnnouncementFileRow.__table__
    cols = [c for c in t.columns if c.name not in {"id", "pool", "created"}]
    return [dict(r._mapping) for r in s.execute(select(*cols).where(t.c.pool == pool))]


@pytest.mark.usefixtures("pools")
def test_failover_copies_files_and_announcements_and_repoints_only_announcement_ranges(
    session: Session,
) -> None:
    version = repo.config_version(session)
    plan = failover.failover(session, A)
    assert [str(s) for s in plan.steps] == [
        f"copy file: {A}/gone.wav -> {B}/gone.wav",
        f"create announcement: {B}/Busy (copy of {A}/Busy)",
        f"create announcement: {B}/Gone (copy of {A}/Gone)",
        f"re-point range: R1: {A}/Gone -> {B}/Gone",
        f"re-point range: R2: {A}/Busy -> {B}/Busy",
    ]
    assert _pool_of_range(session, "R1") == (B, "Gone")
    assert _pool_of_range(session, "R2") == (B, "Busy")
    assert _pool_of_range(session, "AA") is None
    assert _pool_of_range(session, "RB") == (B, "Own")
    copy = repo.get_announcement(session, B, "Gone")
    assert (copy.audio_file, copy.target) == ("gone.wav", "sip:op@example.com")
    assert copy.id != repo.get_announcement(session, A, "Gone").id
    # One write: one version bump, whatever the number of steps.
    assert repo.config_version(session) == version + 1


@pytest.mark.usefixtures("pools")
def test_failover_copies_every_column_of_a_file_including_its_decoded_prompt(
    session: Session,
) -> None:
    failover.failover(session, A)
    [original], [copied] = _file_rows(session, A), _file_rows(session, B)
    assert copied == original
    assert copied["content"] == WAV


@pytest.mark.usefixtures("pools")
def test_failover_dry_run_prints_the_plan_and_changes_nothing(session: Session) -> None:
    version = repo.config_version(session)
    plan = failover.failover(session, A, dry_run=True)
    assert plan.changes == 5
    assert _pool_of_range(session, "R1") == (A, "Gone")
    assert [a.name for a in repo.list_announcements(session, B)] == ["Own"]
    assert repo.list_files(session, B) == []
    assert repo.config_version(session) == version


@pytest.mark.usefixtures("pools")
def test_failover_run_again_is_idempotent(session: Session) -> None:
    failover.failover(session, A)
    version = repo.config_version(session)
    again = failover.failover(session, A)
    assert again.changes == 0
    assert {s.action for s in again.steps} == {"keep file", "keep announcement"}
    assert repo.config_version(session) == version
    assert len(repo.list_announcements(session, B)) == 3


@pytest.mark.usefixtures("pools")
def test_failover_keeps_an_identical_announcement_already_in_the_backup(session: Session) -> None:
    kept = repo.add_announcement(session, Announcement.create(B, "Busy"))
    plan = failover.failover(session, A)
    assert f"keep announcement: {B}/Busy (identical)" in [str(s) for s in plan.steps]
    assert repo.get_range(session, "R2").announcement_id == kept.id


@pytest.mark.usefixtures("pools")
def test_failover_refuses_a_different_announcement_of_the_same_name_naming_both(
    session: Session,
) -> None:
    repo.add_announcement(session, Announcement.create(B, "Busy", target="sip:x@example.com"))
    session.commit()
    with pytest.raises(Conflict) as refused:
        failover.failover(session, A)
    text = str(refused.value)
    assert f"announcement 'Busy' of pool '{B}' differs from announcement 'Busy' of pool '{A}'" in (
        text
    )
    assert "target 'sip:x@example.com' vs None" in text
    assert "nothing changed" in text
    assert _pool_of_range(session, "R2") == (A, "Busy")
    assert repo.list_files(session, B) == []


@pytest.mark.usefixtures("pools")
def test_failover_refuses_a_different_file_of_the_same_name(session: Session) -> None:
    repo.add_file(session, B, "gone.wav", OTHER, "audio/wav")
    with pytest.raises(Conflict, match=r"file 'gone.wav' of pool 'b.example.com' differs"):
        failover.failover(session, A)


def test_failover_needs_a_backup_pool_and_an_existing_pool(session: Session) -> None:
    repo.add_pool(session, Pool.create(A))
    with pytest.raises(ValidationError, match=r"backup: pool 'a.example.com' has no backup"):
        failover.failover(session, A)
    with pytest.raises(NotFound):
        failover.failover(session, "nope.example.com")


@pytest.mark.usefixtures("pools")
def test_failback_repoints_exactly_the_recorded_ranges(session: Session) -> None:
    failover.failover(session, A)
    # During the outage an admin points a new range at the backup's copy: not failover's.
    repo.add_range(
        session, "New", start="+14255554000", end="+14255554999", announcement=(B, "Gone")
    )
    plan = failover.failback(session, A)
    assert [str(s) for s in plan.steps] == [
        f"re-point range: R1: {B}/Gone -> {A}/Gone",
        f"re-point range: R2: {B}/Busy -> {A}/Busy",
    ]
    assert _pool_of_range(session, "R1") == (A, "Gone")
    assert _pool_of_range(session, "R2") == (A, "Busy")
    assert _pool_of_range(session, "New") == (B, "Gone")
    assert session.scalars(select(FailoverRangeRow)).all() == []
    assert failover.failback(session, A).changes == 0  # idempotent


@pytest.mark.usefixtures("pools")
def test_failback_leaves_a_range_changed_since_the_failover(session: Session) -> None:
    failover.failover(session, A)
    repo.update_range(session, "R2", announcement=(B, "Own"))
    plan = failover.failback(session, A)
    assert "skip range: R2: was changed since the failover; left as it is" in [
        str(s) for s in plan.steps
    ]
    assert _pool_of_range(session, "R2") == (B, "Own")


@pytest.mark.usefixtures("pools")
def test_failback_recreates_announcements_and_files_in_a_primary_rebuilt_empty(
    session: Session,
) -> None:
    original = repo.get_announcement(session, A, "Gone")
    failover.failover(session, A)
    for ann in repo.list_announcements(session, A):
        repo.remove_announcement(session, A, ann.name)
    repo.remove_file(session, A, "gone.wav")
    plan = failover.failback(session, A)
    actions = [s.action for s in plan.steps]
    assert actions.count("create announcement") == 2
    assert actions.count("copy file") == 1
    rebuilt = repo.get_announcement(session, A, "Gone")
    assert rebuilt.id == original.id  # the old id: anything still pointing at it is repaired
    assert (rebuilt.audio_file, rebuilt.target) == ("gone.wav", "sip:op@example.com")
    assert repo.get_file_content(session, A, "gone.wav") == WAV
    assert _pool_of_range(session, "R1") == (A, "Gone")


@pytest.mark.usefixtures("pools")
def test_failback_cleanup_removes_only_the_copies_nothing_uses(session: Session) -> None:
    kept = repo.add_announcement(session, Announcement.create(B, "Busy"))  # not a copy
    failover.failover(session, A)
    repo.add_range(
        session, "New", start="+14255554000", end="+14255554999", announcement=(B, "Gone")
    )
    plan = failover.failback(session, A, cleanup=True)
    steps = [str(s) for s in plan.steps]
    assert f"keep announcement: {B}/Gone: used by New" in steps
    assert f"keep file: {B}/gone.wav: used by Gone" in steps
    assert repo.get_announcement(session, B, "Busy") == kept
    repo.remove_range(session, "New")
    again = failover.failback(session, A, cleanup=True)
    assert [str(s) for s in again.steps] == [
        f"remove announcement: {B}/Gone",
        f"remove file: {B}/gone.wav",
    ]
    assert [a.name for a in repo.list_announcements(session, B)] == ["Busy", "Own"]
    assert repo.list_files(session, B) == []


@pytest.mark.usefixtures("pools")
def test_failback_without_a_failover_does_nothing(session: Session) -> None:
    plan = failover.failback(session, A, cleanup=True)
    assert plan.steps == ()


@pytest.mark.usefixtures("pools")
def test_failed_over_counts_the_ranges_not_yet_failed_back(session: Session) -> None:
    assert failover.failed_over(session) == {}
    failover.failover(session, A)
    assert failover.failed_over(session) == {A: 2}


# --- files out and back in -------------------------------------------------------------------


@pytest.mark.usefixtures("pools")
def test_pool_files_yields_every_original(session: Session) -> None:
    assert list(failover.pool_files(session, A)) == [("gone.wav", WAV)]
    assert list(failover.pool_files(session, B)) == []


@pytest.mark.usefixtures("pools")
def test_file_documents_restore_into_an_empty_database_with_every_column(
    session: Session,
) -> None:
    documents = list(failover.file_documents(session))
    assert documents[0]["content"] == {"base64": documents[0]["content"]["base64"]}
    before = _file_rows(session, A)
    session.query(AnnouncementRow).delete()
    session.query(AnnouncementFileRow).delete()
    changes = failover.restore_files(session, documents)
    assert changes == [f"+ file {A}/gone.wav"]
    assert _file_rows(session, A) == before
    assert failover.restore_files(session, documents) == []  # same content: left


def test_restore_files_creates_missing_pools_and_checks_the_digest(session: Session) -> None:
    import base64

    entry = {
        "pool": "new.example.com",
        "name": "x.wav",
        "media_type": "audio/wav",
        "content": {"base64": base64.b64encode(WAV).decode()},
    }
    assert failover.restore_files(session, [entry]) == [
        "+ pool new.example.com",
        "+ file new.example.com/x.wav",
    ]
    with pytest.raises(ValidationError, match=r"files\[0\].sha256: does not match"):
        failover.restore_files(session, [{**entry, "sha256": "0" * 64}])
    with pytest.raises(ValidationError, match=r"files\[0\].content: is not valid base64"):
        failover.restore_files(session, [{**entry, "content": {"base64": "%%%"}}])
    with pytest.raises(ValidationError, match=r"files\[0\]: unknown field\(s\) bogus"):
        failover.restore_files(session, [{**entry, "bogus": 1}])


def test_failover_announcement_ids_are_fresh_uuids(session: Session) -> None:
    repo.add_pool(session, Pool.create(B))
    repo.add_pool(session, Pool.create(A, B))
    a = repo.add_announcement(session, Announcement.create(A, "X"))
    failover.failover(session, A)
    copy = repo.get_announcement(session, B, "X")
    assert isinstance(copy.id, uuid.UUID)
    assert copy.id != a.id
