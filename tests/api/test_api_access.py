"""Access control of the HTTP side: every route refuses anonymous requests but /healthz and
logging in; every write refuses view-only; tokens, users, pools and configuration imports are
the admin's; cookie sessions, CSRF tokens, failed-login limits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.api.conftest import BASE, Api
from vacant.api.app import PUBLIC_ROUTES

V1 = "/api/v1"
PASSWORD = "tr0ub4dor&3-horse"
#: Writes that any logged-in role may make: logging out.
SELF_SERVICE = {("DELETE", f"{V1}/session"), ("POST", "/logout")}
#: Reads and writes only an admin may make.
ADMIN_ONLY = re.compile(rf"^{V1}/(tokens|users)(/|$)")
ADMIN_WRITES = re.compile(rf"^{V1}/(pools|config)(/|$)")


def every_route(api: Api) -> Iterator[tuple[str, str, str]]:
    """(method, route path, a concrete URL) for every route of the app."""
    for route in iter_route_contexts(api.app.routes):
        assert isinstance(route.original_route, APIRoute), f"{route!r} is not an API route"
        assert route.path is not None
        assert route.methods
        url = re.sub(r"\{(\w+)(:path)?\}", lambda m: f"x-{m.group(1)}", route.path)
        for method in sorted(route.methods):
            yield method, route.path, url


def call(client: TestClient, method: str, url: str) -> int:
    return client.request(method, url, follow_redirects=False).status_code


def test_every_route_refuses_anonymous_requests_but_healthz_and_login(api: Api) -> None:
    """The API answers 401; the web console's pages send the browser to its login page."""
    public = set()
    for method, path, url in every_route(api):
        response = api.anonymous.request(method, url, follow_redirects=False)
        to_login = response.status_code == 303 and response.headers["location"] == "/login"
        if response.status_code != 401 and not to_login:
            public.add((method, path))
    assert public == PUBLIC_ROUTES
    assert {
        ("GET", "/healthz"),
        ("POST", f"{V1}/session"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/static/{name}"),  # the console's style sheet
    } == PUBLIC_ROUTES


def test_every_write_refuses_view_only(api: Api) -> None:
    routes = list(every_route(api))
    assert len(routes) > 40
    for method, path, url in routes:
        if method == "GET" or (method, path) in PUBLIC_ROUTES | SELF_SERVICE:
            continue
        assert call(api.clients["view-only"], method, url) == 403, (method, path)


def test_view_only_reads_everything_but_tokens_and_users(api: Api) -> None:
    for method, path, url in every_route(api):
        if method != "GET":
            continue
        status = call(api.clients["view-only"], method, url)
        assert (status == 403) == bool(ADMIN_ONLY.match(path)), (path, status)


def test_voice_admin_cannot_manage_tokens_users_pools_or_import_configuration(api: Api) -> None:
    for method, path, url in every_route(api):
        if (method, path) in PUBLIC_ROUTES | SELF_SERVICE:
            continue
        status = call(api.clients["voice-admin"], method, url)
        admin_only = bool(ADMIN_ONLY.match(path)) or (
            method != "GET" and bool(ADMIN_WRITES.match(path))
        )
        assert (status == 403) == admin_only, (method, path, status)
        assert status != 401


def test_admin_is_refused_nothing(api: Api) -> None:
    for method, path, url in every_route(api):
        assert call(api.admin, method, url) not in (401, 403), (method, path)


def test_bad_or_revoked_tokens_are_401(api: Api) -> None:
    assert api.client("vacant_" + "A" * 43).get(f"{V1}/pools").status_code == 401
    basic = api.anonymous.get(f"{V1}/pools", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert basic.headers["www-authenticate"] == "Bearer"
    secret = api.token("ci", "voice-admin")
    client = api.client(secret)
    assert client.get(f"{V1}/pools").status_code == 200
    assert api.admin.delete(f"{V1}/tokens/ci").json()["revoked"] is not None
    assert client.get(f"{V1}/pools").status_code == 401


def test_tokens_are_created_once_listed_by_prefix_and_revoked(api: Api) -> None:
    created = api.admin.post(f"{V1}/tokens", json={"name": "deploy", "role": "view-only"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("vacant_")
    assert secret.startswith(created.json()["prefix"])
    listed = {t["name"]: t for t in api.admin.get(f"{V1}/tokens").json()}
    assert "secret" not in listed["deploy"]
    assert secret not in api.admin.get(f"{V1}/tokens").text
    assert api.client(secret).get(f"{V1}/ranges").status_code == 200
    assert api.admin.get(f"{V1}/tokens/deploy").json()["last_used"] is not None
    again = api.admin.post(f"{V1}/tokens", json={"name": "deploy", "role": "admin"})
    assert again.status_code == 409
    bad_role = api.admin.post(f"{V1}/tokens", json={"name": "x", "role": "root"})
    assert (bad_role.status_code, bad_role.json()["field"]) == (422, "role")


def login(client: TestClient, name: str, password: str) -> str:
    response = client.post(f"{V1}/session", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """A cookie-holding client with no token: as the console's browser."""
    api.user("alice", "voice-admin", PASSWORD)
    with TestClient(api.app, base_url=BASE) as client:
        yield client


def test_login_sets_a_secure_httponly_samesite_strict_host_cookie(
    api: Api, browser: TestClient
) -> None:
    response = browser.post(f"{V1}/session", json={"name": "alice", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-vacant_session=vacant_")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    assert response.headers["cache-control"] == "no-store"
    who = browser.get(f"{V1}/session").json()
    assert (who["actor"], who["role"]) == ("user:alice", "voice-admin")
    assert who["csrf_token"] == response.json()["csrf_token"]


def test_on_plain_http_loopback_the_cookie_is_not_secure(api: Api) -> None:
    api.user("bob", "view-only", PASSWORD)
    with TestClient(api.app, base_url="http://127.0.0.1:8080") as client:
        response = client.post(f"{V1}/session", json={"name": "bob", "password": PASSWORD})
        assert response.headers["set-cookie"].startswith("vacant_session=")
        assert "Secure" not in response.headers["set-cookie"]
        assert client.get(f"{V1}/session").status_code == 200


def test_a_cookie_write_without_the_csrf_token_is_refused(api: Api, browser: TestClient) -> None:
    csrf = login(browser, "alice", PASSWORD)
    body = {"name": "+14255550001", "uri": "sip:a@example.com"}
    # A forged cross-site POST carries the cookie, not the header.
    forged = browser.post(f"{V1}/numbers", json={"number": body["name"], "uri": body["uri"]})
    assert forged.status_code == 403
    assert "X-CSRF-Token" in forged.json()["detail"]
    wrong = browser.post(
        f"{V1}/numbers",
        json={"number": body["name"], "uri": body["uri"]},
        headers={"X-CSRF-Token": "A" * 43},
    )
    assert wrong.status_code == 403
    assert api.admin.get(f"{V1}/numbers").json() == []
    right = browser.post(
        f"{V1}/numbers",
        json={"number": body["name"], "uri": body["uri"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert right.status_code == 201
    entry = api.admin.get(f"{V1}/audit", params={"action": "number"}).json()[0]
    assert entry["actor"] == "user:alice"


def test_logout_password_change_and_removal_end_sessions(api: Api, browser: TestClient) -> None:
    csrf = login(browser, "alice", PASSWORD)
    assert browser.delete(f"{V1}/session").status_code == 403  # CSRF applies to logging out too
    assert browser.delete(f"{V1}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get(f"{V1}/session").status_code == 401

    login(browser, "alice", PASSWORD)
    changed = api.admin.put(f"{V1}/users/alice/password", json={"password": PASSWORD + "!"})
    assert changed.status_code == 204
    assert browser.get(f"{V1}/session").status_code == 401
    assert (
        browser.post(f"{V1}/session", json={"name": "alice", "password": PASSWORD}).status_code
        == 401
    )

    login(browser, "alice", PASSWORD + "!")
    assert api.admin.patch(f"{V1}/users/alice", json={"role": "view-only"}).status_code == 200
    assert browser.get(f"{V1}/session").json()["role"] == "view-only"
    assert api.admin.delete(f"{V1}/users/alice").status_code == 204
    assert browser.get(f"{V1}/session").status_code == 401


def test_login_with_a_token_opens_a_session_that_revoking_ends(api: Api) -> None:
    secret = api.token("console", "view-only")
    with TestClient(api.app, base_url=BASE) as client:
        response = client.post(f"{V1}/session", json={"token": secret})
        assert response.json()["actor"] == "token:console"
        assert client.get(f"{V1}/ranges").status_code == 200
        api.admin.delete(f"{V1}/tokens/console")
        assert client.get(f"{V1}/ranges").status_code == 401


def test_sessions_expire(make_api: Callable[..., Api]) -> None:
    api = make_api(session_lifetime=timedelta(seconds=-1))
    api.user("carol", "admin", PASSWORD)
    with TestClient(api.app, base_url=BASE) as client:
        client.post(f"{V1}/session", json={"name": "carol", "password": PASSWORD})
        assert client.get(f"{V1}/session").status_code == 401


def test_users_are_managed_by_admins_with_password_rules(api: Api) -> None:
    weak = api.admin.post(f"{V1}/users", json={"name": "dave", "role": "admin", "password": "x"})
    assert (weak.status_code, weak.json()["field"]) == (422, "password")
    same = api.admin.post(
        f"{V1}/users", json={"name": "dave", "role": "admin", "password": "dave-dave-dave-1"}
    )
    assert (same.status_code, same.json()["field"]) == (422, "password")
    made = api.admin.post(
        f"{V1}/users", json={"name": "dave", "role": "admin", "password": PASSWORD}
    )
    assert made.status_code == 201
    assert "password" not in made.json()
    assert [u["name"] for u in api.admin.get(f"{V1}/users").json()] == ["dave"]
    bad_name = api.admin.post(
        f"{V1}/users", json={"name": "d ave", "role": "admin", "password": PASSWORD}
    )
    assert (bad_name.status_code, bad_name.json()["field"]) == (422, "name")


def test_failed_logins_are_limited_per_user_and_per_source(make_api: Callable[..., Api]) -> None:
    api = make_api(login_failures_per_name=3, login_failures_per_source=5)
    api.user("erin", "admin", PASSWORD)
    api.user("frank", "admin", PASSWORD)
    with TestClient(api.app, base_url=BASE) as client:

        def attempt(name: str, password: str) -> int:
            body = {"name": name, "password": password}
            return client.post(f"{V1}/session", json=body).status_code

        assert [attempt("erin", "wrong") for _ in range(3)] == [401, 401, 401]
        limited = client.post(f"{V1}/session", json={"name": "erin", "password": PASSWORD})
        assert limited.status_code == 429  # even with the right password now
        assert int(limited.headers["retry-after"]) > 0
        assert attempt("frank", PASSWORD) == 200  # another user from the same address
        assert [attempt("nobody", "wrong") for _ in range(2)] == [401, 401]
        # Five failures from this address: every name is refused now.
        assert attempt("frank", PASSWORD) == 429
        assert attempt("someone", "x") == 429
