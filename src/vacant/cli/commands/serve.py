"""``vacant serve``: the SIP application server, with /metrics and /healthz on --http."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import signal
import sys
from collections.abc import Iterator

import click
import uvicorn
import uvloop

from vacant.api.app import create_app
from vacant.cli.context import CliContext, pass_cli
from vacant.errors import ConfigError
from vacant.service.app import Application, ServeOptions
from vacant.service.call import Network
from vacant.transport.listeners import parse_http, parse_listen

log = logging.getLogger(__name__)

#: Seconds between collections of the young objects once the server is up
#: (:func:`vacant.service.app.collect_young`; automatic collection is off). A collection's
#: pause grows with what it finds alive, and a transaction held for Timer I (5 s) keeps a dozen
#: tracked objects: at 17,500 calls/s, 5 ms is about 1,000 of them, a pause of 0.1-0.3 ms.
#: The automatic thresholds could not keep that bound: CPython counts allocations minus
#: deallocations, and in a steady state the transactions that expire cancel the new ones out,
#: so the young generation grew to 36,000 objects between collections (pauses of 20 ms).
#: The oldest generation is never collected: its full collection walks every live transaction
#: (up to 2 s at a few thousand calls per second), and serving calls leaves no cyclic garbage
#: (none found by ``gc.collect()`` after 80,000 calls), so nothing accumulates there unseen.
YOUNG_GC_INTERVAL = 0.005
#: ``sys.setswitchinterval``: how long a thread may hold the GIL while another waits. The call
#: record writer runs in a worker thread; with the default 5 ms, each time the event loop gives
#: up the GIL (a sendto, an epoll wait) it could wait that long to get it back.
SWITCH_INTERVAL = 0.0005


#: File descriptors besides the media streams': listeners, SIP over TCP/TLS, the database, HTTP.
SPARE_FILES = 1_024


def _raise_open_files_limit(rtp_ports: tuple[int, int]) -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; ``(before, after)``.

    Each call with media holds two sockets (RTP and RTCP): 2,000 calls need over 4,000 file
    descriptors, and a login shell's soft limit is often 1,024. A hard limit too low for the
    RTP port range is logged: calls beyond it get 503 when no socket can be opened.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raised = soft
    # Linux caps RLIMIT_NOFILE at fs.nr_open: the hard limit is never RLIM_INFINITY there.
    if 0 <= soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files limit: cannot raise %d to %d: %s", soft, hard, exc)
        else:
            raised = hard
            log.info("open files limit raised from %d to %d", soft, raised)
    pairs = (rtp_ports[1] - rtp_ports[0] + 1) // 2
    if 0 <= raised < 2 * pairs + SPARE_FILES:
        log.warning(
            "open files limit %d: media for about %d calls (the RTP range has %d port pairs)",
            raised,
            max(0, (raised - SPARE_FILES) // 2),
            pairs,
        )
    return soft, raised


class _HttpServer(uvicorn.Server):
    """uvicorn inside vacant's loop: vacant owns the signals (it drains SIP calls first)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in values)
    except ValueError as exc:
        raise ConfigError(f"--trust: {exc}") from None


def _media_address(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise ConfigError(f"--media-address: must be an IPv4 or IPv6 address: {value!r}") from None


def _port_range(value: str) -> tuple[int, int]:
    """``LOW-HIGH``: 1024..65535, at least one RTP/RTCP pair (an even port and the next)."""
    low_text, dash, high_text = value.partition("-")
    if not (dash and low_text.isdigit() and high_text.isdigit()):
        raise ConfigError(f"--rtp-ports: must be LOW-HIGH, e.g. 20000-29999: {value!r}")
    low, high = int(low_text), int(high_text)
    if not 1024 <= low < high <= 65535 or low + low % 2 + 1 > high:
        raise ConfigError(
            f"--rtp-ports: must be within 1024-65535, LOW < HIGH, with room for a pair: {value!r}"
        )
    return low, high


@click.command("serve")
@click.option("--pool", default="default", show_default=True, help="The pool this server is in.")
@click.option(
    "--sip",
    "sip",
    multiple=True,
    metavar="TRANSPORT:HOST:PORT",
    help="SIP listener: udp:, tcp: or tls: (repeatable; IPv6 as [::1]). "
    "Default: udp and tcp on 0.0.0.0:5060.",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate for tls:.")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key for tls:.")
@click.option("--http", default="127.0.0.1:8080", show_default=True, help="/metrics, /healthz.")
@click.option(
    "--trust",
    multiple=True,
    metavar="CIDR",
    help="Networks allowed to send INVITEs (repeatable). Default: loopback only.",
)
@click.option("--domain", help="Domain for auto-attendant redirects (sip:+N@DOMAIN;user=phone).")
@click.option(
    "--max-calls",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Calls in progress above which new INVITEs get 503.",
)
@click.option(
    "--max-rate",
    type=click.FloatRange(min=1),
    default=50_000.0,
    show_default=True,
    help="New calls per second above which INVITEs get 503.",
)
@click.option(
    "--media-address",
    metavar="HOST",
    help="Our RTP address (SDP c=/o=; Contact host for a wildcard SIP listener). "
    "Default: the first --sip host, or 127.0.0.1 when that is a wildcard.",
)
@click.option(
    "--rtp-ports",
    default="20000-29999",
    show_default=True,
    metavar="LOW-HIGH",
    help="RTP port range (RTP on even ports, RTCP on the next odd one).",
)
@click.option(
    "--no-media-timeout",
    type=click.FloatRange(min=1, max=3600),
    default=30.0,
    show_default=True,
    help="Hang up a call from which no RTP/RTCP arrived for this many seconds.",
)
@click.option(
    "--heartbeat-interval",
    type=click.FloatRange(min=0.1, max=60),
    default=2.0,
    show_default=True,
    help="Seconds between this instance's heartbeats in the database (docs/pools.md).",
)
@pass_cli
def serve(
    cli: CliContext,
    pool: str,
    sip: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    http: str,
    trust: tuple[str, ...],
    domain: str | None,
    max_calls: int,
    max_rate: float,
    media_address: str | None,
    rtp_ports: str,
    no_media_timeout: float,
    heartbeat_interval: float,
) -> None:
    """Answer SIP calls with the routing decision until SIGTERM or Ctrl-C."""
    defaults = ServeOptions()
    options = ServeOptions(
        pool=pool,
        sip=tuple(parse_listen(s) for s in sip) or defaults.sip,
        tls_cert=tls_cert,
        tls_key=tls_key,
        trusted=_networks(trust) or defaults.trusted,
        domain=domain,
        max_calls=max_calls,
        max_rate=max_rate,
        young_gc_interval=YOUNG_GC_INTERVAL,
        media_address=_media_address(media_address),
        rtp_ports=_port_range(rtp_ports),
        no_media_timeout=no_media_timeout,
        http=http,
        heartbeat_interval=heartbeat_interval,
        check_interval=min(0.5, heartbeat_interval),
    )
    http_host, http_port = parse_http(http)
    _raise_open_files_limit(options.rtp_ports)
    application = Application(cli.engine, options, report=click.echo)
    config = uvicorn.Config(
        create_app(application),
        host=http_host,
        port=http_port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    web = _HttpServer(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        http_task = asyncio.create_task(web.serve())  # owned: stopped and awaited below
        try:
            await application.run(stop)
        finally:
            web.should_exit = True
            await http_task

    sys.setswitchinterval(SWITCH_INTERVAL)
    uvloop.run(main())


def register(cli: click.Group) -> None:
    cli.add_command(serve)
