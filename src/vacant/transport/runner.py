"""The asyncio glue around ``SipEndpoint``: sockets in, events to the TU, octets out, one timer.

This is the only code that touches SIP sockets. It follows aioquic's ``transmit()`` pattern:
after anything reaches the endpoint (a datagram, a stream frame, a timer), the runner hands every
event to the TU callback, sends what the endpoint queued, and keeps exactly one ``loop.call_at``
armed no later than the endpoint's earliest deadline (which then waits for datagrams queued
unread, below). Datagrams read in one loop iteration share that pass (``feed`` schedules it
once).

- UDP: one ``DatagramProtocol`` per listener; sending never awaits. Responses go out of a
  listener of the destination's address family.
- Calls before housekeeping: a timer that falls due while datagrams wait unread on a UDP
  listener waits for them to be read (up to ``HOUSEKEEPING_SLACK``), so a burst of INVITEs is
  answered before the expiries due meanwhile (Timer I retiring transactions, retransmissions);
  ``datagrams_waiting`` tells the server's collector the same.
- TCP/TLS: ``asyncio.start_server`` with one ``StreamFramer`` per connection (RFC 3261 §18.3
  framing, bounded buffer). Responses go back on the connection the request came on
  (§18.2.2); connections idle longer than ``idle_timeout`` are closed; a peer that does not
  read (write buffer over ``max_write_buffer``) is disconnected; at most ``max_connections``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import ssl
import termios
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from vacant.errors import ParseError
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address, Event, Transport
from vacant.sip.framing import PONG, Ping, StreamFramer
from vacant.transport.listeners import ListenSpec

log = logging.getLogger(__name__)

#: Bounds of the caches of UDP source addresses and of send routes (cleared when full).
_SOURCES = 4096
_ROUTES = 4096

#: How late a timer may run so that datagrams waiting unread are read (and answered) first, and
#: how often it looks again meanwhile. Every SIP timer is a lower bound (RFC 3261 §17: an
#: expiry or a retransmission a few milliseconds late is one over a slower network), and a
#: load generator or an SBC sends in bursts: SIPp's 17,500 calls/s come as up to 130 INVITEs at
#: once, and the expiries due while they are read (about 3 µs a call, out of some 40) delayed
#: every answer behind them (docs/benchmarks.md, ninth round).
HOUSEKEEPING_SLACK = 0.010
HOUSEKEEPING_RECHECK = 0.001


@dataclass(frozen=True, slots=True)
class StreamSettings:
    idle_timeout: float = 300.0
    max_connections: int = 1024
    max_write_buffer: int = 1 << 20
    read_size: int = 65536


@dataclass(slots=True)
class TransportStats:
    connections_refused: int = 0
    framing_errors: int = 0
    send_failures: int = 0


class EndpointRunner:
    """Runs ``endpoint`` on the listeners of ``start``; ``on_event`` is the TU."""

    def __init__(
        self,
        endpoint: SipEndpoint,
        on_event: Callable[[Event], None],
        *,
        ssl_context: ssl.SSLContext | None = None,
        settings: StreamSettings | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.on_event = on_event
        self.ssl_context = ssl_context
        self.settings = settings or StreamSettings()
        self.stats = TransportStats()
        self.bound: list[ListenSpec] = []
        self._loop = asyncio.get_running_loop()
        self._udp: dict[int, asyncio.DatagramTransport] = {}
        #: The UDP listeners' file descriptors, for ``datagrams_waiting``.
        self._udp_fds: list[int] = []
        self._waiting = array("i", [0])
        self._servers: list[asyncio.Server] = []
        self._connections: dict[Address, asyncio.StreamWriter] = {}
        #: UDP destination → (listener, socket address): ``_send``'s fast path.
        self._routes: dict[Address, tuple[asyncio.DatagramTransport, tuple[str, int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._pump_scheduled = False
        self._closed = False
        self._deadline: float | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, specs: list[ListenSpec]) -> list[ListenSpec]:
        """Open every listener; returns them with the ports actually bound (port 0 → free)."""
        for spec in specs:
            if spec.transport == "udp":
                self.bound.append(await self._start_udp(spec))
            else:
                self.bound.append(await self._start_stream(spec))
        return self.bound

    async def _start_udp(self, spec: ListenSpec) -> ListenSpec:
        family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(spec.host, spec.port), family=family
        )
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # a bigger buffer absorbs bursts; best effort
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._udp.setdefault(family, transport)
        self._udp_fds.append(sock.fileno())
        return ListenSpec("udp", spec.host, transport.get_extra_info("sockname")[1])

    async def _start_stream(self, spec: ListenSpec) -> ListenSpec:
        tls = spec.transport == "tls"
        if tls and self.ssl_context is None:
            raise ValueError("a tls: listener needs a certificate and key")
        server = await asyncio.start_server(
            lambda r, w: self._accept(r, w, spec.transport),
            spec.host,
            spec.port,
            ssl=self.ssl_context if tls else None,
            reuse_address=True,
        )
        self._servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return ListenSpec(spec.transport, spec.host, port)

    async def stop_listening(self) -> None:
        """Close the stream listeners (UDP stays open to finish transactions)."""
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    async def close(self) -> None:
        self._closed = True
        await self.stop_listening()
        if self._timer is not None:
            self._timer.cancel()
        for writer in list(self._connections.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in self._udp.values():
            transport.close()
        self._udp_fds.clear()

    # --- the endpoint loop ------------------------------------------------------------------

    def feed(self, data: bytes, source: Address) -> None:
        """One datagram or stream frame from ``source``.

        The endpoint takes it at once; its events and messages are handled by one ``pump``
        soon after, shared by every datagram the loop reads in the same iteration (libuv reads
        up to 32 per wake-up): one pass over the queues and one timer check per batch.
        """
        self.endpoint.receive(data, source, self._loop.time())
        if not self._pump_scheduled:
            self._pump_scheduled = True
            self._loop.call_soon(self._scheduled_pump)

    def _scheduled_pump(self) -> None:
        self._pump_scheduled = False
        if not self._closed:
            self.pump()

    def pump(self) -> None:
        """Hand events to the TU, send what is queued, re-arm the timer. The TU calls this too
        after acting outside ``on_event`` (a delayed answer)."""
        endpoint = self.endpoint
        on_event = self.on_event
        while (event := endpoint.next_event()) is not None:
            try:
                on_event(event)
            except Exception:  # the root of this call's handling: log, keep serving others
                log.exception("handling %s failed", type(event).__name__)
        for data, destination in endpoint.messages_to_send():
            self._send(data, destination)
        deadline = endpoint.get_timer()
        # An armed timer that fires no later than the new deadline stays: when it fires, the
        # endpoint does what is due (maybe nothing) and the timer is armed again. This spares a
        # cancel and a new loop timer each time the earliest deadline moves later (an ACK
        # cancelling the oldest Timer G, at every call).
        if deadline is not None and (self._deadline is None or deadline < self._deadline):
            if self._timer is not None:
                self._timer.cancel()
            self._deadline = deadline
            self._timer = self._loop.call_at(deadline, self._fire)

    def datagrams_waiting(self) -> bool:
        """Whether a datagram waits unread on a UDP listener (``FIONREAD``: the size of the next
        one, 0 when none)."""
        waiting = self._waiting
        for fd in self._udp_fds:
            try:
                fcntl.ioctl(fd, termios.FIONREAD, waiting, True)
            except OSError:  # closed under us: nothing waits there
                continue
            if waiting[0]:
                return True
        return False

    def _fire(self) -> None:
        now = self._loop.time()
        due = self._deadline
        if due is not None and now - due < HOUSEKEEPING_SLACK and self.datagrams_waiting():
            # Calls first: look again once the loop has read what waits (``_deadline`` stays
            # the due time, so ``pump`` keeps this timer).
            self._timer = self._loop.call_at(now + HOUSEKEEPING_RECHECK, self._fire)
            return
        if self._pump_scheduled:
            # Requests read before this timer ran (libuv runs timers before the pass that
            # ``feed`` scheduled) are answered first. ``_deadline`` is still the due time, so
            # this pump arms no new timer.
            self.pump()
        self._timer = self._deadline = None
        self.endpoint.handle_timer(now)
        self.pump()

    def _send(self, data: bytes, destination: Address) -> None:
        route = self._routes.get(destination)
        if route is not None:
            route[0].sendto(data, route[1])
            return
        if destination.transport == "udp":
            family = socket.AF_INET6 if ":" in destination.host else socket.AF_INET
            udp = self._udp.get(family)
            if udp is not None:
                address = (destination.host, destination.port)
                if len(self._routes) >= _ROUTES:
                    self._routes.clear()
                self._routes[destination] = (udp, address)
                udp.sendto(data, address)
                return
        else:
            writer = self._connections.get(destination)
            if writer is not None and not writer.is_closing():
                writer.write(data)
                if writer.transport.get_write_buffer_size() > self.settings.max_write_buffer:
                    log.warning("closing %s: it does not read what we send", destination)
                    writer.close()
                return
        self.stats.send_failures += 1
        log.info("no way to send to %s; reporting a transport error", destination)
        self._loop.call_soon(self._transport_error, destination)

    def _transport_error(self, destination: Address) -> None:
        self.endpoint.transport_error(destination, self._loop.time())
        self.pump()

    # --- streams ----------------------------------------------------------------------------

    def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: Transport
    ) -> None:
        if len(self._connections) >= self.settings.max_connections:
            self.stats.connections_refused += 1
            writer.close()
            return
        peer = writer.get_extra_info("peername")
        address = Address(peer[0], peer[1], transport)
        self._connections[address] = writer
        task = asyncio.create_task(self._read(reader, writer, address))
        self._tasks.add(task)  # owned: cancelled and awaited by close()
        task.add_done_callback(self._tasks.discard)

    async def _read(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: Address
    ) -> None:
        framer = StreamFramer(self.endpoint.limits)
        settings = self.settings
        try:
            while True:
                async with asyncio.timeout(settings.idle_timeout):
                    data = await reader.read(settings.read_size)
                if not data:
                    break
                framer.feed(data)
                while (frame := framer.next_frame()) is not None:
                    if isinstance(frame, Ping):
                        writer.write(PONG)  # RFC 5626 §4.4.1 keep-alive
                    else:
                        self.feed(frame, address)
        except TimeoutError:
            log.debug("closing idle connection %s", address)
        except ParseError as exc:
            self.stats.framing_errors += 1
            log.info("closing %s: unframeable stream: %s", address, exc)
        except (ConnectionError, ssl.SSLError) as exc:
            log.debug("connection %s failed: %s", address, exc)
        finally:
            if self._connections.get(address) is writer:
                del self._connections[address]
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, runner: EndpointRunner) -> None:
        self.runner = runner
        #: Source addresses seen lately, so a peer's datagrams share one ``Address``.
        self.sources: dict[tuple[str | bytes, int], Address] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        source = self.sources.get(addr)
        if source is None:
            if len(self.sources) >= _SOURCES:
                self.sources.clear()
            source = self.sources[addr] = Address(str(addr[0]), addr[1], "udp")
        self.runner.feed(data, source)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)
