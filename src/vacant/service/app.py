"""The server process: wiring and lifecycle of one vacant instance.

It owns the SIP endpoint and its listeners, the call handler, the call-record writer and the
routing snapshot. The snapshot is immutable: when the store's configuration version changes
(polled; SQLite has no notifications), a new one is built in a worker thread and swapped in whole,
so calls in progress keep the snapshot they started with and none is dropped.

Stopping (SIGTERM): new INVITEs get 503, the stream listeners close, transactions in flight
finish (up to ``drain_timeout``), the last call records are written, and ``run`` returns.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from vacant import __version__
from vacant.errors import ConfigError
from vacant.routing.model import RoutingConfig
from vacant.routing.policy import Snapshot
from vacant.service.call import LOOPBACK, CallHandler, CallSettings, Network
from vacant.service.cdr import CdrWriter
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.transport.listeners import ListenSpec
from vacant.transport.runner import EndpointRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``vacant serve`` is told on its command line."""

    pool: str = "default"
    sip: tuple[ListenSpec, ...] = (
        ListenSpec("udp", "0.0.0.0", 5060),
        ListenSpec("tcp", "0.0.0.0", 5060),
    )
    tls_cert: str | None = None
    tls_key: str | None = None
    trusted: tuple[Network, ...] = LOOPBACK
    domain: str | None = None
    max_calls: int = 10_000
    max_rate: float = 50_000.0
    poll_interval: float = 1.0
    drain_timeout: float = 5.0
    seed: int | None = field(default=None)
    #: The cyclic garbage collector's thresholds once the server is up (``gc.set_threshold``),
    #: after the objects of start-up are frozen out of its sight (``gc.freeze``); ``None``
    #: leaves the collector alone (an application embedded in another process).
    gc_thresholds: tuple[int, int, int] | None = None


class Application:
    """One vacant server. ``report`` prints the lines an operator watches."""

    def __init__(
        self, engine: Engine, options: ServeOptions, *, report: Callable[[str], None]
    ) -> None:
        self.engine = engine
        self.options = options
        self.report = report
        self.started = time.time()
        self.version = -1
        self._snapshot = Snapshot.build(RoutingConfig())
        self.cdr = CdrWriter(engine)
        self.reloads = 0
        self.reload_failures = 0
        self.endpoint: SipEndpoint | None = None
        self.handler: CallHandler | None = None
        self.runner: EndpointRunner | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    # --- configuration ----------------------------------------------------------------------

    def reload(self) -> bool:
        """Rebuild the snapshot if the configuration version changed; True when swapped.

        Runs in a worker thread: the event loop keeps answering calls with the old snapshot.
        """
        with session_scope(self.engine) as s:
            version = repo.config_version(s)
            if version == self.version:
                return False
            started = time.perf_counter()
            config = repo.load_routing_config(s)
        snapshot = Snapshot.build(config)
        self._snapshot, self.version = snapshot, version  # one assignment: swapped whole
        self.reloads += 1
        self.report(
            f"routing snapshot v{version}: {len(config.ranges)} ranges, "
            f"{len(config.announcements)} announcements, {len(config.assigned)} assigned numbers, "
            f"{len(config.rules)} normalisation rules "
            f"({(time.perf_counter() - started) * 1000:.0f} ms)"
        )
        return True

    async def _follow_config(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with asyncio.timeout(self.options.poll_interval):
                    await stop.wait()
            except TimeoutError:
                try:
                    await asyncio.to_thread(self.reload)
                except Exception:  # a task's root: keep serving the last good snapshot
                    self.reload_failures += 1
                    log.exception("configuration reload failed; keeping v%s", self.version)

    # --- lifecycle --------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext | None:
        options = self.options
        if not any(spec.transport == "tls" for spec in options.sip):
            return None
        if not (options.tls_cert and options.tls_key):
            raise ConfigError("a tls: listener needs --tls-cert and --tls-key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(options.tls_cert, options.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--tls-cert/--tls-key: cannot load: {exc}") from None
        return context

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then drain and return."""
        options = self.options
        context = self._ssl_context()
        await asyncio.to_thread(self.reload)
        loop = asyncio.get_running_loop()
        rng = random.Random(options.seed)
        endpoint = SipEndpoint(
            rng=rng, local=[Address(s.host, s.port, s.transport) for s in options.sip]
        )
        settings = CallSettings(
            pool=options.pool,
            domain=options.domain,
            trusted=options.trusted,
            max_calls=options.max_calls,
            max_rate=options.max_rate,
        )
        handler = CallHandler(
            endpoint, lambda: self._snapshot, self.cdr.record, loop.time, settings
        )
        runner = EndpointRunner(endpoint, handler, ssl_context=context)
        self.endpoint, self.handler, self.runner = endpoint, handler, runner
        cdr_stop = asyncio.Event()
        try:
            bound = await runner.start(list(options.sip))
        except OSError as exc:
            await runner.close()
            raise ConfigError(f"--sip: cannot listen: {exc}") from None
        if options.gc_thresholds is not None:
            _tune_gc(options.gc_thresholds)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.cdr.run(cdr_stop))
                tasks.create_task(self._follow_config(stop))
                self.report(
                    f"vacant {__version__} pool {options.pool} listening on "
                    + ", ".join(str(spec) for spec in bound)
                )
                await stop.wait()
                self.report("stopping: new calls get 503; finishing calls in progress")
                handler.draining = True
                await runner.stop_listening()
                await self._drain(runner)
                cdr_stop.set()
        finally:
            await runner.close()
        self.report(f"vacant stopped ({self.cdr.written} call records written)")

    async def _drain(self, runner: EndpointRunner) -> None:
        """Wait until no call is in progress and no final response awaits its ACK."""
        handler, endpoint = self.handler, self.endpoint
        assert handler is not None
        assert endpoint is not None
        deadline = asyncio.get_running_loop().time() + self.options.drain_timeout
        while asyncio.get_running_loop().time() < deadline:
            if handler.in_progress == 0 and not endpoint.busy:
                return
            await asyncio.sleep(0.05)
        log.warning("stopped with calls still in progress after %.1f s", self.options.drain_timeout)


def _tune_gc(thresholds: tuple[int, int, int]) -> None:
    """Keep the cyclic garbage collector off the call path.

    A call allocates no reference cycles (its objects die by reference counting), yet every
    object that outlives a young collection, a transaction kept for Timer I (5 s) say, is
    traversed again by each older collection. The start-up objects (the routing snapshot, the
    modules, the web application) are frozen: no collection ever traverses them again. Then the
    young collection runs less often, and the oldest rarely: see ``vacant serve``.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
