"""The media engine over real UDP sockets on loopback: pacing, RTP fields, RTCP, symmetric RTP,
hold, the no-media timeout, port allocation and SRTP (RFC 3550, RFC 3551, RFC 4961, RFC 3711),
and the media thread that sends them off the event loop thread.

Each scenario runs in its own event loop (``asyncio.run`` or ``uvloop.run``) for well under 3 s.
The "caller" is a plain non-blocking UDP socket; packets it receives carry kernel receive
timestamps (``SO_TIMESTAMPNS``), so pacing is measured where the packets arrive, not where the
test happens to read them. What the loop asks (play, update, close) reaches the media thread at
its next tick: tests that look at the stream's state after a change wait for it (``_applied``).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import socket
import statistics
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pylibsrtp
import pytest
import uvloop

from vacant.errors import MediaError
from vacant.media import rtp
from vacant.media.engine import PTIME, TICK, MediaEngine, Stream
from vacant.media.offer_answer import Codec, Negotiated, SrtpKey

Runner = Callable[[Coroutine[Any, Any, None]], None]
FRAMES = tuple(bytes([n]) * 160 for n in range(10))
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a scenario on the default event loop and on uvloop (what ``vacant serve`` uses)."""

    def runner(scenario: Coroutine[Any, Any, None]) -> None:
        async def bounded() -> None:
            async with asyncio.timeout(5):
                await scenario

        if request.param == "uvloop":
            uvloop.run(bounded())
        else:
            asyncio.run(bounded())

    return runner


#: Every ``Peer`` not yet closed by ``_close_peers``.
_PEERS: list[Peer] = []


@pytest.fixture(autouse=True)
def _close_peers() -> Iterator[None]:
    """Close the test's peers' sockets after it, passed or failed: a failed test's sockets
    otherwise stay open until a later test's garbage collection finds them and fails that test
    with a ResourceWarning."""
    yield
    while _PEERS:
        _PEERS.pop().close()


def _ports(size: int = 200) -> tuple[int, int]:
    """A random range of ``size`` ports: tests of other helpers may run at the same time, and
    the engine skips ports already bound."""
    base = random.Random().randrange(20000, 29000, 2)
    return base, base + size - 1


@dataclass
class Received:
    data: bytes
    source: tuple[str, int]
    at: float  # kernel receive time, seconds

    @property
    def rtp(self) -> rtp.RtpPacket:
        return rtp.RtpPacket.parse(self.data)


class Peer:
    """The caller's side: an RTP socket and an RTCP socket (RTP port + 1 when free). Closed after
    the test that made it (``_close_peers``), also when it failed."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
        self.host = host
        self.rtp = self._socket(family, host)
        self.rtcp = self._socket(family, host)
        _PEERS.append(self)

    @staticmethod
    def _socket(family: int, host: str) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((host, 0))
        sock.setblocking(False)
        return sock

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.rtp.getsockname()[1]

    @property
    def rtcp_address(self) -> tuple[str, int]:
        return self.host, self.rtcp.getsockname()[1]

    def negotiated(self, **changes: Any) -> Negotiated:
        base = Negotiated(
            codec=Codec.PCMU,
            payload_type=0,
            telephone_event=101,
            remote=self.address,
            remote_rtcp=self.rtcp_address,
            send=True,
            receive=True,
        )
        return replace(base, **changes)

    @staticmethod
    def drain(sock: socket.socket) -> list[Received]:
        got: list[Received] = []
        while True:
            try:
                data, ancillary, _, source = sock.recvmsg(2048, 64)
            except BlockingIOError:
                return got
            at = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    at = seconds + nanoseconds / 1e9
            got.append(Received(data, source[:2], at))

    async def receive(self, sock: socket.socket, count: int, within: float = 2.0) -> list[Received]:
        got: list[Received] = []
        deadline = time.monotonic() + within
        while len(got) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            got += self.drain(sock)
        return got

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


async def _engine(ports: int = 200, **options: Any) -> MediaEngine:
    options.setdefault("rtcp_interval", 30.0)
    engine = MediaEngine("127.0.0.1", _ports(ports), rng=random.Random(7), **options)
    await engine.start()
    return engine


class Done:
    """An on_done / on_timeout callback that counts its calls and can be awaited."""

    def __init__(self) -> None:
        self.calls = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()

    async def wait(self, within: float = 2.0) -> None:
        await asyncio.wait_for(self.event.wait(), within)


async def _applied() -> None:
    """Let the media side apply what the loop asked (play, update, close take effect at its
    next tick)."""
    await asyncio.sleep(4 * TICK)


async def _play(
    engine: MediaEngine, peer: Peer, frames: tuple[bytes, ...] = FRAMES, **options: Any
) -> tuple[Stream, Done]:
    done = Done()
    stream = engine.open(lambda: None)
    stream.play(peer.negotiated(), frames, on_done=done, **options)
    return stream, done


# Sending: RTP fields and pacing (RFC 3550 §5.1, RFC 3551 §4.1)


def test_frames_arrive_in_order_with_rtp_fields_of_rfc3550_5_1(run: Runner) -> None:
    """Sequence +1, timestamp +160, one SSRC, payload type 0, marker on the first packet only
    (RFC 3551 §4.1), sent from our even RTP port."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, done = await _play(engine, peer)
        await done.wait()
        got = peer.drain(peer.rtp)
        packets = [r.rtp for r in got]
        assert [p.payload for p in packets] == list(FRAMES)
        first = packets[0]
        assert [(p.sequence - first.sequence) % 65536 for p in packets] == list(range(10))
        assert [(p.timestamp - first.timestamp) % 2**32 for p in packets] == [
            160 * n for n in range(10)
        ]
        assert {p.ssrc for p in packets} == {stream.ssrc}
        assert {p.payload_type for p in packets} == {0}
        assert [p.marker for p in packets] == [True] + [False] * 9
        assert {r.source for r in got} == {("127.0.0.1", stream.port)}
        assert stream.port % 2 == 0
        assert done.calls == 1
        assert stream.seconds_played == pytest.approx(10 * PTIME)
        await engine.close()

    run(scenario())


@pytest.mark.parametrize("clock", ["timerfd", "loop"])
def test_packets_are_paced_every_20_ms_from_an_absolute_schedule(
    run: Runner, clock: Literal["timerfd", "loop"]
) -> None:
    """DESIGN.md §5: one clock, t0 + n * 20 ms. The typical (median) interval over 30 frames is
    20 ms, no packet leaves before its slot (no catching up after a stall), and no two packets of
    the stream leave together (no burst). Robust to a stall of a loaded machine: a late slot
    only delays what follows, which these properties allow (bench/media.py measures pacing)."""
    peer = Peer()
    frames = FRAMES * 3

    async def scenario() -> None:
        engine = await _engine(clock=clock)
        try:
            _, done = await _play(engine, peer, frames)
            await done.wait()
            times = [r.at for r in peer.drain(peer.rtp)]
            assert len(times) == 30
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert statistics.median(gaps) == pytest.approx(0.020, abs=0.0015)
            assert all(t - times[0] >= n * 0.020 - 0.003 for n, t in enumerate(times))
            assert min(gaps) > 0.002  # two packets sent together would be ~0 apart
        finally:
            await engine.close()

    run(scenario())


def test_repeat_plays_the_frames_again_then_calls_on_done_once(run: Runner) -> None:
    peer = Peer()
    frames = FRAMES[:3]

    async def scenario() -> None:
        engine = await _engine()
        stream, done = await _play(engine, peer, frames, repeat=3)
        await done.wait()
        await asyncio.sleep(0.1)
        assert [r.rtp.payload for r in peer.drain(peer.rtp)] == list(frames) * 3
        assert done.calls == 1
        assert stream.seconds_played == pytest.approx(9 * PTIME)
        assert engine.stats.playing == 0
        await engine.close()

    run(scenario())


def test_play_again_replaces_the_playout_and_starts_a_talkspurt_rfc3551_4_1(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, first = await _play(engine, peer, FRAMES * 5)
        await peer.receive(peer.rtp, 3)
        second = Done()
        stream.play(peer.negotiated(), (b"\x77" * 160,) * 2, on_done=second)
        await second.wait()
        await asyncio.sleep(0.05)
        packets = [r.rtp for r in peer.drain(peer.rtp)]
        assert [p.payload for p in packets[-2:]] == [b"\x77" * 160] * 2
        assert packets[-2].marker
        assert first.calls == 0
        assert second.calls == 1
        await engine.close()

    run(scenario())


def test_close_stops_the_stream_and_on_done_never_fires(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, done = await _play(engine, peer, FRAMES * 3)
        await peer.receive(peer.rtp, 2)
        stream.close()
        stream.close()  # idempotent
        await _applied()
        peer.drain(peer.rtp)
        await asyncio.sleep(0.1)
        assert peer.drain(peer.rtp) == []
        assert done.calls == 0
        assert engine.active == 0
        with pytest.raises(MediaError, match="closed"):
            stream.play(peer.negotiated(), FRAMES, on_done=done)
        await engine.close()

    run(scenario())


@pytest.mark.parametrize("clock", ["timerfd", "loop"])
def test_a_stalled_clock_skips_to_the_current_slot_without_a_burst(
    run: Runner, clock: Literal["timerfd", "loop"]
) -> None:
    """After a 100 ms stall the stream sends one packet, not the five it missed; the audio
    resumes where it stopped, the timestamp jumps with the clock (RFC 3550 §5.1) and the marker
    starts the talkspurt after the gap (RFC 3551 §4.1). The stall is of the thread that runs
    the clock: the media thread (a command that sleeps), or the event loop with clock="loop"."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(clock=clock)
        _, done = await _play(engine, peer, FRAMES * 2)
        got = await peer.receive(peer.rtp, 3, within=1.0)
        if clock == "loop":
            time.sleep(0.1)  # noqa: ASYNC251 - block the event loop: the media clock stalls
        else:
            engine._command(lambda: time.sleep(0.1))  # the media thread stalls
        await done.wait()
        got += peer.drain(peer.rtp)
        packets = [r.rtp for r in got]
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        stall = max(range(len(gaps)), key=gaps.__getitem__)
        assert gaps[stall] > 0.08
        after = packets[stall + 1]
        assert after.marker
        assert after.sequence == (packets[stall].sequence + 1) % 65536
        assert (after.timestamp - packets[stall].timestamp) % 2**32 >= 160 * 4
        assert min(gaps[stall + 1 :], default=0.02) > 0.002  # no burst after the stall
        assert engine.stats.late_ticks >= 3
        await engine.close()

    run(scenario())


# RTCP (RFC 3550 §6)


def test_sender_reports_with_cname_are_sent_every_rtcp_interval_rfc3550_6_4_1(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(rtcp_interval=0.2)
        stream, _ = await _play(engine, peer, FRAMES * 10)
        got = await peer.receive(peer.rtcp, 2, within=1.5)
        assert len(got) >= 2
        packets = rtp.parse_rtcp(got[-1].data)
        assert [p.packet_type for p in packets] == [rtp.SR, rtp.SDES]
        report = packets[0].sender_report()
        assert report.ssrc == stream.ssrc
        assert report.packets > 0
        assert report.octets == 160 * report.packets
        assert packets[1].cname()
        assert got[-1].source == ("127.0.0.1", stream.port + 1)
        # §6.4.1: the SR's RTP timestamp and NTP time describe the same instant.
        last = [r.rtp for r in peer.drain(peer.rtp)][-1]
        assert abs((report.rtp_timestamp - last.timestamp + 2**31) % 2**32 - 2**31) < 8000
        await engine.close()

    run(scenario())


def test_close_sends_sr_sdes_and_bye_rfc3550_6_6(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, _ = await _play(engine, peer, FRAMES * 5)
        await peer.receive(peer.rtp, 3)
        await engine.close()  # closes every stream
        got = await peer.receive(peer.rtcp, 1)
        packets = rtp.parse_rtcp(got[-1].data)
        assert [p.packet_type for p in packets] == [rtp.SR, rtp.SDES, rtp.BYE]
        assert packets[2].ssrc == stream.ssrc
        assert engine.active == 0

    run(scenario())


# Inbound: symmetric RTP (RFC 4961), the no-media timeout


def _caller_rtp(payload_type: int = 0, sequence: int = 1) -> bytes:
    return rtp.RtpPacket(
        payload_type, sequence, 160 * sequence, 0xCA11E5, b"\xff" * 160
    ).serialize()


def test_rtp_latches_to_the_source_of_the_callers_rtp_rfc4961(run: Runner) -> None:
    """The SDP says one address, the caller's RTP comes from another (a NAT): we send there."""
    sdp_peer, nat = Peer(), Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, _ = await _play(engine, sdp_peer, FRAMES * 10)
        await sdp_peer.receive(sdp_peer.rtp, 2)
        nat.rtp.sendto(_caller_rtp(payload_type=96), ("127.0.0.1", stream.port))  # not ours
        await asyncio.sleep(0.06)
        assert stream.destination == sdp_peer.address
        nat.rtp.sendto(_caller_rtp(), ("127.0.0.1", stream.port))
        await asyncio.sleep(0.06)
        assert stream.destination == nat.address
        sdp_peer.drain(sdp_peer.rtp)
        got = await nat.receive(nat.rtp, 3)
        assert len(got) >= 3
        assert sdp_peer.drain(sdp_peer.rtp) == []
        assert engine.stats.packets_received == 2
        await engine.close()

    run(scenario())


def test_a_new_sdp_address_forgets_the_latch(run: Runner) -> None:
    first, nat, moved = Peer(), Peer(), Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream, _ = await _play(engine, first, FRAMES * 10)
        nat.rtp.sendto(_caller_rtp(), ("127.0.0.1", stream.port))
        await asyncio.sleep(0.06)
        assert stream.destination == nat.address
        stream.update(first.negotiated())  # same SDP: the latch stays
        await _applied()
        assert stream.destination == nat.address
        stream.update(moved.negotiated())
        await _applied()
        assert stream.destination == moved.address
        await engine.close()

    run(scenario())


def test_no_media_timeout_fires_once_when_the_caller_sends_nothing(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(no_media_timeout=0.3)
        timeout = Done()
        stream = engine.open(timeout)
        stream.play(peer.negotiated(), FRAMES * 10, on_done=lambda: None)
        started = time.monotonic()
        await timeout.wait()
        assert 0.3 <= time.monotonic() - started < 0.9
        await asyncio.sleep(0.3)
        assert timeout.calls == 1
        await engine.close()

    run(scenario())


def test_no_media_timeout_waits_while_rtp_or_rtcp_arrives(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(no_media_timeout=0.3)
        timeout = Done()
        stream = engine.open(timeout)
        stream.play(peer.negotiated(), FRAMES * 10, on_done=lambda: None)
        for n in range(8):
            if n % 2:
                peer.rtp.sendto(_caller_rtp(sequence=n), ("127.0.0.1", stream.port))
            else:
                peer.rtcp.sendto(rtp.receiver_report(0xCA11E5), ("127.0.0.1", stream.port + 1))
            await asyncio.sleep(0.1)
        assert timeout.calls == 0
        await timeout.wait()  # then silence: it fires
        await engine.close()

    run(scenario())


def test_garbage_is_rejected_and_does_not_count_as_media(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(no_media_timeout=0.3)
        timeout = Done()
        stream = engine.open(timeout)
        stream.play(peer.negotiated(), FRAMES * 10, on_done=lambda: None)
        for _ in range(5):
            peer.rtp.sendto(b"\x00\x01\x00\x00" + b"\0" * 16, ("127.0.0.1", stream.port))  # STUN
            peer.rtcp.sendto(_caller_rtp(), ("127.0.0.1", stream.port + 1))  # RTP on RTCP port
            await asyncio.sleep(0.08)
        await timeout.wait()
        assert engine.stats.packets_rejected == 10
        assert engine.stats.packets_received == 0
        await engine.close()

    run(scenario())


# Hold (RFC 3264 §8.4)


def test_hold_pauses_sending_and_resume_starts_a_talkspurt(run: Runner) -> None:
    """While ``send`` is False the schedule runs and nothing is sent; on resume the timestamp
    has moved with the clock (RFC 3550 §5.1) and the marker is set (RFC 3551 §4.1)."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(no_media_timeout=0.2)
        timeout = Done()
        stream = engine.open(timeout)
        stream.play(peer.negotiated(), FRAMES * 10, on_done=lambda: None)
        before = await peer.receive(peer.rtp, 3)
        stream.update(peer.negotiated(send=False, receive=False))  # we are put on hold
        await asyncio.sleep(0.03)
        peer.drain(peer.rtp)
        await asyncio.sleep(0.25)
        assert peer.drain(peer.rtp) == []
        assert stream.destination is None
        assert timeout.calls == 0  # no media is expected on hold
        stream.update(peer.negotiated())
        after = await peer.receive(peer.rtp, 2)
        last, resumed = before[-1].rtp, after[0].rtp
        assert resumed.marker
        assert (resumed.timestamp - last.timestamp) % 2**32 >= 160 * 12
        assert stream.seconds_played >= 0.3  # the schedule ran on hold
        await engine.close()

    run(scenario())


def test_sdp_port_zero_or_no_address_sends_nothing(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        done = Done()
        stream.play(peer.negotiated(remote=None, remote_rtcp=None), FRAMES[:3], on_done=done)
        await done.wait()
        await engine.close()
        assert peer.drain(peer.rtp) == []
        assert peer.drain(peer.rtcp) == []
        assert stream.seconds_played == pytest.approx(3 * PTIME)

    run(scenario())


# Ports


def _free_block(size: int) -> int:
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(30000, 32000, 2)
        socks = []
        try:
            for port in range(base, base + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no free block of ports")


def test_ports_are_even_for_rtp_and_odd_for_rtcp_and_exhaustion_is_a_media_error(
    run: Runner,
) -> None:
    """RFC 3550 §11: RTP on an even port, RTCP on the next (odd) one. A range of 5 ports from an
    odd first one holds two pairs; a port some other socket holds is skipped."""
    base = _free_block(6)

    async def scenario() -> None:
        engine = MediaEngine("127.0.0.1", (base + 1, base + 5), rng=random.Random(1))
        await engine.start()
        first = engine.open(lambda: None)
        second = engine.open(lambda: None)
        assert {first.port, second.port} == {base + 2, base + 4}
        with pytest.raises(MediaError, match=f"no free RTP port in {base + 1}-{base + 5}"):
            engine.open(lambda: None)
        first.close()
        await _applied()  # the media side closes the sockets
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        blocker.bind(("127.0.0.1", first.port + 1))  # someone else takes the RTCP port
        try:
            with pytest.raises(MediaError, match="no free RTP port"):
                engine.open(lambda: None)
        finally:
            blocker.close()
        assert engine.open(lambda: None).port == first.port
        await engine.close()
        with pytest.raises(MediaError, match="not running"):
            engine.open(lambda: None)

    run(scenario())


@pytest.mark.parametrize(
    ("address", "ports", "options", "rule"),
    [
        ("media.example.com", (20000, 20099), {}, "not an IP address"),
        ("127.0.0.1", (20000, 70000), {}, "65535"),
        ("127.0.0.1", (20001, 20002), {}, "no even RTP port"),
        ("127.0.0.1", (20000, 20099), {"rtcp_interval": 0}, "positive"),
        ("127.0.0.1", (20000, 20099), {"no_media_timeout": -1}, "positive"),
    ],
)
def test_engine_settings_are_validated(
    address: str, ports: tuple[int, int], options: dict[str, Any], rule: str
) -> None:
    with pytest.raises(MediaError, match=rule):
        MediaEngine(address, ports, rng=random.Random(1), **options)


def test_play_bounds_frames_and_repeat(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        for frames, repeat, rule in [
            ((), 1, "frames: 0"),
            (FRAMES, 0, "repeat: 0"),
            ((b"\0" * 1401,), 1, "1401 bytes"),
        ]:
            with pytest.raises(MediaError, match=rule):
                stream.play(peer.negotiated(), frames, repeat=repeat, on_done=lambda: None)
        await engine.close()

    run(scenario())


def test_ipv6_engine_sends_from_an_ipv6_port(run: Runner) -> None:
    peer = Peer(socket.AF_INET6, "::1")

    async def scenario() -> None:
        engine = MediaEngine("::1", _ports(), rng=random.Random(2))
        await engine.start()
        stream, done = await _play(engine, peer, FRAMES[:3])
        await done.wait()
        got = peer.drain(peer.rtp)
        assert [r.rtp.payload for r in got] == list(FRAMES[:3])
        assert got[0].source == ("::1", stream.port)
        await engine.close()

    run(scenario())


# SRTP (RFC 3711, keys from RFC 4568)


def _key(rng: random.Random, suite: str = "AES_CM_128_HMAC_SHA1_80") -> SrtpKey:
    return SrtpKey(suite, rng.randbytes(30), 1)


def _session(key: SrtpKey, ssrc_type: int) -> pylibsrtp.Session:
    profile = {
        "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    }[key.suite]
    return pylibsrtp.Session(
        pylibsrtp.Policy(key=key.key, ssrc_type=ssrc_type, srtp_profile=profile)
    )


@pytest.mark.parametrize("suite", ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"])
def test_srtp_receiver_with_our_key_gets_the_original_payload_rfc3711(
    run: Runner, suite: str
) -> None:
    peer = Peer()
    rng = random.Random(3)
    ours, theirs = _key(rng, suite), _key(rng, suite)

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        done = Done()
        negotiated = peer.negotiated(srtp_send=ours, srtp_receive=theirs)
        stream.play(negotiated, FRAMES[:4], on_done=done)
        await done.wait()
        receiver = _session(ours, pylibsrtp.Policy.SSRC_ANY_INBOUND)
        got = peer.drain(peer.rtp)
        assert all(r.data[rtp.HEADER_SIZE :][:160] != FRAMES[n] for n, r in enumerate(got))
        plain = [rtp.RtpPacket.parse(receiver.unprotect(r.data)) for r in got]
        assert [p.payload for p in plain] == list(FRAMES[:4])
        stream.close()
        bye = await peer.receive(peer.rtcp, 1)
        packets = rtp.parse_rtcp(receiver.unprotect_rtcp(bye[-1].data))
        assert packets[-1].packet_type == rtp.BYE
        await engine.close()

    run(scenario())


def test_srtp_inbound_that_fails_authentication_is_dropped_rfc3711_3_3(run: Runner) -> None:
    peer = Peer()
    rng = random.Random(4)
    ours, theirs = _key(rng), _key(rng)

    async def scenario() -> None:
        engine = await _engine(no_media_timeout=0.3)
        timeout = Done()
        stream = engine.open(timeout)
        stream.play(
            peer.negotiated(srtp_send=ours, srtp_receive=theirs), FRAMES * 10, on_done=lambda: None
        )
        caller = _session(theirs, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        forged = _session(_key(rng), pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        target = ("127.0.0.1", stream.port)
        peer.rtp.sendto(forged.protect(_caller_rtp(sequence=1)), target)
        peer.rtp.sendto(_caller_rtp(sequence=2), target)  # plain RTP: no tag
        peer.rtcp.sendto(
            forged.protect_rtcp(rtp.receiver_report(5)), ("127.0.0.1", stream.port + 1)
        )
        await asyncio.sleep(0.1)
        assert engine.stats.packets_rejected == 3
        assert stream.destination == peer.address
        other = Peer()
        other.rtp.sendto(caller.protect(_caller_rtp(sequence=3)), target)
        other.rtcp.sendto(
            caller.protect_rtcp(rtp.receiver_report(5)), ("127.0.0.1", stream.port + 1)
        )
        await asyncio.sleep(0.1)
        assert engine.stats.packets_received == 2
        assert stream.destination == other.address  # authenticated RTP latches
        await timeout.wait()
        other.close()
        await engine.close()

    run(scenario())


def test_an_unusable_suite_key_or_payload_type_is_a_media_error(run: Runner) -> None:
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        for key, rule in [
            (SrtpKey("F8_128_HMAC_SHA1_80", b"\0" * 30, 1), "not supported"),
            (SrtpKey("AES_CM_128_HMAC_SHA1_80", b"\0" * 16, 1), "must be 30"),
        ]:
            with pytest.raises(MediaError, match=rule):
                stream.update(peer.negotiated(srtp_send=key))
        with pytest.raises(MediaError, match="payload type: 128"):
            stream.update(peer.negotiated(payload_type=128))
        await engine.close()

    run(scenario())


# Many streams share one clock


def test_many_streams_share_one_clock_and_each_keeps_its_pace(run: Runner) -> None:
    """200 streams to one receiver: every stream's packets arrive in order, and the engine
    reports them sent without late ticks on an idle loop."""
    peer = Peer()
    peer.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)

    async def scenario() -> None:
        engine = await _engine(ports=1000)
        waits: list[Awaitable[None]] = []
        for _ in range(200):
            _, done = await _play(engine, peer, FRAMES[:5])
            waits.append(done.wait())
        got: list[Received] = []
        deadline = time.monotonic() + 2
        while len(got) < 1000 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            got += peer.drain(peer.rtp)
        await asyncio.gather(*waits)
        by_ssrc: dict[int, list[rtp.RtpPacket]] = {}
        for received in got:
            packet = received.rtp
            by_ssrc.setdefault(packet.ssrc, []).append(packet)
        assert len(by_ssrc) == 200
        assert all([p.payload for p in ps] == list(FRAMES[:5]) for ps in by_ssrc.values())
        assert engine.stats.packets_sent == 1000
        await engine.close()

    run(scenario())


def test_frames_of_different_sizes_are_sent_as_they_are(run: Runner) -> None:
    peer = Peer()
    frames = (b"a" * 80, b"b" * 160, b"c" * 80)

    async def scenario() -> None:
        engine = await _engine()
        _, done = await _play(engine, peer, frames)
        await done.wait()
        assert [r.rtp.payload for r in peer.drain(peer.rtp)] == list(frames)
        await engine.close()

    run(scenario())


def test_dual_stack_engine_sends_to_an_ipv4_remote(run: Runner) -> None:
    """An engine bound to ``::`` reaches an IPv4 caller through its IPv4-mapped address."""
    peer = Peer()

    async def scenario() -> None:
        engine = MediaEngine("::", _ports(), rng=random.Random(5))
        await engine.start()
        stream, done = await _play(engine, peer, FRAMES[:2])
        await _applied()
        assert stream.destination == ("::ffff:127.0.0.1", peer.address[1])
        await done.wait()
        assert [r.rtp.payload for r in peer.drain(peer.rtp)] == list(FRAMES[:2])
        await engine.close()

    run(scenario())


def test_a_remote_we_cannot_reach_sends_nothing(run: Runner) -> None:
    """A host name (we never resolve names per packet) or an IPv6 address from an IPv4 engine."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        for remote in [("caller.example.com", 4000), ("2001:db8::1", 4000)]:
            stream.update(peer.negotiated(remote=remote))
            await _applied()
            assert stream.destination is None
        stream.update(peer.negotiated(remote=("::ffff:127.0.0.1", peer.address[1])))
        await _applied()
        assert stream.destination == peer.address
        await engine.close()

    run(scenario())


def test_an_address_not_on_this_host_is_a_media_error(run: Runner) -> None:
    async def scenario() -> None:
        engine = MediaEngine("192.0.2.1", _ports(), rng=random.Random(6))
        await engine.start()
        with pytest.raises(MediaError, match="cannot bind"):
            engine.open(lambda: None)
        await engine.close()

    run(scenario())


def test_a_callback_that_raises_is_logged_and_the_clock_goes_on(
    run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    peer = Peer()

    def broken() -> None:
        raise RuntimeError("bug in the caller")

    async def scenario() -> None:
        engine = await _engine()
        stream = engine.open(lambda: None)
        stream.play(peer.negotiated(), FRAMES[:1], on_done=broken)
        _, done = await _play(engine, peer, FRAMES[:5])
        await done.wait()
        assert engine.stats.packets_sent == 6
        await engine.close()

    run(scenario())
    assert "on_done callback failed" in caplog.text


# The media thread: RTP off the event loop thread


def test_rtp_is_sent_from_the_media_thread_and_on_done_runs_in_the_loop_thread(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock's ticks (each packet's ``sendto``) run in a thread other than the event loop's;
    what call control gets back (``on_done``) runs in the loop's thread."""
    peer = Peer()
    ticks: set[int] = set()
    on_tick = Stream._on_tick

    def recording(stream: Stream, slot: int) -> int:
        ticks.add(threading.get_ident())
        return on_tick(stream, slot)

    monkeypatch.setattr(Stream, "_on_tick", recording)

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        engine = await _engine()
        stream = engine.open(lambda: None)
        done_in: list[int] = []
        finished = Done()

        def on_done() -> None:
            done_in.append(threading.get_ident())
            finished()

        stream.play(peer.negotiated(), FRAMES[:3], on_done=on_done)
        await finished.wait()
        assert len(ticks) == 1
        assert loop_thread not in ticks
        assert done_in == [loop_thread]
        assert len(peer.drain(peer.rtp)) == 3
        await engine.close()
        assert {t.ident for t in threading.enumerate()}.isdisjoint(ticks)  # joined

    run(scenario())


def test_a_blocked_event_loop_does_not_delay_the_packets(run: Runner) -> None:
    """What the media thread buys: the loop stands still for 150 ms (a long SIP burst, a slow
    callback) and the stream's packets still leave every 20 ms: no gap, no late tick."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine()
        try:
            _, done = await _play(engine, peer, FRAMES * 3)
            got = await peer.receive(peer.rtp, 3, within=1.0)
            time.sleep(0.15)  # noqa: ASYNC251 - block the event loop thread
            await done.wait()
            got += peer.drain(peer.rtp)
            gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
            assert len(got) == 30
            assert max(gaps) < 0.040  # a 150 ms stall of the sender would show here
            assert statistics.median(gaps) == pytest.approx(0.020, abs=0.0015)
            assert engine.stats.late_ticks == 0
        finally:
            await engine.close()

    run(scenario())


def _switches(thread: threading.Thread) -> int:
    """How often ``thread`` has left the CPU (proc(5): its context switches)."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    return sum(int(n) for n in re.findall(r"^\w+_ctxt_switches:\s+(\d+)$", status, re.M))


def test_the_clock_rests_while_no_stream_is_open_and_resumes_on_its_grid(run: Runner) -> None:
    """A media thread without streams does not wake (each wake-up would take the GIL from the
    event loop: docs/benchmarks.md, eighth round). A stream opened later plays every 20 ms with
    the clock's count of ticks where the time says; once the last stream is closed (its BYE
    sent) the clock rests again, and close() wakes the resting thread to stop it."""
    peer = Peer()

    async def scenario() -> None:
        before = set(threading.enumerate())
        engine = await _engine()
        (media_thread,) = set(threading.enumerate()) - before
        await asyncio.sleep(4 * TICK)  # the first tick found no stream
        switches = _switches(media_thread)
        await asyncio.sleep(60 * TICK)
        assert _switches(media_thread) == switches
        stream, done = await _play(engine, peer, FRAMES * 2)
        elapsed = time.monotonic() - engine.slot_time(0, 0)
        assert engine._tick_count == pytest.approx(elapsed / TICK, abs=1.5)
        await done.wait()
        got = peer.drain(peer.rtp)
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        assert len(got) == 20
        assert statistics.median(gaps) == pytest.approx(0.020, abs=0.0015)
        stream.close()
        await _applied()
        assert rtp.parse_rtcp(peer.drain(peer.rtcp)[-1].data)[-1].packet_type == rtp.BYE
        switches = _switches(media_thread)
        await asyncio.sleep(60 * TICK)
        assert _switches(media_thread) == switches
        started = time.monotonic()
        await engine.close()
        assert time.monotonic() - started < 0.5
        assert not media_thread.is_alive()

    run(scenario())


@pytest.mark.parametrize("change", ["close", "play"])
def test_an_on_done_posted_before_close_or_a_new_play_never_fires(
    run: Runner, change: Literal["close", "play"]
) -> None:
    """The media side finished the playout and handed ``on_done`` to the loop; the loop closes
    the stream (or plays another prompt) before running it: the stale ``on_done`` is dropped.
    The clock is driven by hand (clock="loop", the loop never yields meanwhile)."""
    peer = Peer()

    async def scenario() -> None:
        engine = await _engine(clock="loop")
        stream, done = await _play(engine, peer, FRAMES[:1])
        for _ in range(3 * 4):  # play, send the frame, finish: three slots at most
            engine._advance(engine._tick_count + 1)
        assert engine.stats.playing == 0  # finished: on_done is on its way to the loop
        if change == "close":
            stream.close()
        else:
            stream.play(peer.negotiated(), FRAMES * 5, on_done=lambda: None)
        await asyncio.sleep(0.05)
        assert done.calls == 0
        await engine.close()

    run(scenario())


def test_close_joins_the_media_thread_after_every_stream_sent_its_bye_rfc3550_6_6(
    run: Runner,
) -> None:
    peers = [Peer() for _ in range(3)]

    async def scenario() -> None:
        before = set(threading.enumerate())
        engine = await _engine()
        streams = [(await _play(engine, peer, FRAMES * 5))[0] for peer in peers]
        (media_thread,) = set(threading.enumerate()) - before
        await peers[0].receive(peers[0].rtp, 2)
        await engine.close()
        assert not media_thread.is_alive()
        for peer, stream in zip(peers, streams, strict=True):
            packets = rtp.parse_rtcp(peer.drain(peer.rtcp)[-1].data)
            assert packets[-1].packet_type == rtp.BYE
            assert packets[-1].ssrc == stream.ssrc

    run(scenario())
    for peer in peers:
        peer.close()


def test_a_failing_command_or_tick_is_logged_and_the_media_thread_goes_on(
    run: Runner, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the media thread (a command, a tick) is logged; the thread, and the clock, go
    on: every frame of the prompt still arrives."""
    peer = Peer()
    failures = [RuntimeError("bug in a tick")]
    housekeeping = Stream._housekeeping

    def fails_once(stream: Stream, now: float, wall: float) -> None:
        if failures:
            raise failures.pop()
        housekeeping(stream, now, wall)

    monkeypatch.setattr(Stream, "_housekeeping", fails_once)

    def broken() -> None:
        raise RuntimeError("bug in a command")

    async def scenario() -> None:
        engine = await _engine()
        engine._command(broken)
        _, done = await _play(engine, peer, FRAMES * 2)  # 400 ms: housekeeping rounds of 200
        await done.wait()
        assert [r.rtp.payload for r in peer.drain(peer.rtp)] == list(FRAMES * 2)
        assert not failures
        await engine.close()

    run(scenario())
    assert "a stream command failed" in caplog.text
    assert "a tick or a read failed" in caplog.text
