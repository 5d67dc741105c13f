"""Fixtures of the REST API tests: the app on an empty migrated database (SQLite and
PostgreSQL, from ``db_url``), without a running SIP server, and a client per role.

Clients talk to ``https://testserver``: the session cookie is Secure there, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from vacant.api.app import create_app
from vacant.api.deps import ApiSettings
from vacant.service.admin import Admin
from vacant.service.app import Application, ServeOptions
from vacant.store import access
from vacant.store.engine import session_scope

POOL = "pool1.example.com"
BASE = "https://testserver"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at N = 2^4 in these tests (the real cost is checked in tests/store)."""
    monkeypatch.setattr(access, "SCRYPT_LOG_N", 4)
    access._dummy_hash.cache_clear()


class Api:
    """The app on one database, with a client per role (``clients[role]``)."""

    def __init__(self, engine: Engine, settings: ApiSettings) -> None:
        self.engine = engine
        self.application = Application(engine, ServeOptions(), report=lambda _line: None)
        self.app: FastAPI = create_app(self.application, settings)
        self.secrets: dict[str, str] = {}
        self.clients: dict[str, TestClient] = {}
        for role in ("admin", "voice-admin", "view-only"):
            self.secrets[role] = self.token(f"{role}-token", role)
            self.clients[role] = self.client(self.secrets[role])
        self.anonymous = self.client()

    def token(self, name: str, role: str) -> str:
        with session_scope(self.engine) as s:
            return Admin(s, "cli:test").create_token(name, role).secret

    def user(self, name: str, role: str, password: str) -> None:
        with session_scope(self.engine) as s:
            Admin(s, "cli:test").create_user(name, role, password)

    def client(self, secret: str | None = None) -> TestClient:
        headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
        return TestClient(self.app, base_url=BASE, headers=headers)

    @property
    def admin(self) -> TestClient:
        return self.clients["admin"]


@pytest.fixture
def make_api(engine: Engine) -> Callable[..., Api]:
    def make(**settings: Any) -> Api:
        return Api(engine, ApiSettings(**settings))

    return make


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Iterator[Api]:
    made = make_api()
    yield made
    for client in [*made.clients.values(), made.anonymous]:
        client.close()
