"""Optional compiled build of the hot pure packages (docs/sip.md, "Compiled build").

``VACANT_COMPILE=1`` compiles ``vacant.sip`` (the SIP core), ``vacant.service.call`` (the call
handler, the TU on top of it), ``vacant.store.calls`` and ``vacant.store.timestamps`` (the call
records it makes, which the server writes) with mypyc (C extensions from the same type-checked
source; needs a C compiler and Python's headers). Without it the package is pure Python, as in
development (``pip install -e``). Everything else is declared in pyproject.toml.
"""

import os
from glob import glob

from setuptools import setup

if os.environ.get("VACANT_COMPILE") == "1":
    from mypyc.build import mypycify

    modules = [
        *sorted(glob("src/vacant/sip/*.py")),
        "src/vacant/service/call.py",
        "src/vacant/store/calls.py",
        "src/vacant/store/timestamps.py",
    ]
    setup(ext_modules=mypycify(modules, opt_level="3"))
else:
    setup()
