"""``vacant token`` and ``vacant user``: secrets shown once and stored hashed, roles, password
rules, prompts (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json

import click
import pytest
from sqlalchemy import select

from tests.integration.test_cli import Run
from vacant.store import access
from vacant.store.engine import make_engine, session_scope
from vacant.store.models import ApiTokenRow, UserRow

PASSWORD = "tr0ub4dor&3-horse"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "SCRYPT_LOG_N", 4)


@pytest.fixture
def run(db_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    runner = Run(db_url, capsys)
    runner("db", "upgrade")
    return runner


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    feed = io.StringIO()
    monkeypatch.setattr("sys.stdin", feed)
    return feed


def rows(db_url: str) -> tuple[list[ApiTokenRow], list[UserRow]]:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return list(s.scalars(select(ApiTokenRow))), list(s.scalars(select(UserRow)))
    finally:
        engine.dispose()


def test_token_create_prints_the_secret_once_and_stores_its_hash(run: Run) -> None:
    text = run("token", "create", "--name", "ci", "--role", "voice-admin")
    secret = next(line for line in text.splitlines() if line.startswith("vacant_"))
    assert "not shown again" in text
    created = run.json("token", "create", "--name", "deploy", "--role", "view-only")
    assert created["secret"].startswith(created["prefix"])  # type: ignore[index]
    listed = run("token", "list")
    assert "ci" in listed
    assert "deploy" in listed
    assert secret not in listed
    assert "secret" not in run.json("token", "list")[0]  # type: ignore[index]
    tokens, _ = rows(run.db_url)
    assert {t.secret_sha256 for t in tokens} == {
        access.secret_digest(secret),
        access.secret_digest(created["secret"]),  # type: ignore[index]
    }
    assert all(secret not in (t.prefix, t.secret_sha256) for t in tokens)


def test_token_names_roles_and_revocation(run: Run) -> None:
    run("token", "create", "--name", "ci", "--role", "root", code=2)
    run("token", "create", "--name", "bad name", "--role", "admin", code=2)
    assert run.err.startswith("error: name:")
    run("token", "create", "--name", "ci", "--role", "admin")
    run("token", "create", "--name", "ci", "--role", "admin", code=2)
    assert "already exists" in run.err
    run("token", "revoke", "ci")
    assert run.json("token", "list")[0]["revoked"] is not None  # type: ignore[index]
    run("token", "revoke", "ci", code=2)
    assert "already revoked" in run.err
    run("token", "revoke", "nope", code=2)


def test_user_create_from_stdin_refuses_weak_passwords(run: Run, stdin: io.StringIO) -> None:
    stdin.write("short\n")
    stdin.seek(0)
    run("user", "create", "alice", "--role", "admin", "--password-stdin", code=2)
    assert run.err.startswith("error: password:")
    stdin.seek(0)
    stdin.truncate()
    stdin.write(PASSWORD + "\n")
    stdin.seek(0)
    created = run.json("user", "create", "alice", "--role", "voice-admin", "--password-stdin")
    assert (created["name"], created["role"]) == ("alice", "voice-admin")  # type: ignore[index]
    _, users = rows(run.db_url)
    assert users[0].password_hash.startswith("$scrypt$ln=4,r=8,p=1$")
    assert PASSWORD not in users[0].password_hash
    assert [u["name"] for u in run.json("user", "list")] == ["alice"]  # type: ignore[index]
    run("user", "set-role", "alice", "--role", "view-only")
    assert run.json("user", "list")[0]["role"] == "view-only"  # type: ignore[index]
    run("user", "remove", "alice")
    run("user", "remove", "alice", code=2)


def test_user_passwords_are_asked_twice_when_not_on_stdin(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD])
    monkeypatch.setattr(click.termui, "visible_prompt_func", lambda _prompt: next(answers))
    monkeypatch.setattr(click.termui, "hidden_prompt_func", lambda _prompt: next(answers))
    run("user", "create", "bob", "--role", "admin")
    assert "do not match" in (run.out + run.err).lower()
    assert [u["name"] for u in run.json("user", "list")] == ["bob"]  # type: ignore[index]
    _, users = rows(run.db_url)
    before = users[0].password_hash
    answers = iter([PASSWORD + "!", PASSWORD + "!"])
    run("user", "set-password", "bob")
    _, users = rows(run.db_url)
    assert users[0].password_hash != before
    run("user", "set-password", "nobody", code=2)
    assert "does not exist" in run.err


def test_account_commands_are_audited(run: Run, stdin: io.StringIO) -> None:
    run("token", "create", "--name", "ci", "--role", "admin")
    stdin.write(PASSWORD + "\n")
    stdin.seek(0)
    run("user", "create", "carol", "--role", "admin", "--password-stdin")
    run("token", "revoke", "ci")
    entries = run.json("audit", "list")
    assert [e["action"] for e in entries] == ["token.revoke", "user.create", "token.create"]  # type: ignore[index]
    assert all(e["actor"].startswith("cli:") for e in entries)  # type: ignore[index]
    assert PASSWORD not in json.dumps(entries)
