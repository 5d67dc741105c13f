"""Whether a logger takes a level, asked of it at most once a second of the caller's clock.

Compiled code that asks ``logger.isEnabledFor(level)`` makes a call into Python: a frame, about
1,000 instructions. A call through the server asked five times (each transaction step and the
call record's line), 2% of its work (docs/benchmarks.md, fourteenth round). ``LevelWatch``
keeps the answer and asks again once the caller's clock has moved on by ``RECHECK`` seconds, or
gone back, so a level changed while the server runs takes effect within a second. The clock is
the caller's ``now``: the SIP core reads none of its own.
"""

import logging
from typing import Final

#: Seconds of the caller's clock an answer is kept.
RECHECK: Final = 1.0


class LevelWatch:
    """``logger.isEnabledFor(level)``, asked again only when ``now`` leaves the second after
    the last asking."""

    __slots__ = ("_asked", "_enabled", "_level", "_logger")

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level
        self._asked = float("-inf")
        self._enabled = False

    def enabled(self, now: float) -> bool:
        asked = self._asked
        if not asked <= now < asked + RECHECK:
            self._enabled = self._logger.isEnabledFor(self._level)
            self._asked = now
        return self._enabled
