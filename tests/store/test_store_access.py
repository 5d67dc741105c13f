"""API tokens, users, console sessions and the audit log in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.store import access, audit
from vacant.store.access import Role
from vacant.store.models import LoginSessionRow

PASSWORD = "tr0ub4dor&3-horse"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_password_hashes_are_scrypt_phc_strings_with_a_salt_each() -> None:
    first, second = access.hash_password(PASSWORD), access.hash_password(PASSWORD)
    assert first.startswith("$scrypt$ln=15,r=8,p=1$")
    assert first != second
    assert access.verify_password(PASSWORD, first)
    assert not access.verify_password(PASSWORD + "x", first)
    for broken in ("", "$scrypt$", "$bcrypt$ln=15,r=8,p=1$AA$AA", "$scrypt$ln=40,r=8,p=1$AA$AA"):
        assert not access.verify_password(PASSWORD, broken)


def test_weak_passwords_and_bad_names_are_refused(session: Session) -> None:
    for password, rule in [
        ("", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "5 different"),
        ("x" * 1025, "at most"),
        ("alice-alice-alice", "user name"),
    ]:
        with pytest.raises(ValidationError, match=rule) as caught:
            access.create_user(session, "alice", "admin", password)
        assert caught.value.field == "password"
    with pytest.raises(ValidationError) as bad_name:
        access.create_user(session, "-alice", "admin", PASSWORD)
    assert bad_name.value.field == "name"
    with pytest.raises(ValidationError) as bad_role:
        access.create_user(session, "alice", "owner", PASSWORD)
    assert bad_role.value.field == "role"
    assert access.list_users(session) == []


def test_users_are_checked_by_password(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "SCRYPT_LOG_N", 4)
    user = access.create_user(session, "alice", "voice-admin", PASSWORD)
    assert user.role is Role.VOICE_ADMIN
    with pytest.raises(Conflict):
        access.create_user(session, "alice", "admin", PASSWORD)
    assert access.check_password(session, "alice", PASSWORD) == user
    assert access.check_password(session, "alice", PASSWORD[:-1]) is None
    assert access.check_password(session, "nobody", PASSWORD) is None
    assert access.check_password(session, "alice", PASSWORD + "x" * 2000) is None
    changed = access.set_password(session, "alice", PASSWORD + "!")
    assert access.check_password(session, "alice", PASSWORD) is None
    assert changed.password_changed >= user.password_changed
    assert access.set_role(session, "alice", "view-only").role is Role.VIEW_ONLY
    access.remove_user(session, "alice")
    with pytest.raises(NotFound):
        access.get_user(session, "alice")


def test_tokens_are_found_by_secret_until_revoked(session: Session) -> None:
    created = access.create_token(session, "ci", "admin")
    assert created.token.prefix == created.secret[: access.PREFIX_LEN]
    assert access.token_for_secret(session, created.secret, now=NOW) is not None
    assert access.token_for_secret(session, created.secret + "x", now=NOW) is None
    assert access.token_for_secret(session, "not-a-token", now=NOW) is None
    assert access.get_token(session, "ci").last_used == NOW
    access.token_for_secret(session, created.secret, now=NOW + timedelta(seconds=30))
    assert access.get_token(session, "ci").last_used == NOW  # not a write per request
    access.token_for_secret(session, created.secret, now=NOW + timedelta(seconds=61))
    assert access.get_token(session, "ci").last_used == NOW + timedelta(seconds=61)
    revoked = access.revoke_token(session, "ci")
    assert not revoked.active
    assert access.token_for_secret(session, created.secret, now=NOW) is None
    with pytest.raises(Conflict, match="revoked"):
        access.create_token(session, "ci", "admin")
    with pytest.raises(Conflict, match="already revoked"):
        access.revoke_token(session, "ci")


def test_sessions_expire_end_and_follow_their_user(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "SCRYPT_LOG_N", 4)
    access.create_user(session, "alice", "admin", PASSWORD)
    hour = timedelta(hours=1)
    secret, opened = access.create_session(session, user="alice", lifetime=hour, now=NOW)
    assert (opened.kind, opened.name, opened.expires) == ("user", "alice", NOW + hour)
    assert access.session_for_secret(session, secret, now=NOW) == opened
    assert access.session_for_secret(session, secret, now=NOW + hour) is None
    # Opening a session later deletes the expired ones.
    later, _ = access.create_session(session, user="alice", lifetime=hour, now=NOW + 2 * hour)
    assert session.scalar(select(func.count()).select_from(LoginSessionRow)) == 1
    access.end_session(session, later)
    assert access.session_for_secret(session, later, now=NOW + 2 * hour) is None
    third, _ = access.create_session(session, user="alice", lifetime=hour, now=NOW)
    access.remove_user(session, "alice")
    assert access.session_for_secret(session, third, now=NOW) is None
    with pytest.raises(ValidationError):
        access.create_session(session, lifetime=hour, now=NOW)


def test_audit_entries_are_listed_newest_first_with_filters(session: Session) -> None:
    for minute, (actor, action, obj) in enumerate(
        [
            ("cli:root", "pool.create", "p"),
            ("token:ci", "range.create", "r1"),
            ("user:al%ce", "range.update", "r1"),
            ("user:bob", "rule.remove", "x"),
        ]
    ):
        audit.record(
            session,
            actor=actor,
            action=action,
            object=obj,
            before={"n": minute} if "create" not in action else None,
            after={"n": minute + 1},
            time=NOW + timedelta(minutes=minute),
        )

    def actions(**filters: object) -> list[str]:
        return [e.action for e in audit.list_audit(session, **filters)]  # type: ignore[arg-type]

    assert actions() == ["rule.remove", "range.update", "range.create", "pool.create"]
    assert actions(action="range") == ["range.update", "range.create"]
    assert actions(action="range.create") == ["range.create"]
    assert actions(actor="user:") == ["rule.remove", "range.update"]
    assert actions(actor="user:al%") == []  # a prefix is matched literally
    assert actions(actor="token:ci") == ["range.create"]
    assert actions(object="r1") == ["range.update", "range.create"]
    window = {"since": NOW + timedelta(minutes=1), "until": NOW + timedelta(minutes=3)}
    assert actions(**window) == ["range.update", "range.create"]
    assert actions(limit=1, offset=1) == ["range.update"]
    entry = audit.list_audit(session, action="range.update")[0]
    assert (entry.before, entry.after, entry.time) == (
        {"n": 2},
        {"n": 3},
        NOW + timedelta(minutes=2),
    )
