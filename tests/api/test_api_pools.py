"""``/api/v1/pools``: automatic-failover settings, pool status with instances, failover and
failback (the same objects and rules as the CLI, docs/pools.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import Api
from vacant.store import instances
from vacant.store.engine import session_scope
from vacant.store.instances import Instance

V1 = "/api/v1"
A, B = "a.example.com", "b.example.com"


def _pools(api: Api) -> None:
    admin = api.clients["admin"]
    assert admin.post(f"{V1}/pools", json={"name": B}).status_code == 201
    made = admin.post(
        f"{V1}/pools", json={"name": A, "backup": B, "auto_failover": True, "down_after": 5}
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "name": A,
        "backup": B,
        "description": "",
        "auto_failover": True,
        "down_after": 5.0,
        "failback_after": 30.0,
    }


def test_pool_automatic_failover_is_set_and_validated(api: Api) -> None:
    _pools(api)
    admin = api.clients["admin"]
    changed = admin.patch(f"{V1}/pools/{A}", json={"failback_after": 60})
    assert changed.json()["failback_after"] == 60.0
    assert changed.json()["auto_failover"] is True  # untouched
    refused = admin.patch(f"{V1}/pools/{A}", json={"down_after": 0.5})
    assert refused.status_code == 422
    assert refused.json()["field"] == "down-after"
    refused = admin.patch(f"{V1}/pools/{A}", json={"backup": None})
    assert refused.json()["field"] == "auto-failover"


def test_pool_status_lists_instances_with_their_health(api: Api) -> None:
    _pools(api)
    now = datetime.now(UTC)
    with session_scope(api.engine) as s:
        instances.register(
            s,
            Instance("i-1", A, "host1", "udp:127.0.0.1:5060", "127.0.0.1:8080", "1", now, now, now),
        )
    listed = api.clients["view-only"].get(f"{V1}/pool-status")
    assert listed.status_code == 200
    by_name = {p["name"]: p for p in listed.json()}
    [instance] = by_name[A]["instances"]
    assert (instance["id"], instance["health"], instance["sip"]) == (
        "i-1",
        "healthy",
        "udp:127.0.0.1:5060",
    )
    assert (by_name[A]["state"], by_name[A]["served_by"]) == ("up", A)
    one = api.clients["view-only"].get(f"{V1}/pools/{B}/status").json()
    assert (one["name"], one["instances"], one["covering"]) == (B, [], [])


def test_failover_and_failback_through_the_api_are_admin_only_and_audited(api: Api) -> None:
    _pools(api)
    admin = api.clients["admin"]
    made = admin.post(f"{V1}/announcements", json={"pool": A, "name": "Closed"})
    assert made.status_code == 201, made.text
    ranged = admin.post(
        f"{V1}/ranges",
        json={"name": "R", "start": "+1425", "end": "+1425",
              "announcement": {"pool": A, "name": "Closed"}},
    )  # fmt: skip
    assert ranged.status_code == 201, ranged.text
    assert api.clients["voice-admin"].post(f"{V1}/pools/{A}/failover").status_code == 403
    plan = admin.post(f"{V1}/pools/{A}/failover", params={"dry_run": "true"}).json()
    assert (plan["dry_run"], plan["changes"]) == (True, 2)
    assert [s["action"] for s in plan["steps"]] == ["create announcement", "re-point range"]
    assert admin.post(f"{V1}/pools/{A}/failover").json()["changes"] == 2
    assert admin.post(f"{V1}/pools/{A}/failover").json()["changes"] == 0
    back = admin.post(f"{V1}/pools/{A}/failback", params={"cleanup": "true"}).json()
    assert [s["action"] for s in back["steps"]] == ["re-point range", "remove announcement"]
    actions = [e["action"] for e in admin.get(f"{V1}/audit").json()]
    assert "pool.failover" in actions
    assert "pool.failback" in actions
