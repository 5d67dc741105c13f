"""The package's public surface and module sizes (style guide §2.1, §2.11).

Purity (no I/O, clock or module-level randomness) is checked for every pure package by
tests/unit/test_architecture.py.
"""

import importlib
import os
import types
from pathlib import Path

import vacant.sip

PACKAGE = Path(vacant.sip.__file__).parent
# The message layer's modules (the transaction layer's are checked by their own tests).
MODULES = ("fields", "framing", "grammar", "headers", "message", "reply", "status", "uri")
MODULES += ("validate", "__init__")


def test_all_lists_every_public_name_once() -> None:
    exported = vacant.sip.__all__
    assert len(exported) == len(set(exported))
    public = {
        name
        for name, value in vars(vacant.sip).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == public
    for name in exported:
        assert getattr(vacant.sip, name) is not None


def test_sip_modules_stay_within_the_size_the_style_guide_asks() -> None:
    # Style guide §2.11: aim for 150-600 lines, split near 800.
    for path in (PACKAGE / f"{name}.py" for name in MODULES):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 800, path.name


def test_every_sip_module_the_call_handler_and_call_records_are_compiled_when_built() -> None:
    # `make test-compiled` runs these tests on the mypyc build (setup.py) and sets
    # VACANT_EXPECT_COMPILED=1: they must then exercise the C extensions, not the sources
    # beside them, or the compiled build would go untested.
    expected = os.environ.get("VACANT_EXPECT_COMPILED") == "1"
    assert vacant.sip.COMPILED is expected
    names = [f"vacant.sip.{path.stem}".removesuffix(".__init__") for path in PACKAGE.glob("*.py")]
    # The call handler and the call records, the rest of every call's path, are compiled with
    # the SIP core (setup.py).
    for name in [*names, "vacant.service.call", "vacant.store.calls", "vacant.store.timestamps"]:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert module.__file__.endswith(".so") is expected, module.__file__
