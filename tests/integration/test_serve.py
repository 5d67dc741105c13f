"""``vacant serve`` as a process: loads the snapshot, follows configuration changes, stops on
SIGTERM with exit code 0."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.peers import start_server
from vacant.cli.main import main

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.yaml"


def _wait_for(server_output: Callable[[], str], text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = server_output()
        if text in output:
            return output
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not seen in:\n{server_output()}")


def test_serve_reports_snapshot_applies_changes_without_restart_and_stops_on_sigterm(
    db_url: str, tmp_path: Path
) -> None:
    assert main(["--db", db_url, "config", "import", str(DEMO)]) == 0
    server = start_server(db_url, tmp_path)
    try:
        _wait_for(server.output, "3 ranges")
        assert (
            main(
                [
                    "--db",
                    db_url,
                    "range",
                    "add",
                    "Later",
                    "--start",
                    "+14255559000",
                    "--end",
                    "+14255559999",
                    "--auto-attendant",
                    "+14255550100",
                ]
            )
            == 0
        )
        _wait_for(server.output, "4 ranges")
    finally:
        code = server.stop()
    assert code == 0
    assert "vacant stopped" in server.output()
