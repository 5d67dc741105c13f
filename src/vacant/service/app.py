"""The server process: wiring and lifecycle of one vacant instance.

It owns the SIP endpoint and its listeners, the call handler, the call-record writer and the
routing snapshot. The snapshot is immutable: when the store's configuration version changes
(PostgreSQL notifies it, :mod:`vacant.service.notify`; it is also polled every second, and only
polled on SQLite), a new one is built in a worker thread and swapped in whole, so calls in
progress keep the snapshot they started with and none is dropped.

It registers as an instance of its pool and heartbeats (:class:`vacant.service.pools.PoolMonitor`),
which also says which pools' announcement calls it answers (its own, and a pool it backs up while
that pool is down: automatic failover).

It also owns the media engine (one media clock and the RTP port range, started and stopped with
the server) and the prompt cache, rebuilt with the snapshot (in the same worker thread): a call
never reads the store.

Stopping (SIGTERM): new INVITEs get 503, announcement calls are ended (BYE, or the final response
of an early-media call), the stream listeners close, transactions in flight finish (up to
``drain_timeout``), the media engine stops, the last call records are written, and ``run``
returns.
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

from vacant import __version__, sip
from vacant.errors import ConfigError, MediaError
from vacant.media import frames, tones
from vacant.media.engine import MediaEngine
from vacant.routing.model import RoutingConfig
from vacant.routing.policy import Snapshot
from vacant.service import notify
from vacant.service.call import CAPABILITIES, LOOPBACK, CallHandler, CallSettings, Network
from vacant.service.cdr import CdrWriter
from vacant.service.pools import InstanceSettings, PoolMonitor
from vacant.service.prompt_cache import PromptCache
from vacant.service.workers import IdleWorkers
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address
from vacant.sip.uri import format_host, parse_uri
from vacant.store import prompts as prompt_store
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.store.rows import CONFIG_CHANNEL
from vacant.transport.listeners import ListenSpec
from vacant.transport.runner import HOUSEKEEPING_RECHECK, HOUSEKEEPING_SLACK, EndpointRunner

log = logging.getLogger(__name__)

#: How long a reload, a heartbeat or a pool check waits for an idle core before a thread at a
#: lower nice value runs it anyway (:mod:`vacant.service.workers`): a small delay beside the
#: 0.5 s check and the 2 s heartbeat, and a saturated core never stops them.
WORKER_MAX_WAIT = 0.1


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
    #: Seconds between collections of the young objects once the server is up, with the
    #: objects of start-up frozen out of the collector's sight and automatic collection off
    #: (:func:`collect_young`); ``None`` leaves the collector alone (an application embedded
    #: in another process).
    young_gc_interval: float | None = None
    #: Our RTP address (c= and o= of our SDP, and the host of our Contact when the SIP listener
    #: is a wildcard); ``None``: the first SIP listener's host, or 127.0.0.1 when it is a
    #: wildcard (then set it: a peer elsewhere cannot send to 127.0.0.1).
    media_address: str | None = None
    #: The RTP port range (inclusive; RTP on even ports, RTCP on the next odd one).
    rtp_ports: tuple[int, int] = (20000, 29999)
    #: Hang up a call from which no RTP/RTCP arrived for this long (seconds).
    no_media_timeout: float = 30.0
    #: The HTTP address, as registered with this instance (``vacant pool status``).
    http: str = ""
    #: Seconds between heartbeats, and between checks of the pools' health (docs/pools.md).
    heartbeat_interval: float = 2.0
    check_interval: float = 0.5


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
        self._prompts = PromptCache()
        self.cdr = CdrWriter(engine)
        #: The configuration reloads, the heartbeat and the pool checks run here, below the
        #: calls (the idle scheduling class), yet within ``WORKER_MAX_WAIT`` seconds.
        self.workers = IdleWorkers(2, name="vacant-worker", max_wait=WORKER_MAX_WAIT)
        self.reloads = 0
        self.reload_failures = 0
        self.endpoint: SipEndpoint | None = None
        self.handler: CallHandler | None = None
        self.runner: EndpointRunner | None = None
        self.media: MediaEngine | None = None
        self.monitor = PoolMonitor(
            engine,
            InstanceSettings(
                pool=options.pool,
                sip=",".join(str(spec) for spec in options.sip),
                http=options.http,
                heartbeat_interval=options.heartbeat_interval,
                check_interval=options.check_interval,
            ),
        )
        #: Configuration change notifications received (PostgreSQL LISTEN).
        self.notifications = 0

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def prompts(self) -> PromptCache:
        return self._prompts

    @property
    def media_address(self) -> str:
        """``--media-address``, else the first SIP listener's host unless it is a wildcard."""
        options = self.options
        if options.media_address:
            return options.media_address
        host = options.sip[0].host if options.sip else "0.0.0.0"
        return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    # --- configuration ----------------------------------------------------------------------

    def reload(self) -> bool:
        """Rebuild the snapshot if the configuration version changed; True when swapped.

        Runs in a worker thread: the event loop keeps answering calls with the old snapshot.
        """
        with session_scope(self.engine, write=False) as s:
            version = repo.config_version(s)
            if version == self.version:
                return False
            started = time.perf_counter()
            config = repo.load_routing_config(s)
        pools = sorted({announcement.pool for announcement in config.announcements})
        # A transaction of its own that may write: prompts imported before they were decoded at
        # import are decoded now and stored. A change made in between bumps the version again.
        # Only the audio of prompts whose version the running cache does not hold is read.
        with session_scope(self.engine) as s:
            versions = prompt_store.prompt_versions(s, pools)
            held = self._prompts
            wanted = {
                a.id
                for a in config.announcements
                if a.id in versions and ((v := versions[a.id]) is None or not held.has(v, a.sit))
            }
            audio = prompt_store.prompts_for_pools(s, pools, only=wanted)
        snapshot = Snapshot.build(config)
        prompts = self._prompts.rebuild(
            config.announcements, audio, frames.encode, tones.sit_vacant_code, versions
        )
        # One assignment: swapped whole, and the prompts with it.
        self._snapshot, self._prompts, self.version = snapshot, prompts, version
        self.reloads += 1
        self.report(
            f"routing snapshot v{version}: {len(config.ranges)} ranges, "
            f"{len(config.announcements)} announcements, {len(config.assigned)} assigned numbers, "
            f"{len(config.rules)} normalisation rules "
            f"({(time.perf_counter() - started) * 1000:.0f} ms)"
        )
        return True

    def serves(self, pool: str) -> bool:
        """Whether this instance answers the announcement calls of ``pool`` now."""
        return self.monitor.coverage.serves(pool)

    def _notified(self, changed: asyncio.Event) -> Callable[[], None]:
        def on_notify() -> None:
            self.notifications += 1
            changed.set()

        return on_notify

    async def _follow_config(self, stop: asyncio.Event) -> None:
        """Reload on every change PostgreSQL notifies (LISTEN: :mod:`vacant.service.notify`),
        and in any case every ``poll_interval`` (SQLite: polling only)."""
        changed = asyncio.Event()

        async def wake_on_stop() -> None:
            await stop.wait()
            changed.set()

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(wake_on_stop())
            if self.engine.dialect.name == "postgresql":
                tasks.create_task(
                    notify.listen(self.engine.url, CONFIG_CHANNEL, self._notified(changed), stop)
                )
            while not stop.is_set():
                try:
                    async with asyncio.timeout(self.options.poll_interval):
                        await changed.wait()
                except TimeoutError:
                    pass
                changed.clear()
                if stop.is_set():
                    break
                try:
                    await self.workers.run(self.reload)
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
        await self.workers.run(self.reload)
        await self.workers.run(self.monitor.register)
        loop = asyncio.get_running_loop()
        rng = random.Random(options.seed)
        media_address = self.media_address
        endpoint = SipEndpoint(
            rng=rng,
            local=[Address(s.host, s.port, s.transport) for s in options.sip],
            capabilities=CAPABILITIES,
        )
        settings = CallSettings(
            pool=options.pool,
            domain=options.domain,
            trusted=options.trusted,
            max_calls=options.max_calls,
            max_rate=options.max_rate,
            media_address=media_address,
        )
        media = MediaEngine(
            media_address,
            options.rtp_ports,
            rng=random.Random(rng.getrandbits(64)),
            no_media_timeout=options.no_media_timeout,
        )
        handler = CallHandler(
            endpoint,
            lambda: self._snapshot,
            self.cdr.record,
            loop.time,
            settings,
            engine=media,
            prompts=lambda: self._prompts,
            later=loop.call_later,
            rng=rng,
        )
        runner = EndpointRunner(endpoint, handler, ssl_context=context)
        handler.on_wake = runner.pump
        handler.serves = self.serves
        self.endpoint, self.handler, self.runner, self.media = endpoint, handler, runner, media
        cdr_stop = asyncio.Event()
        try:
            await media.start()
        except (OSError, MediaError) as exc:
            raise ConfigError(f"--media-address/--rtp-ports: cannot open: {exc}") from None
        try:
            bound = await runner.start(list(options.sip))
        except OSError as exc:
            await runner.close()
            await media.close()
            raise ConfigError(f"--sip: cannot listen: {exc}") from None
        for spec in bound:
            # §8.1.1.8: our Contact, where in-dialog requests come; a wildcard listener is
            # reached at the media address.
            host = media_address if spec.host in ("0.0.0.0", "::") else spec.host
            suffix = "" if spec.transport == "udp" else f";transport={spec.transport}"
            handler.contacts.setdefault(
                spec.transport, parse_uri(f"sip:{format_host(host)}:{spec.port}{suffix}")
            )
        try:
            async with asyncio.TaskGroup() as tasks:
                if options.young_gc_interval is not None:
                    young = collect_young(
                        options.young_gc_interval, cdr_stop, runner.datagrams_waiting
                    )
                    tasks.create_task(young)
                tasks.create_task(self.cdr.run(cdr_stop))
                tasks.create_task(self._follow_config(stop))
                tasks.create_task(self.monitor.run(stop, self.workers.run))
                self.report(
                    f"vacant {__version__} pool {options.pool} listening on "
                    + ", ".join(str(spec) for spec in bound)
                    + (" (SIP core compiled)" if sip.COMPILED else "")
                )
                await stop.wait()
                self.report("stopping: new calls get 503; finishing calls in progress")
                handler.draining = True
                handler.stop_calls()
                runner.pump()
                await runner.stop_listening()
                await self._drain(runner)
                cdr_stop.set()
        finally:
            await runner.close()
            await media.close()
            self.workers.shutdown(wait=False)  # idle: every task that used it has ended
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


async def collect_young(
    interval: float, stop: asyncio.Event, busy: Callable[[], bool] = lambda: False
) -> None:
    """Keep the cyclic garbage collector off the call path until ``stop`` is set.

    A call allocates no reference cycles (its objects die by reference counting), yet the
    collector traverses every tracked object that is alive when it runs: a transaction kept for
    Timer I (5 s) say. The start-up objects (the routing snapshot, the modules, the web
    application) are frozen: no collection ever traverses them again. Automatic collection is
    off, because its trigger (allocations minus deallocations) stays near zero while expiring
    calls free as much as new ones allocate, and the young generation then grows unseen into
    one long pause. Instead the young and middle generations are collected every ``interval``
    seconds, so each object is traversed once, soon after it is made, in a pause bounded by
    what the calls of one interval leave alive; survivors move to the oldest generation, which
    is not collected (see ``vacant serve``'s ``YOUNG_GC_INTERVAL``). A collection due while
    ``busy()`` (datagrams wait unread: the runner's ``datagrams_waiting``) waits for them to be
    read, as the SIP timers do, up to ``HOUSEKEEPING_SLACK``: its pause is not spent in the
    middle of a burst of calls.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        while not stop.is_set():
            await asyncio.sleep(interval)
            waited = 0.0
            while waited < HOUSEKEEPING_SLACK and busy():
                await asyncio.sleep(HOUSEKEEPING_RECHECK)
                waited += HOUSEKEEPING_RECHECK
            gc.collect(1)
    finally:
        gc.enable()
