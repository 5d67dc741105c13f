"""The console's Pools page: instances and their health, and who answers a pool's ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import POOL, Api
from tests.console.conftest import Browser
from vacant.store import instances
from vacant.store.engine import session_scope
from vacant.store.instances import Instance


def test_pools_page_shows_each_instance_and_its_health(setup: Api, admin: Browser) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(minutes=5)
    with session_scope(setup.engine) as s:
        for id, when in (("aaaaaaaa-live", now), ("bbbbbbbb-gone", old)):
            instances.register(
                s,
                Instance(
                    id, POOL, "host1", "udp:10.0.0.1:5060", "10.0.0.1:8080", "9.9", when, when, when
                ),
            )
    page = admin.get("/pools")
    assert '<td class="health-healthy">healthy</td>' in page
    assert '<td class="health-silent">silent</td>' in page
    assert "udp:10.0.0.1:5060" in page
    assert "1 of 2" in page  # healthy instances of the pool
