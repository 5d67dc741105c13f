"""The Calls page shows what became of announcement calls (seconds of prompt, outcome,
transfer target) and filters by outcome; Statistics charts announcement calls per outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import POOL, Api
from tests.console.conftest import Browser
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

OUTCOMES = ("transferred", "caller-hung-up", "completed")


def announcement_calls(api: Api) -> None:
    now = datetime.now(UTC)
    records = [
        CallRecord(
            started=now - timedelta(days=i % 2, minutes=i),
            call_id=f"call-{i}",
            caller="sip:caller@example.com",
            dialled="+14255551000",
            normalised="+14255551000",
            decision="announcement",
            range_name="Wide",
            status=200,
            duration=9.0,
            pool=POOL,
            prompt_seconds=4.25 + i,
            transfer_target="sip:operator@example.com" if i % 3 == 0 else None,
            outcome=OUTCOMES[i % 3],
        )
        for i in range(9)
    ]
    records.append(
        CallRecord(
            started=now,
            call_id="x",
            caller="sip:c@example.com",
            dialled="+1",
            normalised="+1",
            decision="not-found",
            range_name=None,
            status=404,
            duration=0.1,
            pool=POOL,
        )
    )
    with session_scope(api.engine) as s:
        add_calls(s, records)


def test_calls_show_prompt_seconds_outcome_and_transfer_target(api: Api, admin: Browser) -> None:
    announcement_calls(api)
    page = admin.get("/calls")
    assert "<th>Prompt (s)</th><th>Outcome</th><th>Transfer target</th>" in page
    assert "<td>4.2</td><td>transferred</td><td>sip:operator@example.com</td>" in page
    assert "<td>5.2</td><td>caller-hung-up</td><td></td>" in page
    assert page.count("<td>not-found</td>") == 1


def test_calls_filter_by_outcome(api: Api, admin: Browser) -> None:
    announcement_calls(api)
    page = admin.get("/calls", outcome="transferred")
    assert page.count("<td>transferred</td>") == 3
    assert "<td>completed</td>" not in page
    assert "<td>not-found</td>" not in page
    assert "<option selected>transferred</option>" in page
    assert "No calls." in admin.get("/calls", outcome="transferred", decision="not-found")
    assert "decision: must be one of assigned" in admin.get("/calls", decision="maybe")
    refused = admin.get("/calls", outcome="lost")
    assert 'class="error"' in refused
    assert "outcome: must be one of transferred" in refused


def test_statistics_chart_announcement_calls_per_outcome_per_day(api: Api, admin: Browser) -> None:
    empty = admin.get("/statistics")
    assert "No announcement call has an outcome yet." in empty
    announcement_calls(api)
    page = admin.get("/statistics")
    chart = page.split('id="outcomes"')[1]
    assert chart.count("<rect") >= 3
    assert "<title>transferred: " in chart
    legend = chart.split('id="outcomes-legend"')[1].split("</p>")[0]
    for outcome in OUTCOMES:
        assert outcome in legend
