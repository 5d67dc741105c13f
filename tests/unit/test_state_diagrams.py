"""docs/state-machines.md is generated from the transaction tables and must not go stale
(DESIGN.md §4: "Render them to Mermaid in docs/state-machines.md from the same tables")."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from vacant.sip.transaction import MACHINES

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "state_diagrams.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("state_diagrams", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


def test_state_machines_document_is_generated_from_the_current_tables(
    script: ModuleType,
) -> None:
    document = script.DOCUMENT
    assert document.read_text(encoding="utf-8") == script.render(), (
        "docs/state-machines.md is stale: run .venv/bin/python scripts/state_diagrams.py"
    )


def test_state_machines_document_draws_every_row_of_every_table(script: ModuleType) -> None:
    text = script.render()
    assert text.count("stateDiagram-v2") == len(MACHINES)
    for machine in MACHINES:
        for (state, event), (target, _) in machine.table.items():
            assert f"    {state.value} --> {target.value}: {event.value}" in text


def test_state_diagram_check_mode_reports_a_stale_document(
    script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "state-machines.md"
    monkeypatch.setattr(script, "DOCUMENT", stale)
    assert script.main(["--check"]) == 1  # missing
    stale.write_text("old\n", encoding="utf-8")
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
