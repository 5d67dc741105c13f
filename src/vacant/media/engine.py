"""The media engine: RTP playout of pre-encoded 20 ms frames for every call of the process.

One media clock for the process (never a task per stream) sends each playing stream's next
frame at the absolute times ``t0 + n * 0.020`` (DESIGN.md §5). It ticks every 5 ms and each
stream sends on one tick in four (its phase), so a tick handles a quarter of the streams. A tick
that comes more than a frame time late (a stalled thread, a starved CPU) is skipped rather than
sending its packets together with the next ones; skipped ticks are counted (``late_ticks``),
nothing of the prompt is lost (the audio resumes where it stopped) and the RTP timestamp still
follows the sampling clock (RFC 3550 §5.1), with the marker bit on the packet after the gap
(RFC 3551 §4.1).

**Threads.** The clock runs in a *media thread* the engine starts: it blocks in ``epoll`` on a
Linux timerfd (absolute, nanosecond resolution; the kernel counts missed ticks) and on every
stream's sockets. Each ``sendto`` releases the GIL, so the kernel's part of it (most of a
packet's cost, and on loopback the receiver's side too) runs on another core while the event
loop thread handles SIP, and an INVITE no longer waits for a tick in progress. The event loop
thread keeps call control: ``open()`` binds the sockets and returns the stream at once (the SDP
answer needs its port); ``play()``, ``update()`` and ``close()`` check their arguments (and
build SRTP sessions) in the caller's thread, then hand the change to the media thread through
a command queue (a ``deque``: ``append`` and ``popleft`` are atomic) that it drains at the start
of each tick, so they take effect within a tick (5 ms) and no lock is ever held across a tick.
The media thread alone touches a stream's playout and socket state afterwards, and closes its
sockets (never while it may still use them). What it tells call control (a prompt finished, no
media) goes back to the loop with ``call_soon_threadsafe``, and is dropped there if the stream
was closed or played again meanwhile.

**The clock rests** while no stream is open: the media thread disarms the timerfd and sleeps in
``epoll`` until a command comes (``open()`` gives one), and the loop thread re-arms it for the
next tick of the same grid. An idle thread that woke 200 times a second would take the GIL from
the event loop as often, and each time the loop waits for it to run: at 17,500 calls/s on the
SIP paths that need no media, such waits of 2-4 ms were the calls' 99th percentile
(docs/benchmarks.md, eighth round).

Inbound RTP and RTCP are read in the media thread too, from the same ``epoll``: who reads
decides where we send (symmetric RTP latches the destination) and feeds the no-media check, so
one thread owns all of a stream's media state and nothing is shared but the queue; and a real
caller sends as many packets as we do (50 a second), which would otherwise be as many reads
for the SIP loop. A tick goes first when it is due together with reads.

``clock="loop"`` runs the same clock in the event loop thread instead (its timer, planned from
``t0`` each time: the schedule never drifts; uvloop's timers have millisecond resolution), with
the sockets read by the loop's ``add_reader``: the fallback where there is no timerfd, and a
single-threaded mode for tests that drive the clock by hand.

Each :class:`Stream` binds an RTP socket on an even port of the configured range and its RTCP
socket on the next odd port (RFC 3550 §11), IPv4 or IPv6 by the engine's address. Inbound RTP
and RTCP are read and dropped: they only tell us that the caller is alive (the no-media timeout)
and where it really is (symmetric RTP, RFC 4961: we send to the source of the first valid RTP
packet instead of the SDP address when they differ). Every stream sends an RTCP SR + SDES CNAME
at randomised intervals around ``rtcp_interval`` (§6.2, §6.3.1), and SR + SDES + BYE when it is
closed (§6.6). SDES-keyed SRTP/SRTCP (RFC 3711, keys from RFC 4568 a=crypto) goes through
pylibsrtp: outbound packets are protected with our key, inbound ones unprotected with the
caller's, and what fails authentication is dropped and counted.

The per-tick path is the cost that matters (2,000 streams are 100,000 packets a second): each
stream owns one preallocated bytearray, the header is written into it with ``struct.pack_into``
and the payload copied after it; one ``sendto`` per packet (``sendmmsg`` cannot batch across
streams: each stream sends from its own socket, so its own source port). A full socket buffer
drops the packet (counted in ``send_errors``): late audio is worthless.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import ipaddress
import logging
import os
import random
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Final, Literal

import pylibsrtp

from vacant.errors import MediaError
from vacant.media import rtp
from vacant.media.offer_answer import Negotiated, SrtpKey

log = logging.getLogger(__name__)

#: The media clock's period: one 20 ms frame per stream per tick.
PTIME: Final = 0.020

#: RTP clock rate of every codec we send (RFC 3551 §4.5.2, §4.5.14).
CLOCK_RATE: Final = 8000

#: The clock ticks every 5 ms; a stream sends on one tick in four, its phase. Spreading the
#: streams over four phases keeps each tick short, so a stream's send time within its tick (and
#: hence its interval jitter) depends on a quarter of the streams, not on all of them.
PHASES: Final = 4
TICK: Final = PTIME / PHASES

#: RTCP reports and no-media checks visit every stream once per N ticks (200 ms), a share of
#: the streams on each tick: all at once took 1.5 ms for 2,000 streams, more than a tick's slack,
#: so the next tick's streams sent late every 200 ms (bench/announce_calls.py).
HOUSEKEEPING_TICKS: Final = 40

#: Bounds on what play() accepts: a prompt of at most 2 hours, played at most 1000 times.
MAX_FRAMES: Final = 360_000
MAX_REPEAT: Final = 1000

#: Largest inbound datagram read; longer ones are truncated (and fail validation).
RECV_SIZE: Final = 2048

#: RFC 4594 §4.5: telephony is Expedited Forwarding, DSCP 46, in the top six bits of the byte.
DSCP_EF_TOS: Final = 46 << 2

#: RFC 3389: comfort noise, which callers send in silence; it latches like their audio.
COMFORT_NOISE: Final = 13

#: How long ``close()`` waits for the media thread to send the BYEs and stop.
STOP_TIMEOUT: Final = 2.0

_SRTP_PROFILES: Final = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}
_SRTP_ERRORS = (pylibsrtp.Error, ValueError)

Address = tuple[str, int] | tuple[str, int, int, int]


@dataclass(frozen=True, slots=True)
class MediaStats:
    """Counters of the engine since it started, for ``/metrics``."""

    streams: int  # open streams (RTP/RTCP port pairs bound)
    playing: int  # streams with a prompt in progress
    packets_sent: int  # RTP packets handed to the kernel
    late_ticks: int  # media clock slots skipped because a tick came a period or more late
    send_errors: int  # RTP and RTCP packets the kernel refused (full buffer, unreachable)
    packets_received: int  # valid inbound RTP and RTCP
    packets_rejected: int  # inbound datagrams that are neither, or fail SRTP authentication


class MediaEngine:
    """Binds RTP/RTCP port pairs from ``ports`` (inclusive) on ``address`` and runs the media
    clock. ``start()`` inside the event loop before ``open()``; ``close()`` stops every stream.
    Every method is called from the event loop thread (see the module's docstring on threads).

    ``clock``: ``"timerfd"`` (the media thread, on a Linux timerfd: the kernel keeps the
    absolute schedule with nanosecond resolution and counts the ticks we miss), ``"loop"`` (no
    thread: the event loop's timer, millisecond resolution with uvloop) or ``None``: the media
    thread where there is a timerfd.

    Raises:
        MediaError: ``address`` is not an IP address, the range holds no even/odd port pair, or
            an interval is not positive.
    """

    def __init__(
        self,
        address: str,
        ports: tuple[int, int],
        *,
        rng: random.Random,
        rtcp_interval: float = 5.0,
        no_media_timeout: float = 30.0,
        clock: Literal["timerfd", "loop"] | None = None,
    ) -> None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise MediaError(f"media address {address!r}: not an IP address") from None
        low, high = ports
        if not 1 <= low <= high <= 65535:
            raise MediaError(f"RTP ports {low}-{high}: must be 1 <= first <= last <= 65535")
        first = low + low % 2
        if first + 1 > high:
            raise MediaError(f"RTP ports {low}-{high}: no even RTP port with its odd RTCP port")
        if rtcp_interval <= 0 or no_media_timeout <= 0:
            raise MediaError("rtcp_interval and no_media_timeout: must be positive seconds")
        self.address = str(ip)
        self.family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        self.ports = (low, high)
        self.rtcp_interval = rtcp_interval
        self.no_media_timeout = no_media_timeout
        self.clock = clock
        self._rng = rng
        # The event loop thread's state: ports and the streams call control holds.
        self._pairs = range(first, high, 2)  # RTP ports p with p + 1 <= high
        self._cursor = 0
        self._in_use: set[int] = set()
        self._open: dict[Stream, None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        # Handed from the loop to the media side: drained at the start of each tick.
        self._commands: deque[Callable[[], None]] = deque()
        # The media side's state (the media thread's, or the loop's with clock="loop").
        self._media_rng = random.Random(rng.getrandbits(64))
        self._live: dict[Stream, None] = {}  # streams whose open the media side has applied
        self._groups: list[dict[Stream, None]] = [{} for _ in range(PHASES)]
        self._orders: list[tuple[Stream, ...] | None] = [() for _ in range(PHASES)]
        self._finished: list[Stream] = []
        self._thread: threading.Thread | None = None
        self._timerfd: int | None = None
        self._epoll: select.epoll | None = None
        self._readers: dict[int, Callable[[], None]] = {}  # fd -> its stream's reader
        self._stopping = False
        # The timerfd is disarmed (no stream, no command): the loop thread re-arms it. Both
        # threads change it under the lock, with the command queue's emptiness.
        self._resting = False
        self._clock_lock = threading.Lock()
        self._stopped: asyncio.Future[None] | None = None
        self._t0 = 0.0
        self._tick_count = 0
        self._next_housekeeping = 0
        self._round: tuple[Stream, ...] = ()  # this housekeeping round's streams
        self._round_done = 0  # how many of them were visited
        # Counters: each written by the media side only, read by anyone.
        self._packets_sent = 0
        self._late_ticks = 0
        self._send_errors = 0
        self._packets_received = 0
        self._packets_rejected = 0

    async def start(self) -> None:
        """Start the media clock: the media thread, or the event loop's timer."""
        if self._loop is not None:
            return
        loop = self._loop = asyncio.get_running_loop()
        self._t0 = time.monotonic()
        self._tick_count = 0
        if self.clock != "loop":
            self._timerfd = _timerfd(self._t0 + TICK, TICK)
            if self._timerfd is None and self.clock == "timerfd":
                raise MediaError("media clock: no timerfd on this system (use clock='loop')")
        if self._timerfd is None:
            self._timer = loop.call_later(TICK, self._on_timer)
            return
        self._epoll = select.epoll()
        self._epoll.register(self._timerfd, select.EPOLLIN)
        self._stopped = loop.create_future()
        self._thread = threading.Thread(target=self._run, name="vacant-media", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        """Close every stream (each sends its RTCP BYE), stop the clock and join the media
        thread (at most ``STOP_TIMEOUT`` seconds); idempotent."""
        self._closed = True
        for stream in tuple(self._open):
            stream.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        thread, self._thread = self._thread, None
        if thread is not None:
            assert self._stopped is not None
            self._stopping = True
            self._wake()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stopped), STOP_TIMEOUT)
            thread.join(0.1)
            if thread.is_alive():  # its sockets stay open: it may still be using them
                log.error("media thread: still running %.0f s after close()", STOP_TIMEOUT)
                self._thread = thread  # a later close() waits for it again
                return
        # Whatever the media side has not applied (no thread, or it died): the BYEs, the sockets.
        self._apply_commands()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._timerfd is not None:
            os.close(self._timerfd)
            self._timerfd = None

    @property
    def active(self) -> int:
        """Open streams (port pairs in use)."""
        return len(self._open)

    @property
    def stats(self) -> MediaStats:
        return MediaStats(
            streams=len(self._open),
            playing=sum(map(len, self._groups)),
            packets_sent=self._packets_sent,
            late_ticks=self._late_ticks,
            send_errors=self._send_errors,
            packets_received=self._packets_received,
            packets_rejected=self._packets_rejected,
        )

    def open(self, on_timeout: Callable[[], None]) -> Stream:
        """Bind the next free RTP/RTCP port pair and return its stream.

        The search starts after the last pair handed out, so a port just freed is not reused at
        once (late packets of the previous call go nowhere). Raises :class:`MediaError` when
        every pair is taken ("no free RTP port in A-B") or the engine is not running.
        """
        if self._loop is None or self._closed:
            raise MediaError("media engine: not running (start() it first)")
        count = len(self._pairs)
        for attempt in range(count):
            index = (self._cursor + attempt) % count
            port = self._pairs[index]
            if port in self._in_use:
                continue
            sockets = self._bind_pair(port)
            if sockets is None:  # in use elsewhere, or a closed stream's, not yet closed
                continue
            self._cursor = (index + 1) % count
            self._in_use.add(port)
            stream = Stream(self, port, sockets[0], sockets[1], on_timeout)
            self._open[stream] = None
            self._command(partial(self._apply_open, stream))
            return stream
        low, high = self.ports
        raise MediaError(f"no free RTP port in {low}-{high}")

    def _bind_pair(self, port: int) -> tuple[socket.socket, socket.socket] | None:
        bound: list[socket.socket] = []
        try:
            for number in (port, port + 1):
                sock = socket.socket(self.family, socket.SOCK_DGRAM)
                bound.append(sock)
                sock.setblocking(False)
                sock.bind((self.address, number))
                _set_dscp(sock, self.family)
        except OSError as exc:
            for sock in bound:
                sock.close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return None
            raise MediaError(f"RTP port {self.address}:{port}: cannot bind ({exc})") from exc
        return bound[0], bound[1]

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    @property
    def slot(self) -> int:
        """The frame slot (20 ms) of the last tick."""
        return self._tick_count // PHASES

    def slot_time(self, slot: int, phase: int) -> float:
        """The monotonic time at which streams of ``phase`` send the frame of ``slot``."""
        return self._t0 + slot * PTIME + phase * TICK

    # From the event loop thread to the media side, and back.

    def _command(self, command: Callable[[], None]) -> None:
        """Hand ``command`` to the media side: it runs at the start of the next tick."""
        if self._epoll is None:  # the loop's clock, which never rests
            self._commands.append(command)
            return
        with self._clock_lock:
            self._commands.append(command)
            self._wake_locked()

    def _wake(self) -> None:
        with self._clock_lock:
            self._wake_locked()

    def _wake_locked(self) -> None:
        """Re-arm a resting clock for the next tick of its grid (the media thread sleeps in
        ``epoll`` meanwhile: the tick count is the loop thread's to set)."""
        if self._resting:
            assert self._timerfd is not None
            tick = int((time.monotonic() - self._t0) / TICK) + 1
            self._tick_count = tick - 1
            _set_timer(self._timerfd, self._t0 + tick * TICK, TICK)
            self._resting = False

    def _rest(self) -> None:
        """Disarm the clock of a media thread that has nothing to do (no stream, no command)."""
        with self._clock_lock:
            if not self._commands and not self._stopping:
                assert self._timerfd is not None
                _set_timer(self._timerfd, 0.0, 0.0)
                self._resting = True

    def _apply_commands(self) -> None:
        commands = self._commands
        while commands:  # only the media side pops: not empty between the test and popleft
            command = commands.popleft()
            try:
                command()
            except Exception:
                log.exception("media: a stream command failed")

    def _post(
        self, stream: Stream, callback: Callable[[], None], name: str, play: int | None
    ) -> None:
        """Run a stream's ``callback`` in the event loop thread (from the media side); ``play``:
        the play() it belongs to, if any."""
        try:
            self.loop.call_soon_threadsafe(self._deliver, stream, callback, name, play)
        except RuntimeError:  # the loop is closed: nobody left to tell
            log.debug("media: %s of %r after the event loop closed", name, stream)

    @staticmethod
    def _deliver(stream: Stream, callback: Callable[[], None], name: str, play: int | None) -> None:
        # Dropped if the stream was closed, or played again, since the media side posted it.
        if not stream._closed and play in (None, stream._plays):
            _call(callback, name)

    def _apply_open(self, stream: Stream) -> None:
        self._live[stream] = None
        sockets = ((stream._rtp, stream._read_rtp), (stream._rtcp, stream._read_rtcp))
        for sock, reader in sockets:
            if self._epoll is None:
                self.loop.add_reader(sock.fileno(), reader)
            else:
                self._epoll.register(sock.fileno(), select.EPOLLIN)
                self._readers[sock.fileno()] = reader

    def _apply_close(self, stream: Stream) -> None:
        self._stop_playing(stream)
        self._live.pop(stream, None)
        for sock in (stream._rtp, stream._rtcp):
            if self._epoll is None:
                self.loop.remove_reader(sock.fileno())
            elif self._readers.pop(sock.fileno(), None) is not None:  # registered
                self._epoll.unregister(sock.fileno())
            sock.close()

    # The media thread.

    def _run(self) -> None:
        """The media thread: ticks from the timerfd, reads from the streams' sockets, until
        ``close()``; then it applies the last commands (the closes: the BYEs) and stops."""
        assert self._epoll is not None
        epoll, timerfd, readers = self._epoll, self._timerfd, self._readers
        try:
            while not self._stopping:
                try:
                    events = epoll.poll()
                    for fd, _ in events:
                        if fd == timerfd:  # the tick first: reads can wait, packets cannot
                            self._on_timerfd()
                            break
                    for fd, _ in events:
                        reader = readers.get(fd)  # None: the timerfd, or a stream just closed
                        if reader is not None:
                            reader()
                except Exception:  # a bug: logged, and the clock goes on
                    log.exception("media thread: a tick or a read failed")
            self._apply_commands()
        finally:
            assert self._stopped is not None
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self.loop.call_soon_threadsafe(_resolve, self._stopped)

    # The media clock.

    def _on_timerfd(self) -> None:
        assert self._timerfd is not None
        try:
            data = os.read(self._timerfd, 8)
        except BlockingIOError:
            return
        # The count of expirations since the last read: more than one means we were late.
        self._advance(self._tick_count + int.from_bytes(data, sys.byteorder))

    def _on_timer(self) -> None:
        now = time.monotonic()
        target = max(self._tick_count + 1, int((now - self._t0) / TICK))
        # Planned from t0, not from now: the schedule does not drift.
        self._timer = self.loop.call_later(self._t0 + (target + 1) * TICK - now, self._on_timer)
        self._advance(target)

    def _advance(self, target: int) -> None:
        """Apply the commands, then run the ticks up to ``target``. A tick more than a frame
        time (20 ms) old is skipped and counted (its streams would send two packets at once);
        younger ones run late."""
        self._apply_commands()
        previous = self._tick_count
        first = previous + 1
        oldest = target - PHASES + 1
        if first < oldest:
            self._late_ticks += oldest - first
            log.debug("media clock: %d late ticks skipped", oldest - first)
            first = oldest
        self._tick_count = target
        sent = 0
        for tick in range(first, target + 1):
            slot, phase = divmod(tick, PHASES)
            order = self._orders[phase]
            if order is None:
                order = self._orders[phase] = tuple(self._groups[phase])
            for stream in order:
                sent += stream._on_tick(slot)
        self._packets_sent += sent
        if self._finished:
            finished, self._finished = self._finished, []
            for stream in finished:
                stream._finish()
        self._housekeeping(target, target - previous)
        if not self._live and self._epoll is not None:
            self._rest()

    def _housekeeping(self, target: int, ticks: int) -> None:
        """Visit this round's next streams: a share per tick passed (``ticks``), so that every
        stream open when the round began is visited within ``HOUSEKEEPING_TICKS`` ticks."""
        if target >= self._next_housekeeping:
            self._next_housekeeping = target + HOUSEKEEPING_TICKS
            self._round, self._round_done = tuple(self._live), 0
        streams, start = self._round, self._round_done
        if start >= len(streams):
            return
        share = -(-len(streams) // HOUSEKEEPING_TICKS)  # ceil: done by the round's last tick
        end = self._round_done = min(len(streams), start + share * ticks)
        now, wall = time.monotonic(), time.time()
        for i in range(start, end):
            streams[i]._housekeeping(now, wall)  # a stream closed since: does nothing

    def _start_playing(self, stream: Stream) -> int:
        """Put ``stream`` in the clock phase with the fewest streams; returns that phase."""
        for phase, group in enumerate(self._groups):
            if stream in group:
                return phase
        phase = min(range(PHASES), key=lambda p: len(self._groups[p]))
        self._groups[phase][stream] = None
        self._orders[phase] = None
        return phase

    def _stop_playing(self, stream: Stream) -> None:
        for phase, group in enumerate(self._groups):
            if stream in group:
                del group[stream]
                self._orders[phase] = None

    def _map(self, address: tuple[str, int] | None) -> tuple[str, int] | None:
        """A remote address our sockets can send to, or ``None`` (and a warning) if none."""
        if address is None:
            return None
        host, port = address
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            log.warning("media: remote %r is not an IP address, nothing sent to it", host)
            return None
        if self.family == socket.AF_INET6 and ip.version == 4:
            return f"::ffff:{ip}", port
        if self.family == socket.AF_INET and isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped), port
            log.warning("media: remote %s is IPv6, our RTP address is IPv4", ip)
            return None
        return str(ip), port


class Stream:
    """One call's RTP/RTCP port pair and playout (see :class:`MediaEngine`).

    Its public methods are the event loop thread's; they take effect on the media side at the
    next tick (``destination`` and ``seconds_played`` tell what the media side last did)."""

    def __init__(
        self,
        engine: MediaEngine,
        port: int,
        rtp_socket: socket.socket,
        rtcp_socket: socket.socket,
        on_timeout: Callable[[], None],
    ) -> None:
        self.port = port
        self._engine = engine
        self._rtp = rtp_socket
        self._rtcp = rtcp_socket
        self._on_timeout = on_timeout
        self._sender = rtp.RtpSender(engine._rng, 0)
        self._cname = rtp.random_cname(engine._rng)
        # The event loop thread's: what call control asked for.
        self._closed = False
        self._plays = 0  # play() calls: tells a finished playout's on_done from a replaced one's
        self._srtp_send_key: SrtpKey | None = None
        self._srtp_receive_key: SrtpKey | None = None
        self._srtp_send: pylibsrtp.Session | None = None  # the sessions of those keys
        self._srtp_receive: pylibsrtp.Session | None = None
        # The media side's (written only by it once the stream is open).
        self._next_slot = engine.slot + 1  # the slot whose RTP timestamp is sender.timestamp
        self._phase = 0  # the clock phase it sends on (MediaEngine._start_playing)
        self._negotiated: Negotiated | None = None
        self._remote: tuple[str, int] | None = None
        self._remote_rtcp: tuple[str, int] | None = None
        self._latched: Address | None = None
        self._latched_rtcp: Address | None = None
        self._destination: Address | None = None
        self._srtp_out: pylibsrtp.Session | None = None
        self._srtp_in: pylibsrtp.Session | None = None
        self._frames: Sequence[bytes] = ()
        self._count = 0
        self._total = 0
        self._index = 0
        self._played = 0
        self._on_done: tuple[Callable[[], None], int] | None = None  # with its play number
        self._buffer = bytearray(rtp.HEADER_SIZE + 160)
        self._payload_size = 160
        self._started = False  # play() was applied: the no-media timeout runs
        self._watching = False
        self._last_received = 0.0
        self._timed_out = False
        self._next_rtcp = 0.0

    def __repr__(self) -> str:
        return f"<Stream port={self.port}{' closed' if self._closed else ''}>"

    @property
    def ssrc(self) -> int:
        """Our SSRC (RFC 3550 §8.1), random and fixed for the stream's life."""
        return self._sender.ssrc

    @property
    def seconds_played(self) -> float:
        """Prompt time elapsed in the current play() (held slots count: the schedule runs)."""
        return self._played * PTIME

    @property
    def destination(self) -> Address | None:
        """Where RTP goes now: the latched source, the SDP address, or None (hold, port 0)."""
        return self._destination

    def play(
        self,
        negotiated: Negotiated,
        frames: Sequence[bytes],
        *,
        repeat: int = 1,
        on_done: Callable[[], None],
    ) -> None:
        """Play ``frames`` (20 ms payloads) ``repeat`` times from the next media clock tick, then
        call ``on_done()`` once from the event loop, one frame time after the last frame was
        sent. A play() while playing replaces the playout (the old ``on_done`` never fires) and
        starts a new talkspurt (RFC 3551 §4.1: marker bit)."""
        if self._closed:
            raise MediaError(f"RTP port {self.port}: stream is closed")
        if not 0 < len(frames) <= MAX_FRAMES:
            raise MediaError(f"frames: {len(frames)}, must be 1 to {MAX_FRAMES} 20 ms frames")
        if not 1 <= repeat <= MAX_REPEAT:
            raise MediaError(f"repeat: {repeat}, must be 1 to {MAX_REPEAT}")
        largest = max(map(len, frames))
        if largest > rtp.MAX_PAYLOAD:
            raise MediaError(f"frames: a frame of {largest} bytes, at most {rtp.MAX_PAYLOAD}")
        self.update(negotiated)
        self._plays += 1
        self._engine._command(partial(self._apply_play, frames, repeat, on_done, self._plays))

    def update(self, negotiated: Negotiated) -> None:
        """Apply a new negotiation (a re-INVITE): remote address, direction, payload type and
        SRTP keys. A changed SDP address forgets the symmetric-RTP latch; unchanged keys keep
        their SRTP sessions (a new session would restart the SRTCP index under the same key,
        RFC 3711 §9.2). While ``negotiated.send`` is False the schedule runs and nothing is
        sent; while ``negotiated.receive`` is False no media is expected (no timeout)."""
        if self._closed:
            raise MediaError(f"RTP port {self.port}: stream is closed")
        if not 0 <= negotiated.payload_type <= 127:
            raise MediaError(f"payload type: {negotiated.payload_type}, must be 0 to 127 (§5.1)")
        srtp_send, srtp_receive = self._srtp_send, self._srtp_receive
        if negotiated.srtp_send != self._srtp_send_key:
            srtp_send = _srtp_session(negotiated.srtp_send, outbound=True)
        if negotiated.srtp_receive != self._srtp_receive_key:
            srtp_receive = _srtp_session(negotiated.srtp_receive, outbound=False)
        # Both keys are usable: from here on nothing raises.
        self._srtp_send, self._srtp_send_key = srtp_send, negotiated.srtp_send
        self._srtp_receive, self._srtp_receive_key = srtp_receive, negotiated.srtp_receive
        engine = self._engine
        remote, remote_rtcp = engine._map(negotiated.remote), engine._map(negotiated.remote_rtcp)
        engine._command(
            partial(self._apply_update, negotiated, remote, remote_rtcp, srtp_send, srtp_receive)
        )

    def close(self) -> None:
        """Send RTCP SR + SDES + BYE (RFC 3550 §6.6), stop, free the ports (at the next tick);
        idempotent. ``on_done`` and ``on_timeout`` never fire after it."""
        if self._closed:
            return
        self._closed = True
        engine = self._engine
        engine._open.pop(self, None)
        # Bound until the media side closes the sockets: open() skips the pair until then.
        engine._in_use.discard(self.port)
        engine._command(self._apply_close)

    # The media side: commands from the loop, then the clock's calls.

    def _apply_play(
        self, frames: Sequence[bytes], repeat: int, on_done: Callable[[], None], play: int
    ) -> None:
        self._frames = frames
        self._count = len(frames)
        self._total = len(frames) * repeat
        self._index = 0
        self._played = 0
        self._on_done = on_done, play
        self._sender.marker = True
        self._started = True
        assert self._negotiated is not None  # play() applies its update() first
        self._watching = self._negotiated.receive
        self._last_received = time.monotonic()  # the timeout counts from play()
        self._phase = self._engine._start_playing(self)

    def _apply_update(
        self,
        negotiated: Negotiated,
        remote: tuple[str, int] | None,
        remote_rtcp: tuple[str, int] | None,
        srtp_out: pylibsrtp.Session | None,
        srtp_in: pylibsrtp.Session | None,
    ) -> None:
        self._srtp_out, self._srtp_in = srtp_out, srtp_in
        if remote != self._remote:
            self._latched = None
        if remote_rtcp != self._remote_rtcp:
            self._latched_rtcp = None
        self._remote, self._remote_rtcp = remote, remote_rtcp
        self._sender.payload_type = negotiated.payload_type
        if self._negotiated is None:
            # §6.2: the first report waits about half an interval.
            self._next_rtcp = time.monotonic() + self._rtcp_delay() / 2
        self._negotiated = negotiated
        self._refresh_destination()
        if self._started:
            self._watch(negotiated.receive)

    def _apply_close(self) -> None:
        self._on_done = None
        self._send_rtcp(rtp.goodbye, time.monotonic(), time.time())
        self._engine._apply_close(self)

    def _on_tick(self, slot: int) -> int:
        """Send this slot's frame; returns the packets sent (0 or 1)."""
        sender = self._sender
        if slot > self._next_slot:
            sender.skip(slot - self._next_slot)
        self._next_slot = slot + 1
        if self._played == self._total:
            self._engine._finished.append(self)
            sender.skip(1)
            return 0
        frame = self._frames[self._index]
        self._index += 1
        if self._index == self._count:
            self._index = 0
        self._played += 1
        destination = self._destination
        if destination is None:
            sender.skip(1)
            return 0
        size = len(frame)
        buffer = self._buffer
        if size != self._payload_size:
            buffer = self._buffer = bytearray(rtp.HEADER_SIZE + size)
            self._payload_size = size
        sender.stamp(buffer, size)
        buffer[rtp.HEADER_SIZE :] = frame
        try:
            if self._srtp_out is None:
                self._rtp.sendto(buffer, destination)
            else:
                self._rtp.sendto(self._srtp_out.protect(bytes(buffer)), destination)
        except OSError:
            self._engine._send_errors += 1
            return 0
        return 1

    def _finish(self) -> None:
        self._engine._stop_playing(self)
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            self._engine._post(self, on_done[0], "on_done", on_done[1])

    def _housekeeping(self, now: float, wall: float) -> None:
        if self not in self._engine._live:  # closed since the round began
            return
        if now >= self._next_rtcp and self._negotiated is not None:
            self._next_rtcp = now + self._rtcp_delay()
            self._send_rtcp(rtp.report, now, wall)
        if (
            self._watching
            and not self._timed_out
            and now - self._last_received >= self._engine.no_media_timeout
        ):
            self._timed_out = True
            log.info("RTP port %d: no RTP or RTCP for %.0f s", self.port, now - self._last_received)
            self._engine._post(self, self._on_timeout, "on_timeout", None)

    def _send_rtcp(
        self, build: Callable[[rtp.RtpSender, str, float, int], bytes], now: float, wall: float
    ) -> None:
        destination = self._latched_rtcp or self._remote_rtcp
        if destination is None:
            return
        # The RTP timestamp of this instant (§6.4.1): sender.timestamp belongs to _next_slot.
        offset = now - self._engine.slot_time(self._next_slot, self._phase)
        timestamp = self._sender.timestamp + round(offset * CLOCK_RATE)
        packet = build(self._sender, self._cname, wall, timestamp)
        try:
            if self._srtp_out is not None:
                packet = self._srtp_out.protect_rtcp(packet)
            self._rtcp.sendto(packet, destination)
        except OSError:
            self._engine._send_errors += 1

    def _refresh_destination(self) -> None:
        negotiated = self._negotiated
        if negotiated is None or not negotiated.send or self._remote is None:
            self._destination = None
        else:
            self._destination = self._latched or self._remote

    def _rtcp_delay(self) -> float:
        """§6.3.1: the report interval is randomised over [0.5, 1.5] times the nominal one."""
        return self._engine.rtcp_interval * self._engine._media_rng.uniform(0.5, 1.5)

    def _watch(self, on: bool) -> None:
        if on and not self._watching:
            self._last_received = time.monotonic()
        self._watching = on

    # Inbound: read, validate, drop.

    def _read_rtp(self) -> None:
        self._read(self._rtp, rtcp_port=False)

    def _read_rtcp(self) -> None:
        self._read(self._rtcp, rtcp_port=True)

    def _read(self, sock: socket.socket, *, rtcp_port: bool) -> None:
        # One datagram per readiness callback: the socket is level-triggered, so the loop calls
        # again while more are queued, and a caller sending every 20 ms costs one recvfrom per
        # packet instead of two (the second one finding the socket empty). A flooded socket
        # thus gets one read per loop iteration and cannot starve the media clock.
        try:
            data, source = sock.recvfrom(RECV_SIZE)
        except OSError:  # BlockingIOError: someone else drained it; others: nothing to do
            return
        kind = rtp.classify(data)
        if kind is rtp.PacketKind.RTP and not rtcp_port:
            accepted = self._inbound_rtp(data, source)
        elif kind is rtp.PacketKind.RTCP:
            accepted = self._inbound_rtcp(data, source, rtcp_port)
        else:
            accepted = False
        if accepted:
            self._engine._packets_received += 1
            self._last_received = time.monotonic()
        else:
            self._engine._packets_rejected += 1

    def _inbound_rtp(self, data: bytes, source: Address) -> bool:
        if self._srtp_in is not None:
            try:
                self._srtp_in.unprotect(data)
            except _SRTP_ERRORS:
                return False
        negotiated = self._negotiated
        if self._latched is None and negotiated is not None:
            # RFC 4961 §4 (symmetric RTP): send where the caller's RTP comes from. Only its
            # negotiated payload types latch, so stray packets cannot steal the stream.
            payload_type = data[1] & 0x7F
            if payload_type in (negotiated.payload_type, negotiated.telephone_event, COMFORT_NOISE):
                self._latched = source
                if (source[0], source[1]) != self._remote:
                    log.debug(
                        "RTP port %d: latched to %s (SDP: %s)", self.port, source, self._remote
                    )
                self._refresh_destination()
        return True

    def _inbound_rtcp(self, data: bytes, source: Address, rtcp_port: bool) -> bool:
        if self._srtp_in is not None:
            try:
                self._srtp_in.unprotect_rtcp(data)
            except _SRTP_ERRORS:
                return False
        if rtcp_port and self._latched_rtcp is None and self._negotiated is not None:
            self._latched_rtcp = source
        return True


def _srtp_session(key: SrtpKey | None, *, outbound: bool) -> pylibsrtp.Session | None:
    """A libsrtp session for one direction (RFC 3711), or ``None`` for plain RTP."""
    if key is None:
        return None
    profile = _SRTP_PROFILES.get(key.suite)
    if profile is None:
        raise MediaError(f"SRTP suite {key.suite!r}: not supported (RFC 4568 §6.2)")
    if len(key.key) != 30:
        raise MediaError(f"SRTP key: {len(key.key)} bytes, must be 30 (16 key + 14 salt)")
    policy = pylibsrtp.Policy(
        key=key.key,
        ssrc_type=(
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
        ),
        srtp_profile=profile,
    )
    return pylibsrtp.Session(policy)


def _set_dscp(sock: socket.socket, family: int) -> None:
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, DSCP_EF_TOS)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, DSCP_EF_TOS)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _call(callback: Callable[[], None], name: str) -> None:
    """Run a stream's callback; a bug in it is logged and does not stop the media clock."""
    try:
        callback()
    except Exception:
        log.exception("media: %s callback failed", name)


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


_CLOCK_MONOTONIC: Final = 1  # time.monotonic()'s clock on Linux
_TFD_TIMER_ABSTIME: Final = 1


def _timespec(seconds: float) -> _Timespec:
    whole = int(seconds)
    return _Timespec(whole, round((seconds - whole) * 1e9))


def _timerfd(first: float, interval: float) -> int | None:
    """A Linux timerfd (timerfd_create(2)) that expires at monotonic time ``first``, then every
    ``interval`` seconds, absolutely; ``None`` where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    fd = int(_libc().timerfd_create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        return None
    try:
        _set_timer(fd, first, interval)
    except OSError:
        os.close(fd)
        return None
    return fd


def _set_timer(fd: int, first: float, interval: float) -> None:
    """Arm timerfd ``fd`` (timerfd_settime(2)) as :func:`_timerfd` says; ``first`` 0 disarms
    it (and forgets the expirations not read)."""
    spec = _Itimerspec(_timespec(interval), _timespec(first))
    if _libc().timerfd_settime(fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)
