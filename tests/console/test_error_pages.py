"""A refused or failed console request answers an HTML page in the console's layout saying
what was refused and why; the REST API keeps answering JSON (vacant.api.errors, one place)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.testclient import TestClient

from tests.api.conftest import BASE, Api
from tests.console.conftest import Browser


def is_html(headers: Mapping[str, str]) -> bool:
    return headers["content-type"].startswith("text/html")


def test_a_view_only_post_gets_the_403_page_in_the_layout(viewer: Browser) -> None:
    refused = viewer.client.post(
        "/ranges/stage", data={"csrf": viewer.csrf, "name": "X"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert is_html(refused.headers)
    page = refused.text
    assert "<title>Refused · vacant</title>" in page
    assert "403 Forbidden" in page
    assert "<code>POST /ranges/stage</code>" in page
    assert "role view-only may not change the configuration" in page
    assert "<nav>" in page
    assert "victor (view-only)" in page
    assert 'href="/ranges">Back to Unassigned numbers' in page
    assert refused.headers["x-frame-options"] == "DENY"


def test_a_bad_csrf_token_gets_the_403_page(admin: Browser) -> None:
    for data in ({}, {"csrf": "A" * 43}):
        refused = admin.client.post("/ranges/commit", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert is_html(refused.headers)
        assert "CSRF token is missing or wrong" in refused.text
        assert "<code>POST /ranges/commit</code>" in refused.text


def test_the_api_keeps_json_for_the_same_session(viewer: Browser) -> None:
    """The same cookie on an API write: 403 as JSON; a missing object: 404 as JSON."""
    refused = viewer.client.post("/api/v1/ranges", json={"name": "X"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/json"
    assert "detail" in refused.json()
    missing = viewer.client.get("/api/v1/announcements/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/json")
    nothing = viewer.client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert (nothing.status_code, nothing.json()) == (404, {"detail": "Not Found"})


def test_a_page_that_does_not_exist_is_an_html_404_for_a_browser(viewer: Browser) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = viewer.client.get("/no-such-page", headers=browser)
    assert missing.status_code == 404
    assert is_html(missing.headers)
    assert "<code>GET /no-such-page</code>" in missing.text
    assert viewer.client.get("/no-such-page").json() == {"detail": "Not Found"}  # not a browser


def test_a_wrong_method_on_a_console_page_keeps_its_allow_header(viewer: Browser) -> None:
    wrong = viewer.client.put("/ranges")
    assert wrong.status_code == 405
    assert is_html(wrong.headers)
    assert wrong.headers["allow"] == "GET"


def test_a_missing_query_field_is_a_422_page(admin: Browser) -> None:
    response = admin.client.get("/ranges/edit")
    assert response.status_code == 422
    assert is_html(response.headers)
    assert "name: Field required" in response.text


def test_a_bad_token_on_a_console_page_is_a_401_page(api: Api) -> None:
    client = TestClient(api.app, base_url=BASE, headers={"Authorization": "Bearer nope"})
    response = client.get("/ranges")
    assert response.status_code == 401
    assert is_html(response.headers)
    assert "the token does not work" in response.text
    assert "<nav>" not in response.text
    assert 'href="/login"' in response.text
    api_side = client.get("/api/v1/ranges")
    assert (api_side.status_code, api_side.headers["content-type"]) == (401, "application/json")
    assert api_side.headers["www-authenticate"] == "Bearer"
