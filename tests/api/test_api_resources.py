"""Every resource of the REST API, created, read, updated, listed and deleted, with the CLI's
validation and messages (one implementation): 422 names the field and the rule, 404, 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import POOL, Api
from vacant.cli.main import main
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

V1 = "/api/v1"


def cli_error(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What the CLI prints after ``error:`` for a command that fails validation (exit 2)."""
    capsys.readouterr()
    assert main(["--db", db_url, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    return err.removeprefix("error: ").rstrip("\n")


def ok(response: Any, status: int = 200) -> Any:
    """The JSON of a response that has ``status``."""
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


@pytest.fixture
def demo(api: Api) -> dict[str, str]:
    """A pool, two announcements and two overlapping ranges (as the CLI tests' demo)."""
    c = api.admin
    ok(c.post(f"{V1}/pools", json={"name": POOL}), 201)
    changed = ok(
        c.post(
            f"{V1}/announcements",
            json={
                "pool": POOL,
                "name": "Changed",
                "tts_text": "Number changed.",
                "language": "en-US",
                "target": "sip:+14255550100@example.com;user=phone",
            },
        ),
        201,
    )
    busy = ok(c.post(f"{V1}/announcements", json={"pool": POOL, "name": "Busy"}), 201)
    ok(
        c.post(
            f"{V1}/ranges",
            json={
                "name": "Redmond",
                "start": "+14255551000",
                "end": "+14255551999",
                "announcement": {"pool": POOL, "name": "Changed"},
            },
        ),
        201,
    )
    ok(
        c.post(
            f"{V1}/ranges",
            json={
                "name": "Desk/2",
                "start": "+14255551200",
                "end": "+14255551299",
                "auto_attendant": "+14255550199",
            },
        ),
        201,
    )
    return {"changed": changed["id"], "busy": busy["id"]}


def test_pools_crud_and_errors_match_the_cli(
    api: Api, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    c = api.admin
    created = ok(c.post(f"{V1}/pools", json={"name": POOL, "description": "main"}), 201)
    failover = {"auto_failover": False, "down_after": 10.0, "failback_after": 30.0}
    assert created == {"name": POOL, "backup": None, "description": "main", **failover}
    ok(c.post(f"{V1}/pools", json={"name": "backup.example.com"}), 201)
    updated = ok(c.patch(f"{V1}/pools/{POOL}", json={"backup": "backup.example.com"}))
    assert updated == {
        "name": POOL,
        "backup": "backup.example.com",
        "description": "main",
        **failover,
    }
    assert ok(c.patch(f"{V1}/pools/{POOL}", json={"backup": None}))["backup"] is None
    assert [p["name"] for p in ok(c.get(f"{V1}/pools"))] == ["backup.example.com", POOL]
    assert ok(c.get(f"{V1}/pools/{POOL}"))["description"] == "main"

    bad = c.post(f"{V1}/pools", json={"name": "not a pool!"})
    assert bad.status_code == 422
    expected = cli_error(db_url, capsys, "pool", "add", "not a pool!")
    assert bad.json() == {"detail": expected, "field": "name", "rule": expected.split(": ", 1)[1]}

    duplicate = c.post(f"{V1}/pools", json={"name": POOL})
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == cli_error(db_url, capsys, "pool", "add", POOL)

    ok(c.delete(f"{V1}/pools/{POOL}"), 204)
    missing = c.get(f"{V1}/pools/{POOL}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == cli_error(db_url, capsys, "pool", "show", POOL)


def test_schema_errors_are_422_with_field_and_rule(api: Api) -> None:
    wrong_type = api.admin.post(f"{V1}/pools", json={"name": 5})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["field"] == "name"
    unknown = api.admin.post(f"{V1}/pools", json={"name": POOL, "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "colour"
    broken = api.admin.post(
        f"{V1}/pools", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422


def test_announcements_crud_by_id(api: Api, demo: dict[str, str]) -> None:
    c = api.admin
    ann = ok(c.get(f"{V1}/announcements/{demo['changed']}"))
    assert ann["name"] == "Changed"
    assert ann["language"] == "en-US"
    found = ok(c.get(f"{V1}/announcements", params={"pool": POOL, "name": "Busy"}))
    assert [a["id"] for a in found] == [demo["busy"]]

    # Clearing the prompt clears its language, as `announcement set --no-tts`.
    cleared = ok(c.patch(f"{V1}/announcements/{demo['changed']}", json={"tts_text": None}))
    assert (cleared["tts_text"], cleared["language"]) == (None, None)
    renamed = ok(c.patch(f"{V1}/announcements/{demo['changed']}", json={"name": "Moved"}))
    assert renamed["name"] == "Moved"

    needs_language = c.post(
        f"{V1}/announcements", json={"pool": POOL, "name": "X", "tts_text": "hi"}
    )
    assert needs_language.status_code == 422
    assert needs_language.json()["field"] == "language"
    bad_id = c.get(f"{V1}/announcements/not-a-uuid")
    assert (bad_id.status_code, bad_id.json()["field"]) == (422, "id")

    in_use = c.delete(f"{V1}/announcements/{demo['changed']}")
    assert in_use.status_code == 409
    assert "Redmond" in in_use.json()["detail"]
    removed = ok(c.delete(f"{V1}/announcements/{demo['changed']}", params={"force": "true"}))
    assert removed == {"dangling_ranges": ["Redmond"]}
    assert ok(c.get(f"{V1}/route", params={"number": "+14255551500"}))["decision"] == "busy"
    assert c.get(f"{V1}/announcements/{demo['changed']}").status_code == 404


def test_announcement_prompt_as_wav_is_the_rendered_prompt_or_404(
    api: Api, demo: dict[str, str]
) -> None:
    """More in test_api_prompts.py."""
    spoken = api.admin.get(f"{V1}/announcements/{demo['changed']}/prompt.wav")
    assert spoken.status_code == 200
    assert spoken.headers["content-type"] == "audio/wav"
    assert spoken.content[:4] == b"RIFF"
    none = api.admin.get(f"{V1}/announcements/{demo['busy']}/prompt.wav")
    assert none.status_code == 404
    assert "has no prompt" in none.json()["detail"]


def test_ranges_crud_move_and_names_with_a_slash(
    api: Api, demo: dict[str, str], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    c = api.admin
    assert [r["name"] for r in ok(c.get(f"{V1}/ranges"))] == ["Redmond", "Desk/2"]
    desk = ok(c.get(f"{V1}/ranges/Desk/2"))
    assert desk["auto_attendant"] == "tel:+14255550199"
    assert ok(c.post(f"{V1}/ranges/Desk/2/move", json={"up": True})) == ["Desk/2", "Redmond"]
    route = ok(c.get(f"{V1}/route", params={"number": "+14255551234"}))
    assert route["decision"] == "auto-attendant"
    assert route["range"] == "Desk/2"

    switched = ok(c.patch(f"{V1}/ranges/Desk/2", json={"pattern": r"\+1425555120\d"}))
    assert (switched["pattern"], switched["start"]) == (r"\+1425555120\d", None)
    assert [r["name"] for r in ok(c.get(f"{V1}/ranges", params={"filter": "des"}))] == ["Desk/2"]
    assert len(ok(c.get(f"{V1}/ranges", params={"limit": 1, "offset": 1}))) == 1

    body = {"name": "Bad", "start": "+1426", "end": "+1425", "auto_attendant": "+14255550199"}
    bad = c.post(f"{V1}/ranges", json=body)
    assert bad.status_code == 422
    assert bad.json()["field"] == "end"
    assert bad.json()["detail"] == cli_error(
        db_url, capsys, "range", "add", "Bad", "--start", "+1426", "--end", "+1425",
        "--auto-attendant", "+14255550199",
    )  # fmt: skip
    moved = c.post(f"{V1}/ranges/Redmond/move", json={"up": True, "down": True})
    assert (moved.status_code, moved.json()["field"]) == (422, "move")

    ok(c.delete(f"{V1}/ranges/Desk/2"), 204)
    assert c.get(f"{V1}/ranges/Desk/2").status_code == 404


def test_numbers_crud_paging_and_route(
    api: Api, demo: dict[str, str], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    c = api.admin
    created = ok(
        c.post(f"{V1}/numbers", json={"number": "+14255551500", "uri": "sip:alice@example.com"}),
        201,
    )
    assert created == {"number": "tel:+14255551500", "uri": "sip:alice@example.com", "owner": ""}
    ok(c.post(f"{V1}/numbers", json={"number": "+14255551501", "uri": "sip:bob@example.com"}), 201)
    assert ok(c.patch(f"{V1}/numbers/+14255551500", json={"owner": "Alice"}))["owner"] == "Alice"
    assert ok(c.get(f"{V1}/numbers/tel:+14255551500"))["owner"] == "Alice"
    page = ok(c.get(f"{V1}/numbers", params={"limit": 1, "offset": 1}))
    assert [n["number"] for n in page] == ["tel:+14255551501"]
    route = ok(c.get(f"{V1}/route", params={"number": "sip:+14255551500@10.0.0.1;user=phone"}))
    assert route["decision"] == "assigned"
    assert route["target"] == "sip:alice@example.com"

    bad_uri = c.post(f"{V1}/numbers", json={"number": "+14255551502", "uri": "nonsense"})
    assert bad_uri.status_code == 422
    assert bad_uri.json()["detail"] == cli_error(
        db_url, capsys, "number", "add", "+14255551502", "--uri", "nonsense"
    )
    again = c.post(f"{V1}/numbers", json={"number": "+14255551500", "uri": "sip:x@example.com"})
    assert again.status_code == 409
    ok(c.delete(f"{V1}/numbers/+14255551500"), 204)
    gone = c.delete(f"{V1}/numbers/+14255551500")
    assert gone.status_code == 404
    assert gone.json()["detail"] == cli_error(db_url, capsys, "number", "remove", "+14255551500")


def test_route_of_no_number_is_422_naming_the_number(api: Api, demo: dict[str, str]) -> None:
    response = api.admin.get(f"{V1}/route", params={"number": "sip:alice@example.com"})
    assert (response.status_code, response.json()["field"]) == (422, "number")
    assert api.admin.get(f"{V1}/route").status_code == 422


def test_rules_crud(api: Api, demo: dict[str, str]) -> None:
    c = api.admin
    body = {"name": "four", "pattern": r"(\d{4})", "translation": "+1425555$1"}
    ok(c.post(f"{V1}/rules", json=body), 201)
    ok(c.post(f"{V1}/rules", json={**body, "name": "first", "position": 1}), 201)
    assert [r["name"] for r in ok(c.get(f"{V1}/rules"))] == ["first", "four"]
    assert ok(c.get(f"{V1}/route", params={"number": "1500"}))["normalised"] == "+14255551500"
    bad = c.patch(f"{V1}/rules/four", json={"translation": "+1$2"})
    assert (bad.status_code, bad.json()["field"]) == (422, "translation")
    changed = ok(c.patch(f"{V1}/rules/four", json={"description": "four digits"}))
    assert changed["description"] == "four digits"
    ok(c.delete(f"{V1}/rules/first"), 204)
    assert ok(c.get(f"{V1}/rules/four"))["position"] == 1


def test_config_export_and_import_json_and_yaml(api: Api, demo: dict[str, str]) -> None:
    c = api.admin
    document = ok(c.get(f"{V1}/config"))
    assert [r["name"] for r in document["ranges"]] == ["Redmond", "Desk/2"]
    yaml_text = c.get(f"{V1}/config", params={"format": "yaml"})
    assert yaml_text.headers["content-type"].startswith("application/yaml")
    assert "Redmond" in yaml_text.text

    document["ranges"] = [r for r in document["ranges"] if r["name"] == "Redmond"]
    dry = ok(c.post(f"{V1}/config", json=document, params={"dry_run": "true"}))
    assert dry == {"changes": ["- range Desk/2"], "applied": False}
    assert len(ok(c.get(f"{V1}/ranges"))) == 2
    applied = ok(
        c.post(
            f"{V1}/config",
            content=yaml_text.text.encode(),
            headers={"Content-Type": "application/yaml"},
        )
    )
    assert applied == {"changes": [], "applied": True}
    ok(c.post(f"{V1}/config", json=document))
    assert [r["name"] for r in ok(c.get(f"{V1}/ranges"))] == ["Redmond"]
    broken = c.post(f"{V1}/config", json={"ranges": [{"name": "r", "start": "abc"}]})
    assert broken.status_code == 422
    assert "nothing imported" in broken.json()["detail"]
    not_yaml = c.post(
        f"{V1}/config", content=b": : :", headers={"Content-Type": "application/yaml"}
    )
    assert (not_yaml.status_code, not_yaml.json()["field"]) == (422, "config")


def test_calls_query_with_filters_and_paging(api: Api) -> None:
    start = datetime(2026, 11, 26, 9, tzinfo=UTC)
    records = [
        CallRecord(started=start + timedelta(minutes=i), call_id=f"c{i}", caller="sip:a@x",
                   dialled=f"+1425555100{i}", normalised=f"+1425555100{i}",
                   decision="not-found" if i % 2 else "busy", range_name=None, status=404,
                   duration=0.01, pool="default")
        for i in range(5)
    ]  # fmt: skip
    with session_scope(api.engine) as s:
        add_calls(s, records)
    c = api.clients["view-only"]
    everything = ok(c.get(f"{V1}/calls"))
    assert [r["call_id"] for r in everything] == ["c4", "c3", "c2", "c1", "c0"]
    page = ok(c.get(f"{V1}/calls", params={"limit": 2, "offset": 1}))
    assert [r["call_id"] for r in page] == ["c3", "c2"]
    window = ok(
        c.get(
            f"{V1}/calls",
            params={
                "since": "2026-11-26T09:01:00+00:00",
                "until": "2026-11-26T09:04:00Z",
                "decision": "not-found",
            },
        )
    )
    assert [r["call_id"] for r in window] == ["c3", "c1"]
    one = ok(c.get(f"{V1}/calls", params={"number": "+14255551002"}))
    assert [r["call_id"] for r in one] == ["c2"]
    bad = c.get(f"{V1}/calls", params={"since": "soon"})
    assert (bad.status_code, bad.json()["field"]) == (422, "since")


def test_openapi_document_is_served_under_api_v1(api: Api) -> None:
    document = ok(api.clients["view-only"].get(f"{V1}/openapi.json"))
    paths = document["paths"]
    for path in ("/api/v1/pools", "/api/v1/ranges/{name}/move", "/api/v1/numbers/import"):
        assert path in paths
    assert "HTTPBearer" in document["components"]["securitySchemes"]


def test_healthz_is_503_until_the_sip_listeners_are_open(api: Api) -> None:
    response = api.anonymous.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_need_a_token(api: Api) -> None:
    assert api.anonymous.get("/metrics").status_code == 401
    scraped = api.clients["view-only"].get("/metrics")
    assert scraped.status_code == 200
    assert "vacant_config_version" in scraped.text
