"""The web console in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``,
installed by ``make test``) against a real ``vacant serve``.

An admin logs in, uploads a WAV and creates an announcement, creates one with text to speech,
edits it (plays twice, then transfers) and the page's audio player loads its prompt (WAV, with
the session cookie), deletes an unused announcement after confirming, creates two overlapping
ranges, commits, tests a number, moves the narrower range up, commits again and sees the
decision change, and sees the audit entries; a view-only user sees no write controls and its
forged POST gets the console's 403 page. A screenshot of each page is saved under the test's
tmp path (printed).

This test fails, never skips, when Chromium or Playwright is missing.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import sys
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright

from tests.integration.peers import VacantServer, start_server
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import make_engine, session_scope

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POOL = "pool1.example.com"
ADMIN_PASSWORD = "tr0ub4dor&3-horse"
VIEWER_PASSWORD = "correct-horse-battery"
NUMBER = "+14255551234"


def vacant(db_url: str, *argv: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vacant", "--db", db_url, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (argv, done.stderr)


def tone(path: Path) -> Path:
    """Half a second of 440 Hz at 8 kHz, 16-bit mono."""
    frames = io.BytesIO()
    for i in range(4000):
        sample = int(8000 * math.sin(2 * math.pi * 440 * i / 8000))
        frames.write(sample.to_bytes(2, "little", signed=True))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames.getvalue())
    return path


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[VacantServer]:
    db = tmp_path / "vacant.db"
    shutil.copyfile(sqlite_template, db)
    db_url = f"sqlite:///{db}"
    vacant(db_url, "pool", "add", POOL)
    vacant(
        db_url,
        "user",
        "create",
        "alice",
        "--role",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    vacant(
        db_url,
        "user",
        "create",
        "victor",
        "--role",
        "view-only",
        "--password-stdin",
        stdin=VIEWER_PASSWORD + "\n",
    )
    some_calls(db_url)
    running = start_server(db_url, tmp_path)
    yield running
    running.stop()


def some_calls(db_url: str) -> None:
    """Call records of the last days, for the Calls and Statistics pages."""
    now = datetime.now(UTC)
    records = [
        CallRecord(
            started=now - timedelta(days=i % 7, minutes=i),
            call_id=f"call-{i}",
            caller="sip:caller@example.com",
            dialled=f"+1425555{1000 + i % 9 * (i % 4)}",
            normalised=f"+1425555{1000 + i % 9 * (i % 4)}",
            decision="announcement" if i % 5 else "not-found",
            range_name=("Wide", "Narrow", None)[i % 3],
            status=(200, 404)[i % 2],
            duration=3.5,
            pool=POOL,
            prompt_seconds=2.5 if i % 5 else None,
            transfer_target="sip:operator@example.com" if i % 5 and i % 2 else None,
            outcome=("transferred" if i % 2 else "caller-hung-up") if i % 5 else None,
        )
        for i in range(80)
    ]
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            add_calls(s, records)
    finally:
        engine.dispose()


@contextmanager
def launch(tmp_path: Path, name: str) -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does)")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{name}"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(5000)
        try:
            yield context
        except Exception:
            for page in context.pages:
                page.screenshot(path=str(tmp_path / f"failure-{name}.png"), full_page=True)
                (tmp_path / f"failure-{name}.html").write_text(page.content())
            raise
        finally:
            context.close()


class Shots:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def take(self, page: Page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.directory / f"{self.count:02d}-{name}.png"), full_page=True)


def log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/ranges")
    expect(page).to_have_url(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    expect(page).to_have_url(f"{base}/ranges")


def row(page: Page, name: str) -> Locator:
    """The Announcements table's row of announcement ``name``."""
    return page.locator("#announcements tbody tr").filter(
        has=page.locator("td:nth-child(2)", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def new_range(page: Page, name: str, start: str, end: str) -> None:
    page.click("a:has-text('New')")
    page.fill("input[name=name]", name)
    page.fill("input[name=start]", start)
    page.fill("input[name=end]", end)
    page.select_option("select[name=announcement]", f"{POOL}/closed")
    page.click("button:has-text('Stage')")


def test_the_console_in_a_browser(
    server: VacantServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    shots = Shots(tmp_path / "screenshots")
    with capsys.disabled():
        print(f"\nconsole screenshots: {shots.directory}")
    wav = tone(tmp_path / "closed.wav")

    with launch(tmp_path, "admin") as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{base}/login")
        shots.take(page, "login")
        log_in(page, base, "alice", ADMIN_PASSWORD)

        # An announcement with an uploaded WAV, played by the page's <audio>.
        page.click("nav a:has-text('Announcements')")
        page.fill("input[name=name]", "closed")
        page.set_input_files("input[name=audio]", str(wav))
        page.fill("input[name=target]", "sip:operator@example.com")
        page.click("button:has-text('Create')")
        audio = page.locator("audio")
        expect(audio).to_have_count(1)
        src = audio.get_attribute("src")
        assert src is not None
        assert src.endswith("/prompt.wav")
        played = page.request.get(f"{base}{src}")
        assert played.ok
        assert played.headers["content-type"] == "audio/wav"
        expect(row(page, "closed")).to_contain_text("peak")  # the file's level and length
        href = row(page, "closed").locator("a", has_text="original").get_attribute("href")
        original = page.request.get(f"{base}{href}")
        assert original.body() == wav.read_bytes()

        # An announcement with text to speech, then edited: plays twice, then transfers.
        page.fill("#new-announcement input[name=name]", "welcome")
        page.fill("#new-announcement textarea[name=tts_text]", "Welcome. This number has changed.")
        page.select_option("#new-announcement select[name=language]", "en-GB")
        page.click("button:has-text('Create')")
        expect(row(page, "welcome")).to_contain_text("TTS (en-GB)")
        row(page, "welcome").locator("a:has-text('Edit')").click()
        expect(page.locator("h1")).to_have_text("Edit announcement")
        page.fill("input[name=repeat]", "2")
        page.fill("input[name=target]", "sip:reception@example.com")
        shots.take(page, "announcement-edit")
        page.click("button:has-text('Save')")
        expect(page).to_have_url(f"{base}/announcements")
        expect(row(page, "welcome")).to_contain_text("plays 2 times")
        expect(row(page, "welcome")).to_contain_text("sip:reception@example.com")
        player = row(page, "welcome").locator("audio")
        src = player.get_attribute("src")
        assert src is not None
        assert src.endswith("/prompt.wav")
        response = page.request.get(f"{base}{src}")
        assert (response.status, response.headers["content-type"]) == (200, "audio/wav")
        # The browser's own player fetches it (with the session cookie) and decodes it.
        seconds = player.evaluate(
            """audio => new Promise(resolve => {
                audio.onloadedmetadata = () => resolve(audio.duration);
                audio.onerror = () => resolve(-1);
                audio.load();
            })"""
        )
        assert seconds > 1.0, seconds
        shots.take(page, "announcements")

        # An unused announcement is deleted after confirming.
        page.fill("#new-announcement input[name=name]", "spare")
        page.click("button:has-text('Create')")
        expect(row(page, "spare")).to_contain_text("callers hear busy")
        row(page, "spare").locator("a:has-text('Delete')").click()
        expect(page.locator("main")).to_contain_text("Delete announcement pool1.example.com/spare?")
        shots.take(page, "announcement-delete")
        page.click("main button:has-text('Delete')")
        expect(page).to_have_url(f"{base}/announcements")
        expect(row(page, "spare")).to_have_count(0)

        # Two overlapping ranges, staged, then committed together.
        page.click("nav a:has-text('Unassigned numbers')")
        new_range(page, "Wide", "+14255550000", "+14255559999")
        new_range(page, "Narrow", "+14255551000", "+14255551999")
        expect(page.locator("td:has-text('pending: new')")).to_have_count(2)
        shots.take(page, "ranges-staged")
        page.click("button:has-text('Commit all')")
        expect(page.locator("td:has-text('pending')")).to_have_count(0)

        page.click("nav a:has-text('Test number')")
        page.fill("input[name=number]", NUMBER)
        page.click("button:has-text('Test')")
        expect(page.locator("#decision")).to_have_text("announcement")
        expect(page.locator("#range")).to_have_text("Wide")

        # Move the narrow range up: staged, then committed; the decision changes.
        page.click("nav a:has-text('Unassigned numbers')")
        page.check("input[name=name][value=Narrow]")
        page.click("button:has-text('Move up')")
        expect(page.locator("tr:has-text('Narrow') td:has-text('pending: move')")).to_have_count(1)
        shots.take(page, "ranges-move-staged")
        page.click("button:has-text('Commit all')")
        names = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
        assert names == ["Narrow", "Wide"]
        shots.take(page, "ranges")

        page.click("nav a:has-text('Test number')")
        page.fill("input[name=number]", NUMBER)
        page.click("button:has-text('Test')")
        expect(page.locator("#range")).to_have_text("Narrow")
        shots.take(page, "test-number")

        # Deleting an announcement that ranges use names them and needs forcing.
        page.click("nav a:has-text('Announcements')")
        row(page, "closed").locator("a:has-text('Delete')").click()
        expect(page.locator("#used-by li")).to_have_text(["Narrow", "Wide"])
        expect(page.locator("input[name=force]")).to_have_count(1)
        shots.take(page, "announcement-delete-used")
        page.click("a:has-text('Cancel')")

        page.click("nav a:has-text('Audit')")
        expect(page.locator("tr:has-text('range.move'):has-text('user:alice')")).to_have_count(1)
        expect(page.locator("tr:has-text('announcement.create')")).to_have_count(3)
        entries = page.locator("tbody tr")
        expect(
            entries.filter(has_text="announcement.update").filter(has_text="/welcome")
        ).to_have_count(1)
        expect(
            entries.filter(has_text="announcement.remove").filter(has_text="/spare")
        ).to_have_count(1)
        shots.take(page, "audit")

        for label, name in (("Calls", "calls"), ("Statistics", "statistics"), ("Pools", "pools")):
            page.click(f"nav a:has-text('{label}')")
            shots.take(page, name)

    with launch(tmp_path, "viewer") as context:
        page = context.pages[0] if context.pages else context.new_page()
        log_in(page, base, "victor", VIEWER_PASSWORD)
        for control in ("Commit all", "Move up", "Discard", "Edit"):
            expect(page.locator(f"button:has-text('{control}')")).to_have_count(0)
        expect(page.locator("a:has-text('New')")).to_have_count(0)
        expect(page.locator("input[type=radio]")).to_have_count(0)
        shots.take(page, "ranges-view-only")
        page.click("nav a:has-text('Announcements')")
        expect(page.locator("input[type=file]")).to_have_count(0)
        # A forged POST, with the session cookie and even the right CSRF token, is refused.
        csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
        forged = page.request.post(
            f"{base}/ranges/selection",
            form={"csrf": csrf or "", "action": "remove", "name": "Wide"},
            max_redirects=0,
        )
        assert forged.status == 403
        assert forged.headers["content-type"].startswith("text/html")
        # The same forgery submitted by the page itself: the browser shows the 403 page.
        page.evaluate(
            """csrf => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = '/ranges/selection';
                const fields = [['csrf', csrf], ['action', 'remove'], ['name', 'Wide']];
                for (const [name, value] of fields) {
                    const input = document.createElement('input');
                    input.type = 'hidden';
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            csrf or "",
        )
        expect(page.locator("h1")).to_have_text("Refused")
        expect(page.locator("#refusal")).to_contain_text("403 Forbidden")
        expect(page.locator("#refusal")).to_contain_text("POST /ranges/selection")
        expect(page.locator("#reason")).to_have_text(
            "role view-only may not change the configuration"
        )
        expect(page.locator("nav")).to_be_visible()
        shots.take(page, "forged-post-403")
        page.goto(f"{base}/ranges")
        names = page.locator("tbody tr td:nth-child(1)").all_inner_texts()
        assert names == ["Narrow", "Wide"]
        expect(page.locator("td:has-text('pending')")).to_have_count(0)
