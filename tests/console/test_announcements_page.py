"""The console's Announcements page: create with every option, edit every setting (audio upload
or an imported file, TTS text and language, target, repeat, early media and its final status,
redirect without answer, SIT), delete with confirmation (refused while ranges use it unless
forced, naming them), play each prompt through the REST ``prompt.wav`` route with the session
cookie, and each file's length and peak level."""

from __future__ import annotations

import io
import math
import re
import wave
from typing import Any

from markupsafe import escape

from tests.api.conftest import POOL, Api
from tests.console.conftest import Browser
from vacant.routing.model import LOCALES

V1 = "/api/v1/announcements"


def tone(seconds: float = 0.5, amplitude: float = 0.5) -> bytes:
    """440 Hz at 8 kHz, 16-bit mono: peak at 20·log10(amplitude) dBFS."""
    frames = io.BytesIO()
    for i in range(int(8000 * seconds)):
        sample = int(32767 * amplitude * math.sin(2 * math.pi * 440 * i / 8000))
        frames.write(sample.to_bytes(2, "little", signed=True))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames.getvalue())
    return out.getvalue()


def by_name(api: Api, name: str) -> dict[str, Any]:
    found = api.admin.get(V1, params={"name": name}).json()
    assert len(found) == 1, found
    announcement: dict[str, Any] = found[0]
    return announcement


def form(**values: str) -> dict[str, str]:
    """The edit form as a browser sends it: every text field, the ticked checkboxes."""
    base = {
        "name": "",
        "audio_file": "",
        "tts_text": "",
        "language": "en-US",
        "target": "",
        "repeat": "1",
        "early_status": "404",
    }
    return {**base, **values}


def save(browser: Browser, values: dict[str, str], status: int = 303) -> str:
    """Submit the edit form with ``values``; the page answered."""
    response = browser.client.post(
        "/announcements/edit", data={"csrf": browser.csrf, **values}, follow_redirects=False
    )
    assert response.status_code == status, (response.status_code, response.text[-1500:])
    return response.text


def range_using(api: Api, name: str, announcement: str) -> None:
    made = api.admin.post(
        "/api/v1/ranges",
        json={
            "name": name,
            "start": "+14255550000",
            "end": "+14255550999",
            "announcement": {"pool": POOL, "name": announcement},
        },
    )
    assert made.status_code == 201, made.text


def test_every_announcement_with_a_prompt_plays_through_prompt_wav(
    api: Api, admin: Browser
) -> None:
    """TTS prompts play too (the page no longer says TTS is rendered elsewhere); an announcement
    without a prompt offers no player."""
    closed = by_name(api, "closed")
    admin.post("/announcements", pool=POOL, name="busy")  # no prompt, no target: busy
    page = admin.get("/announcements")
    assert "media engine" not in page
    src = f"{V1}/{closed['id']}/prompt.wav"
    assert f'<audio controls preload="none" src="{src}"></audio>' in page
    assert page.count("<audio") == 1
    assert "callers hear busy" in page
    played = admin.client.get(src)
    assert (played.status_code, played.headers["content-type"]) == (200, "audio/wav")
    with wave.open(io.BytesIO(played.content)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 16000)
        assert w.getnframes() > 16000 // 2  # the spoken sentence
    busy = by_name(api, "busy")
    assert admin.client.get(f"{V1}/{busy['id']}/prompt.wav").status_code == 404


def test_the_prompt_plays_for_a_view_only_session(api: Api, viewer: Browser) -> None:
    src = f"{V1}/{by_name(api, 'closed')['id']}/prompt.wav"
    assert src in viewer.get("/announcements")
    assert viewer.client.get(src).status_code == 200


def test_files_show_their_duration_and_peak_level(api: Api, admin: Browser) -> None:
    response = admin.client.post(
        "/announcements",
        data={"csrf": admin.csrf, "pool": POOL, "name": "hello"},
        files={"audio": ("hello.wav", tone(0.5, 0.5), "audio/wav")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = admin.get("/announcements")
    files = page.split('id="files"')[1]
    row = re.search(r"<td>hello\.wav</td>.*?</tr>", files, re.S)
    assert row, files
    assert "<td>0.50</td>" in row.group(0)
    assert "<td>-6.0</td>" in row.group(0)  # half of full scale
    assert "<td>hello</td>" in row.group(0)  # played by
    announcements = page.split('id="announcements"')[1].split("</table>")[0]
    assert "file hello.wav" in announcements
    assert "0.50 s, peak -6.0 dBFS" in announcements


def test_create_with_every_option(api: Api, admin: Browser) -> None:
    admin.post(
        "/announcements",
        pool=POOL,
        name="full",
        tts_text="Please hold.",
        language="fr-FR",
        target="sip:operator@example.com",
        repeat="3",
        sit="on",
        early_media="on",
        early_status="480",
        redirect_without_answer="on",
    )
    made = by_name(api, "full")
    assert made["tts_text"] == "Please hold."
    assert made["language"] == "fr-FR"
    assert made["target"] == "sip:operator@example.com"
    assert (made["repeat"], made["early_status"]) == (3, 480)
    assert made["sit"]
    assert made["early_media"]
    assert made["redirect_without_answer"]
    row = admin.get("/announcements").split("<td>full</td>")[1].split("</tr>")[0]
    assert "SIT first; plays 3 times; early media (183), then 302 to the target" in row


def test_the_language_is_a_select_of_the_26_locales(admin: Browser) -> None:
    page = admin.get("/announcements")
    select = page.split('<select name="language">')[1].split("</select>")[0]
    assert re.findall(r"<option(?: selected)?>([^<]+)</option>", select) == sorted(LOCALES)
    assert "<option selected>en-US</option>" in select


def test_edit_sets_every_field(api: Api, admin: Browser) -> None:
    closed = by_name(api, "closed")
    page = admin.get("/announcements/edit", id=closed["id"])
    assert 'action="/announcements/edit"' in page
    assert "This number is not in service." in page
    assert "<option selected>en-US</option>" in page
    save(
        admin,
        form(
            id=closed["id"],
            name="closed-now",
            tts_text="We are closed.",
            language="de-DE",
            target="tel:+14255550100",
            repeat="2",
            sit="on",
            early_media="on",
            early_status="486",
        ),
    )
    edited = by_name(api, "closed-now")
    assert edited["id"] == closed["id"]
    assert (edited["tts_text"], edited["language"]) == ("We are closed.", "de-DE")
    assert (edited["target"], edited["repeat"], edited["early_status"]) == (
        "tel:+14255550100",
        2,
        486,
    )
    assert edited["sit"]
    assert edited["early_media"]
    assert not edited["redirect_without_answer"]
    # Unticked boxes and emptied fields clear their settings.
    save(admin, form(id=closed["id"], name="closed-now"))
    cleared = by_name(api, "closed-now")
    assert cleared["tts_text"] is None
    assert cleared["language"] is None
    assert cleared["target"] is None
    assert not (cleared["sit"])
    assert not (cleared["early_media"])
    actions = [e["action"] for e in api.admin.get("/api/v1/audit").json()]
    assert actions[:2] == ["announcement.update", "announcement.update"]


def test_edit_uploads_a_file_or_picks_an_imported_one(api: Api, admin: Browser) -> None:
    closed = by_name(api, "closed")
    values = form(id=closed["id"], name="closed", tts_text="Closed.", csrf=admin.csrf)
    response = admin.client.post(
        "/announcements/edit",
        data=values,
        files={"audio": ("new.wav", tone(0.25), "audio/wav")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert by_name(api, "closed")["audio_file"] == "new.wav"
    imported = api.admin.post(
        f"/api/v1/files/{POOL}", files={"file": ("other.wav", tone(0.3), "audio/wav")}
    )
    assert imported.status_code == 201, imported.text
    page = admin.get("/announcements/edit", id=closed["id"])
    assert '<option value="new.wav" selected>new.wav</option>' in page
    assert '<option value="other.wav">other.wav</option>' in page
    picked = form(id=closed["id"], name="closed", audio_file="other.wav")
    save(admin, picked)
    assert by_name(api, "closed")["audio_file"] == "other.wav"


def test_a_refused_edit_is_shown_on_the_form_and_saves_nothing(api: Api, admin: Browser) -> None:
    closed = by_name(api, "closed")
    for values, shown in (
        ({"repeat": "0"}, "repeat: must be an integer from 1 to 100"),
        ({"repeat": "twice"}, "repeat: must be an integer from 1 to 100"),
        ({"early_status": "200"}, "early-status: must be an integer from 400 to 699"),
        ({"target": "operator"}, "target: "),
        ({"audio_file": "missing.wav"}, "audio file 'missing.wav' is not imported"),
    ):
        page = save(
            admin,
            form(id=closed["id"], name="renamed", tts_text="x", **values),
            422 if "audio_file" not in values else 404,
        )
        assert 'class="error"' in page, values
        assert str(escape(shown)) in page, (values, page[-2000:])
        assert 'value="renamed"' in page  # the form keeps what was typed
    assert by_name(api, "closed")["tts_text"] == "This number is not in service."
    admin.post("/announcements", pool=POOL, name="other")
    taken = save(admin, form(id=closed["id"], name="other", tts_text="x"), 409)
    assert "other" in taken
    assert 'class="error"' in taken


def test_delete_asks_first_and_removes_an_unused_announcement(api: Api, admin: Browser) -> None:
    closed = by_name(api, "closed")
    page = admin.get("/announcements")
    assert f'href="/announcements/delete?id={closed["id"]}"' in page
    confirm = admin.get("/announcements/delete", id=closed["id"])
    assert f"Delete announcement <b>{POOL}/closed</b>?" in confirm
    assert 'name="force"' not in confirm
    assert api.admin.get(f"{V1}/{closed['id']}").status_code == 200  # asking deletes nothing
    admin.post("/announcements/delete", id=closed["id"])
    assert api.admin.get(f"{V1}/{closed['id']}").status_code == 404
    assert "No announcements." in admin.get("/announcements")


def test_delete_refuses_while_ranges_use_it_unless_forced(api: Api, admin: Browser) -> None:
    closed = by_name(api, "closed")
    range_using(api, "Redmond", "closed")
    assert "<td>Redmond</td>" in admin.get("/announcements")  # Used by
    confirm = admin.get("/announcements/delete", id=closed["id"])
    assert "<li>Redmond</li>" in confirm
    assert 'name="force"' in confirm
    refused = admin.post("/announcements/delete", status=409, id=closed["id"])
    assert "is used by range(s) &#39;Redmond&#39;" in refused
    assert "<li>Redmond</li>" in refused
    assert api.admin.get(f"{V1}/{closed['id']}").status_code == 200
    admin.post("/announcements/delete", id=closed["id"], force="on")
    assert api.admin.get(f"{V1}/{closed['id']}").status_code == 404
    assert api.admin.get("/api/v1/ranges/Redmond").status_code == 200  # now gets busy


def test_view_only_gets_no_edit_or_delete_and_its_posts_are_refused(
    api: Api, viewer: Browser
) -> None:
    closed = by_name(api, "closed")
    page = viewer.get("/announcements")
    assert "/announcements/edit" not in page
    assert "/announcements/delete" not in page
    assert 'action="/announcements/edit"' not in viewer.get("/announcements/edit", id=closed["id"])
    assert "<form" not in viewer.get("/announcements/delete", id=closed["id"]).split("</header>")[1]
    for url in ("/announcements/edit", "/announcements/delete"):
        refused = viewer.client.post(
            url, data={"csrf": viewer.csrf, **form(id=closed["id"], name="x")}
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
    assert by_name(api, "closed")["name"] == "closed"


def test_a_missing_or_malformed_announcement_is_an_html_page(admin: Browser) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for url in ("/announcements/edit", "/announcements/delete"):
        response = admin.client.get(url, params={"id": missing})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert f"no announcement has the id {missing}" in response.text
        assert "<nav>" in response.text  # the console's layout, logged in
        bad = admin.client.get(url, params={"id": "nope"})
        assert bad.status_code == 422
        assert "id: &#39;nope&#39; is not a UUID" in bad.text
    gone = admin.client.post(
        "/announcements/delete", data={"csrf": admin.csrf, "id": missing}, follow_redirects=False
    )
    assert gone.status_code == 404
    assert "Not found" in gone.text
