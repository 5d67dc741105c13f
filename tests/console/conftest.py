"""Fixtures of the console tests: the API test app (tests/api/conftest.py), a pool and an
announcement, and cookie-holding browsers logged in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import BASE, POOL, Api, api, cheap_scrypt, make_api

__all__ = ["api", "cheap_scrypt", "make_api"]

PASSWORD = "tr0ub4dor&3-horse"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Browser:
    """A client holding the session cookie, as a browser; ``csrf`` from the last page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, url: str, **params: str) -> str:
        response = self.client.get(url, params=params)
        assert response.status_code == 200, (url, response.status_code)
        if 'name="csrf" value="' in response.text:
            self.csrf = csrf_of(response.text)
        return response.text

    def post(self, url: str, status: int = 303, **form: str) -> str:
        response = self.client.post(url, data={"csrf": self.csrf, **form}, follow_redirects=False)
        assert response.status_code == status, (url, response.status_code, response.text[:500])
        return response.text


def log_in(api: Api, name: str, role: str) -> Browser:
    api.user(name, role, PASSWORD)
    client = TestClient(api.app, base_url=BASE)
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    browser = Browser(client)
    browser.get("/ranges")
    return browser


@pytest.fixture
def setup(api: Api) -> Api:
    assert api.admin.post("/api/v1/pools", json={"name": POOL}).status_code == 201
    made = api.admin.post(
        "/api/v1/announcements",
        json={
            "pool": POOL,
            "name": "closed",
            "tts_text": "This number is not in service.",
            "language": "en-US",
        },
    )
    assert made.status_code == 201, made.text
    return api


@pytest.fixture
def admin(setup: Api) -> Iterator[Browser]:
    browser = log_in(setup, "alice", "voice-admin")
    yield browser
    browser.client.close()


@pytest.fixture
def viewer(setup: Api) -> Iterator[Browser]:
    browser = log_in(setup, "victor", "view-only")
    yield browser
    browser.client.close()
