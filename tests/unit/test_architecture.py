"""DESIGN.md §3: pure modules never import I/O, time or frameworks, nor call module-level random."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "vacant"
PURE_PACKAGES = ("sip", "routing")
# vacant/media holds pure modules and io ones (engine, prompts, tts): the pure ones by name.
PURE_MEDIA_MODULES = ("sdp", "offer_answer", "g711", "frames", "rtp", "tones")
BANNED = {"asyncio", "socket", "ssl", "time", "sqlalchemy", "fastapi", "select", "selectors"}


def _pure_modules() -> list[Path]:
    packages = [p for pkg in PURE_PACKAGES for p in (SRC / pkg).rglob("*.py")]
    return sorted([*packages, *(SRC / "media" / f"{name}.py" for name in PURE_MEDIA_MODULES)])


def test_every_named_pure_media_module_exists() -> None:
    missing = [n for n in PURE_MEDIA_MODULES if not (SRC / "media" / f"{n}.py").is_file()]
    assert missing == []


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports_no_io_time_or_framework(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert _imports(tree) & BANNED == set()


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_takes_randomness_as_an_argument(path: Path) -> None:
    """Randomness is injected (a random.Random), never the module-level functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
        ):
            assert node.attr == "Random", f"random.{node.attr} at line {node.lineno}"
