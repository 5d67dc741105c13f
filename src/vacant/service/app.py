"""The server process: owns the routing snapshot and swaps it whole when configuration changes.

Until the SIP layer lands, ``vacant serve`` loads the snapshot, reports it, follows configuration
changes by polling the store's version counter, and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from sqlalchemy import Engine

from vacant.routing.policy import Snapshot
from vacant.store import repository as repo
from vacant.store.engine import session_scope

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0


class Application:
    """Wiring and lifecycle of one vacant server."""

    def __init__(self, engine: Engine, *, pool: str, report: Callable[[str], None]) -> None:
        self.engine = engine
        self.pool = pool
        self.report = report
        self.snapshot: Snapshot | None = None
        self.version = -1

    def reload(self) -> bool:
        """Rebuild the snapshot when the configuration version changed; True when swapped."""
        with session_scope(self.engine) as s:
            version = repo.config_version(s)
            if version == self.version:
                return False
            started = time.perf_counter()
            config = repo.load_routing_config(s)
        snapshot = Snapshot.build(config)
        self.snapshot, self.version = snapshot, version  # swapped whole, never mutated
        self.report(
            f"routing snapshot v{version}: {len(config.ranges)} ranges, "
            f"{len(config.announcements)} announcements, {len(config.assigned)} assigned numbers, "
            f"{len(config.rules)} normalisation rules "
            f"({(time.perf_counter() - started) * 1000:.0f} ms)"
        )
        for r in config.ranges[:20]:
            span = r.pattern if r.pattern else f"{r.start} .. {r.end}"
            self.report(f"  {r.priority:>5}  {r.name}: {span}")
        if len(config.ranges) > 20:
            self.report(f"  ... and {len(config.ranges) - 20} more")
        return True

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.reload)
        self.report(f"vacant serving pool {self.pool}; stop with SIGTERM or Ctrl-C")
        while not stop.is_set():
            try:
                async with asyncio.timeout(POLL_INTERVAL):
                    await stop.wait()
            except TimeoutError:
                try:
                    await asyncio.to_thread(self.reload)
                except Exception:  # a task's root: keep serving the last good snapshot
                    log.exception("configuration reload failed; keeping version %s", self.version)
        self.report("vacant stopped")


def serve_forever(
    engine: Engine, *, pool: str, sip: list[str], http: str, report: Callable[[str], None] = print
) -> int:
    """Run until SIGTERM/SIGINT; return the exit code."""
    del sip, http  # the SIP and HTTP listeners come with their issues

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Application(engine, pool=pool, report=report).run(stop)

    asyncio.run(main())
    return 0
