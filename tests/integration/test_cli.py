"""The CLI end to end against a real database (SQLite and PostgreSQL): DESIGN.md §2 contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.media.audio import wav as tone_wav
from vacant.cli.main import main

POOL = "pool1.example.com"


class Run:
    """Runs ``vacant --db URL ...`` in-process and keeps what it printed."""

    def __init__(self, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db_url = db_url
        self.capsys = capsys
        self.out = ""
        self.err = ""

    def __call__(self, *args: str, code: int = 0) -> str:
        self.capsys.readouterr()
        result = main(["--db", self.db_url, *args])
        captured = self.capsys.readouterr()
        self.out, self.err = captured.out, captured.err
        assert result == code, f"exit {result}, stdout {self.out!r}, stderr {self.err!r}"
        return self.out

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--json"))


@pytest.fixture
def run(db_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    runner = Run(db_url, capsys)
    runner("db", "upgrade")
    return runner


@pytest.fixture
def demo(run: Run) -> Run:
    run("pool", "add", POOL)
    run(
        "announcement",
        "add",
        "Changed",
        "--pool",
        POOL,
        "--tts",
        "Number changed.",
        "--language",
        "en-US",
        "--target",
        "sip:+14255550100@example.com;user=phone",
    )
    run("announcement", "add", "Busy", "--pool", POOL)
    run(
        "range",
        "add",
        "Redmond",
        "--start",
        "+14255551000",
        "--end",
        "+14255551999",
        "--announcement",
        "Changed",
        "--pool",
        POOL,
    )
    run(
        "range",
        "add",
        "Desk",
        "--start",
        "+14255551200",
        "--end",
        "+14255551299",
        "--auto-attendant",
        "+14255550199",
    )
    return run


def test_help_and_version_exit_0(run: Run) -> None:
    assert "range" in run("--help")
    assert "vacant" in run("--version")


def test_unknown_command_is_a_usage_error_exit_2(run: Run) -> None:
    run("frobnicate", code=2)


def test_pool_lifecycle(run: Run) -> None:
    created = run.json("pool", "add", POOL, "--description", "main")
    assert created == {
        "name": POOL,
        "backup": None,
        "description": "main",
        "auto_failover": False,
        "down_after": 10.0,
        "failback_after": 30.0,
    }
    run("pool", "add", "backup.example.com")
    assert run.json("pool", "set", POOL, "--backup", "backup.example.com")["backup"] == (  # type: ignore[index]
        "backup.example.com"
    )
    assert [p["name"] for p in run.json("pool", "list")] == sorted(  # type: ignore[attr-defined]
        ["backup.example.com", POOL]
    )
    assert run.json("pool", "set", POOL, "--no-backup")["backup"] is None  # type: ignore[index]
    run("pool", "remove", POOL)
    run("pool", "show", POOL, code=2)
    assert "not" in run.err.lower()


def test_pool_name_must_be_fqdn_like_and_error_names_the_field(run: Run) -> None:
    run("pool", "add", "not a pool!", code=2)
    assert run.err.startswith("error: name:")


def test_announcement_tts_needs_language(run: Run) -> None:
    run("pool", "add", POOL)
    run("announcement", "add", "A", "--pool", POOL, "--tts", "hello", code=2)
    assert "language" in run.err
    run("announcement", "add", "A", "--pool", POOL, "--tts", "hello", "--language", "xx-XX", code=2)
    assert "language" in run.err


def test_announcement_audio_and_tts_warns_audio_wins(run: Run, tmp_path: Path) -> None:
    run("pool", "add", POOL)
    wav = tmp_path / "closed.wav"
    wav.write_bytes(tone_wav())
    run("announcement", "import-file", str(wav), "--pool", POOL)
    run(
        "announcement",
        "add",
        "A",
        "--pool",
        POOL,
        "--audio-file",
        "closed.wav",
        "--tts",
        "hi",
        "--language",
        "en-GB",
    )
    assert "audio file wins" in run.err


def test_import_file_refuses_files_over_the_limit(run: Run, tmp_path: Path) -> None:
    run("pool", "add", POOL)
    big = tmp_path / "big.wav"
    content = tone_wav(seconds=0.2)
    big.write_bytes(content)
    run("announcement", "import-file", str(big), "--pool", POOL, "--max-size", "1024", code=2)
    assert "1024" in run.err
    assert run.json("announcement", "files") == []
    run("announcement", "import-file", str(big), "--pool", POOL)
    files = run.json("announcement", "files", "--pool", POOL)
    assert [(f["name"], f["size"]) for f in files] == [("big.wav", len(content))]  # type: ignore[index]


def test_removing_a_used_announcement_needs_force_then_calls_get_busy(demo: Run) -> None:
    demo("announcement", "remove", "Changed", "--pool", POOL, code=2)
    assert "Redmond" in demo.err
    demo("announcement", "remove", "Changed", "--pool", POOL, "--force")
    assert "Redmond" in demo.err
    decision = demo.json("route", "+14255551500")
    assert decision["decision"] == "busy"  # type: ignore[index]
    assert decision["range"] == "Redmond"  # type: ignore[index]


def test_recreating_an_announcement_with_the_same_id_repairs_its_ranges(demo: Run) -> None:
    ann = demo.json("announcement", "show", "Changed", "--pool", POOL)
    demo("announcement", "remove", "Changed", "--pool", POOL, "--force")
    demo(
        "announcement",
        "add",
        "Changed again",
        "--pool",
        POOL,
        "--id",
        ann["id"],  # type: ignore[index]
        "--target",
        "sip:operator@example.com",
    )
    decision = demo.json("route", "+14255551500")
    assert decision["decision"] == "announcement"  # type: ignore[index]
    assert decision["announcement"] == "Changed again"  # type: ignore[index]


def test_route_overlap_lowest_priority_value_wins_and_move_reorders(demo: Run) -> None:
    # Desk was added last, so Redmond (priority 0) wins over Desk (priority 1).
    assert demo.json("route", "+14255551234")["range"] == "Redmond"  # type: ignore[index]
    order = demo.json("range", "move", "Desk", "--up")
    assert order == ["Desk", "Redmond"]
    decision = demo.json("route", "+14255551234")
    assert decision["decision"] == "auto-attendant"  # type: ignore[index]
    assert decision["target"] == "tel:+14255550199"  # type: ignore[index]
    assert any("Redmond" in line for line in decision["explanation"])  # type: ignore[index]


def test_route_json_has_the_documented_keys(demo: Run) -> None:
    decision = demo.json("route", "tel:+1-425-555-1500")
    assert set(decision) == {  # type: ignore[arg-type]
        "number",
        "normalised",
        "decision",
        "range",
        "pool",
        "announcement",
        "target",
        "explanation",
    }
    assert decision["pool"] == POOL  # type: ignore[index]
    assert decision["target"] == "sip:+14255550100@example.com;user=phone"  # type: ignore[index]


def test_route_not_found_and_invalid_number(demo: Run) -> None:
    assert demo.json("route", "+4930123456")["decision"] == "not-found"  # type: ignore[index]
    demo("route", "sip:alice@example.com", code=2)
    assert demo.err.startswith("error: number:")


def test_assigned_number_wins_over_ranges(demo: Run) -> None:
    demo("number", "add", "+14255551500", "--uri", "sip:alice@example.com", "--owner", "Alice")
    decision = demo.json("route", "sip:+14255551500@10.0.0.1;user=phone")
    assert decision["decision"] == "assigned"  # type: ignore[index]
    assert decision["target"] == "sip:alice@example.com"  # type: ignore[index]


def test_normalisation_rule_applies_before_lookup(demo: Run) -> None:
    demo("rule", "add", "four", "--pattern", r"(\d{4})", "--translation", "+1425555$1")
    decision = demo.json("route", "1500")
    assert decision["normalised"] == "+14255551500"  # type: ignore[index]
    assert decision["range"] == "Redmond"  # type: ignore[index]
    demo("rule", "add", "bad", "--pattern", r"(\d{4})", "--translation", "+1$2", code=2)
    assert "translation" in demo.err


def test_range_validation_errors_name_field_and_rule(demo: Run) -> None:
    cases = [
        (["--start", "+0425", "--end", "+0426"], "start"),
        (["--start", "+1425;ext=1", "--end", "+1426"], "end"),
        (["--start", "+1426", "--end", "+1425"], "end"),
        (["--pattern", ".*"], "pattern"),
    ]
    for bounds, field in cases:
        demo("range", "add", "Bad", *bounds, "--auto-attendant", "+14255550199", code=2)
        assert demo.err.startswith(f"error: {field}:"), demo.err
    demo("range", "add", "Redmond", "--pattern", r"\+1\d+", "--auto-attendant", "+1425", code=2)
    demo(
        "range",
        "add",
        "X",
        "--pattern",
        r"\+1\d+",
        "--announcement",
        "Nope",
        "--pool",
        POOL,
        code=2,
    )
    demo("range", "add", "X", "--pattern", r"\+1\d+", "--announcement", "Busy", code=2)
    assert [r["name"] for r in demo.json("range", "list")] == ["Redmond", "Desk"]  # type: ignore[index]


def test_range_set_switches_kind_and_list_filters(demo: Run) -> None:
    updated = demo.json("range", "set", "Desk", "--pattern", r"\+1425555120\d")
    assert updated["pattern"] == r"\+1425555120\d"  # type: ignore[index]
    assert updated["start"] is None  # type: ignore[index]
    assert "Desk" in demo("range", "list", "--filter", "des")
    assert "Redmond" not in demo.out
    demo("range", "remove", "Desk")
    demo("range", "show", "Desk", code=2)


def test_number_import_is_all_or_nothing_and_reports_every_bad_line(
    run: Run, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "number,uri,owner\n+14255550001,sip:a@example.com,A\n+14255550002,sip:b@example.com,\n"
    )
    assert run.json("number", "import", str(good)) == {"imported": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,uri,owner\n+14255550003,sip:c@example.com,C\n0123,sip:d@x,D\n"
        "+14255550004,nonsense,E\n+14255550001,sip:dup@example.com,F\n"
    )
    run("number", "import", str(bad), code=2)
    for line in ("line 3", "line 4", "line 5"):
        assert line in run.err
    assert len(run.json("number", "list")) == 2  # type: ignore[arg-type]
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("+14255550005,sip:e@example.com,E\n")
    run("number", "import", str(headerless), code=2)
    assert "header" in run.err


def test_config_export_import_round_trip_and_dry_run(
    demo: Run, tmp_path: Path, db_url_factory: Callable[[], str]
) -> None:
    exported = tmp_path / "config.yaml"
    demo("config", "export", "--out", str(exported))
    other = Run(db_url_factory(), demo.capsys)
    other("db", "upgrade")
    other("config", "import", str(exported), "--dry-run")
    assert "Redmond" in other.out
    assert other.json("range", "list") == []
    other("config", "import", str(exported))
    assert [r["name"] for r in other.json("range", "list")] == ["Redmond", "Desk"]  # type: ignore[index]
    assert other("config", "export") == demo("config", "export")


def test_config_import_refuses_invalid_documents_atomically(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("pools: [{name: 'p.example.com'}]\nranges: [{name: r, start: 'abc'}]\n")
    run("config", "import", str(broken), code=2)
    assert run.json("pool", "list") == []
    broken.write_text(": : :\n")
    run("config", "import", str(broken), code=2)


def test_commands_on_a_database_without_schema_fail_with_a_hint(
    db_url_factory: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = Run(db_url_factory(), capsys)
    fresh("range", "list", code=1)
    assert "vacant db upgrade" in fresh.err
