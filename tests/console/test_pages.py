"""The console's pages and forms through the ASGI app: log in, staged range changes (New,
Edit, Delete, Move up/down, Commit all, Discard), test a number, audit, announcements, calls,
pools; view-only and CSRF refusals; security headers."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import BASE, POOL, Api
from tests.console.conftest import Browser
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

ANN = f"{POOL}/closed"


def ranges(api: Api) -> list[str]:
    return [r["name"] for r in api.admin.get("/api/v1/ranges").json()]


def stage(browser: Browser, name: str, start: str, end: str, priority: str = "") -> None:
    browser.post(
        "/ranges/stage",
        op="add",
        name=name,
        start=start,
        end=end,
        pattern="",
        announcement=ANN,
        auto_attendant="",
        priority=priority,
    )


def test_pages_need_a_session_and_login_shows_errors(api: Api) -> None:
    client = TestClient(api.app, base_url=BASE)
    for page in ("/", "/ranges", "/test", "/audit", "/calls", "/pools", "/announcements"):
        response = client.get(page, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), page
    login = client.get("/login")
    assert login.status_code == 200
    assert 'name="password"' in login.text
    bad = client.post("/login", data={"name": "nobody", "password": "wrong-password-1"})
    assert bad.status_code == 401
    assert 'class="error"' in bad.text
    assert client.get("/static/console.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../app.py").status_code == 404


def test_security_headers(admin: Browser) -> None:
    response = admin.client.get("/ranges")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_staged_changes_are_saved_only_by_commit_all(api: Api, admin: Browser) -> None:
    stage(admin, "Wide", "+14255550000", "+14255559999")
    stage(admin, "Narrow", "+14255551000", "+14255551999")
    page = admin.get("/ranges")
    assert page.count("pending: new") == 2
    assert ranges(api) == []
    admin.post("/ranges/commit")
    assert ranges(api) == ["Wide", "Narrow"]
    assert "pending" not in admin.get("/ranges").split("<table>")[1]
    # Move up, then edit, then delete another: one commit, one transaction.
    admin.post("/ranges/selection", action="up", name="Narrow")
    assert "pending: move" in admin.get("/ranges")
    assert ranges(api) == ["Wide", "Narrow"]
    admin.post("/ranges/commit")
    assert ranges(api) == ["Narrow", "Wide"]
    actions = [e["action"] for e in api.admin.get("/api/v1/audit").json()]
    assert actions[0] == "range.move"
    admin.post("/ranges/selection", action="down", name="Narrow")
    admin.post("/ranges/selection", action="remove", name="Wide")
    admin.post("/ranges/discard")
    admin.post("/ranges/commit")
    assert ranges(api) == ["Narrow", "Wide"]


def test_edit_and_delete(api: Api, admin: Browser) -> None:
    stage(admin, "Wide", "+14255550000", "+14255559999")
    admin.post("/ranges/commit")
    response = admin.client.post(
        "/ranges/selection",
        data={"csrf": admin.csrf, "action": "edit", "name": "Wide"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ranges/edit?name=Wide"
    form = admin.get("/ranges/edit", name="Wide")
    assert 'value="tel:+14255550000"' in form or "+14255550000" in form
    admin.post(
        "/ranges/stage", op="update", name="Wide", pattern=r"^\+1425555\d{4}$", announcement=ANN
    )
    admin.post("/ranges/commit")
    assert api.admin.get("/api/v1/ranges/Wide").json()["pattern"] == r"^\+1425555\d{4}$"
    admin.post("/ranges/selection", action="remove", name="Wide")
    admin.post("/ranges/commit")
    assert ranges(api) == []


def test_commit_is_all_or_nothing_and_names_field_and_rule(api: Api, admin: Browser) -> None:
    stage(admin, "Good", "+14255550000", "+14255550099")
    stage(admin, "Bad", "+14255550200", "+14255550100")  # end before start
    page = admin.post("/ranges/commit", status=422)
    assert "Nothing was saved" in page
    assert "<b>end</b>" in page
    assert ranges(api) == []
    assert page.count("pending: new") == 2  # still staged, to fix or discard
    admin.post("/ranges/discard")
    assert "pending" not in admin.get("/ranges").split("<table>")[1]


def test_search_filters_by_part_of_the_name(admin: Browser) -> None:
    stage(admin, "Redmond main", "+14255550000", "+14255550099")
    stage(admin, "Dublin", "+35315550000", "+35315550099")
    page = admin.get("/ranges", search="redm")
    assert "Redmond main" in page
    assert "Dublin" not in page


def test_test_number_shows_the_decision_and_explanation(admin: Browser) -> None:
    page = admin.get("/test", number="+14255550042")
    assert 'id="decision">not-found' in page
    stage(admin, "Wide", "+14255550000", "+14255559999")
    admin.post("/ranges/commit")
    page = admin.get("/test", number="+14255550042")
    assert 'id="decision">announcement' in page
    assert 'id="range">Wide' in page
    assert "<li>" in page
    assert 'class="error"' in admin.get("/test", number="not a number")


def test_audit_page_shows_console_changes(admin: Browser) -> None:
    stage(admin, "Wide", "+14255550000", "+14255559999")
    admin.post("/ranges/commit")
    page = admin.get("/audit")
    assert "user:alice" in page
    assert "range.create" in page


def test_view_only_sees_no_write_controls_and_its_posts_are_refused(
    api: Api, viewer: Browser
) -> None:
    for url in ("/ranges", "/announcements", "/ranges/new"):
        page = viewer.get(url)
        for control in ("Commit all", "Move up", ">New<", 'type="file"', 'action="/ranges/stage"'):
            assert control not in page, (url, control)
    forged = viewer.client.post(
        "/ranges/stage", data={"csrf": viewer.csrf, "name": "X", "start": "+1", "end": "+2"}
    )
    assert forged.status_code == 403
    for url in ("/ranges/commit", "/ranges/discard", "/ranges/selection", "/announcements"):
        assert viewer.client.post(url, data={"csrf": viewer.csrf}).status_code == 403
    assert ranges(api) == []


def test_a_post_without_the_right_csrf_token_is_refused(api: Api, admin: Browser) -> None:
    form = {"name": "X", "start": "+14255550000", "end": "+14255550001", "announcement": ANN}
    assert admin.client.post("/ranges/stage", data=form).status_code == 403
    assert admin.client.post("/ranges/stage", data={**form, "csrf": "A" * 43}).status_code == 403
    assert admin.client.post("/ranges/commit", data={}).status_code == 403
    assert "pending" not in admin.get("/ranges").split("<table>")[1]


def tone() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 800)
    return out.getvalue()


def test_announcement_with_an_uploaded_wav_plays_in_the_page(api: Api, admin: Browser) -> None:
    response = admin.client.post(
        "/announcements",
        data={"csrf": admin.csrf, "pool": POOL, "name": "hello", "target": "sip:op@example.com"},
        files={"audio": ("hello.wav", tone(), "audio/wav")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = admin.get("/announcements")
    (hello,) = api.admin.get("/api/v1/announcements", params={"name": "hello"}).json()
    src = f"/api/v1/announcements/{hello['id']}/prompt.wav"
    assert f'<audio controls preload="none" src="{src}"' in page
    played = admin.client.get(src)  # the console's session cookie is enough
    assert played.status_code == 200
    assert played.headers["content-type"] == "audio/wav"
    assert played.content.startswith(b"RIFF")
    original = admin.client.get(f"/api/v1/files/{POOL}/hello.wav/content")
    assert original.content == tone()
    assert f'href="/api/v1/files/{POOL}/hello.wav/content"' in page
    dup = admin.client.post(
        "/announcements", data={"csrf": admin.csrf, "pool": POOL, "name": "hello"}
    )
    assert dup.status_code in (409, 422)
    assert 'class="error"' in dup.text


def test_calls_and_pools_pages(admin: Browser) -> None:
    assert "No calls." in admin.get("/calls", decision="announcement", since="2h")
    assert 'class="error"' in admin.get("/calls", since="yesterday-ish")
    page = admin.get("/pools")
    assert POOL in page
    assert "Healthy instances" in page


def test_logout_ends_the_session(admin: Browser) -> None:
    admin.post("/logout")
    response = admin.client.get("/ranges", follow_redirects=False)
    assert response.status_code == 303


def some_calls(api: Api) -> None:
    now = datetime.now(UTC)
    records = [
        CallRecord(
            started=now - timedelta(days=i % 3, minutes=i),
            call_id=f"call-{i}",
            caller="sip:caller@example.com",
            dialled=f"+1425555{1000 + i % 4}",
            normalised=f"+1425555{1000 + i % 4}",
            decision="announcement" if i % 5 else "assigned",
            range_name="Wide" if i % 2 else "Narrow",
            status=200,
            duration=3.5,
            pool=POOL,
        )
        for i in range(30)
    ]
    with session_scope(api.engine) as s:
        add_calls(s, records)


def test_statistics_charts_and_inventory(api: Api, admin: Browser) -> None:
    stage(admin, "Wide", "+14255550000", "+14255559999")
    admin.post("/ranges/commit")
    api.admin.post("/api/v1/numbers", json={"number": "+14255550001", "uri": "sip:a@example.com"})
    some_calls(api)
    page = admin.get("/statistics")
    assert page.count("<rect") > 5
    assert "+14255551001" in page
    inventory = page.split("Inventory per range")[1]
    assert "<td>Wide</td><td>10000</td><td>1</td><td>9999</td>" in inventory
    calls = admin.get("/calls", decision="assigned")
    assert calls.count("<td>assigned</td>") == 6
