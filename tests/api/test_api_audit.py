"""The audit log: every configuration change, from the API and from the CLI, with who, when,
what, before and after; none for a failed write or a dry run; never a secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import POOL, Api
from vacant.cli.main import main
from vacant.service.admin import cli_actor

V1 = "/api/v1"


def audit(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.clients["view-only"].get(f"{V1}/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def cli(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = main(["--db", db_url, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_api_writes_are_audited_with_before_and_after(api: Api) -> None:
    c = api.clients["voice-admin"]
    api.admin.post(f"{V1}/pools", json={"name": POOL})
    c.post(f"{V1}/numbers", json={"number": "+14255550001", "uri": "sip:a@example.com"})
    c.patch(f"{V1}/numbers/+14255550001", json={"owner": "Alice"})
    c.delete(f"{V1}/numbers/+14255550001")
    entries = audit(api, action="number")
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("token:voice-admin-token", "number.remove"),
        ("token:voice-admin-token", "number.update"),
        ("token:voice-admin-token", "number.create"),
    ]
    removed, updated, created = entries
    assert created["object"] == "+14255550001"
    assert (created["before"], created["after"]["uri"]) == (None, "sip:a@example.com")
    assert (updated["before"]["owner"], updated["after"]["owner"]) == ("", "Alice")
    assert (removed["before"]["owner"], removed["after"]) == ("Alice", None)
    assert audit(api, actor="token:admin-token")[0]["action"] == "pool.create"


def test_failed_writes_and_dry_runs_leave_no_entry(api: Api) -> None:
    api.admin.post(f"{V1}/pools", json={"name": POOL})
    before = len(audit(api))
    assert api.admin.post(f"{V1}/pools", json={"name": POOL}).status_code == 409
    assert api.admin.post(f"{V1}/pools", json={"name": "bad name"}).status_code == 422
    document = api.admin.get(f"{V1}/config").json()
    document["pools"] = []
    dry = api.admin.post(f"{V1}/config", json=document, params={"dry_run": "true"})
    assert dry.json()["changes"] == [f"- pool {POOL}"]
    assert len(audit(api)) == before
    api.admin.post(f"{V1}/config", json=document)
    entry = audit(api)[0]
    assert (entry["action"], entry["object"]) == ("config.import", "api")
    assert entry["after"] == {"count": 1, "changes": [f"- pool {POOL}"]}


def test_token_and_user_changes_are_audited_without_secrets(api: Api) -> None:
    secret = api.admin.post(f"{V1}/tokens", json={"name": "ci", "role": "view-only"}).json()
    api.admin.post(
        f"{V1}/users", json={"name": "alice", "role": "admin", "password": "correct-horse-9"}
    )
    api.admin.put(f"{V1}/users/alice/password", json={"password": "battery-staple-7"})
    text = api.admin.get(f"{V1}/audit").text
    for value in (secret["secret"], "correct-horse-9", "battery-staple-7", "$scrypt$"):
        assert value not in text
    listed = api.admin.get(f"{V1}/audit", params={"actor": "token:admin-token"}).json()
    assert [e["action"] for e in listed] == ["user.set-password", "user.create", "token.create"]
    # As the tokens and users themselves, their changes are the admin's to see.
    assert audit(api, actor="token:admin-token") == []


def test_cli_writes_are_audited_and_listed_by_vacant_audit_list(
    api: Api, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(db_url, capsys, "pool", "add", POOL)
    cli(db_url, capsys, "announcement", "add", "Busy", "--pool", POOL)
    cli(db_url, capsys, "range", "add", "R", "--pattern", r"\+1\d+", "--announcement", "Busy",
        "--pool", POOL)  # fmt: skip
    cli(db_url, capsys, "range", "set", "R", "--priority", "7")
    api.clients["voice-admin"].delete(f"{V1}/ranges/R")

    entries = json.loads(cli(db_url, capsys, "audit", "list", "--json", "--action", "range"))
    actor = cli_actor()
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("token:voice-admin-token", "range.remove"),
        (actor, "range.update"),
        (actor, "range.create"),
    ]
    assert (entries[1]["before"]["priority"], entries[1]["after"]["priority"]) == (0, 7)
    mine = json.loads(cli(db_url, capsys, "audit", "list", "--json", "--actor", actor))
    assert {e["action"] for e in mine} == {
        "pool.create",
        "announcement.create",
        "range.create",
        "range.update",
    }
    assert json.loads(cli(db_url, capsys, "audit", "list", "--json", "--actor", "user:")) == []
    everything = json.loads(cli(db_url, capsys, "audit", "list", "--json"))
    assert len(everything) == 8  # and the three tokens of the fixture
    assert json.loads(cli(db_url, capsys, "audit", "list", "--json", "--since", "5m")) == everything
    later = json.loads(cli(db_url, capsys, "audit", "list", "--json", "--since", "2999-01-01"))
    assert later == []
    table = cli(db_url, capsys, "audit", "list", "--limit", "1")
    assert "range.remove" in table
    assert "TIME (UTC)" in table
    assert [e["action"] for e in audit(api, object="R", limit=1, offset=1)] == ["range.update"]
