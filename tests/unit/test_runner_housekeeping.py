"""Calls before housekeeping: the runner's timers wait for datagrams that wait unread."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import pytest
import uvloop

from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Event, RequestReceived
from vacant.sip.message import Response, parse_message
from vacant.sip.timers import TimerConfig
from vacant.transport import runner as runner_module
from vacant.transport.listeners import ListenSpec
from vacant.transport.runner import EndpointRunner

T1 = 0.1  # Timer G's first interval: the 404 is retransmitted T1 after it was sent (§17.2.1)


def _request(method: str, n: int, port: int) -> bytes:
    return (
        f"{method} sip:+4930123@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-house-{n}\r\n"
        f"From: <sip:caller@127.0.0.1>;tag=f{n}\r\nTo: <sip:+4930123@127.0.0.1>\r\n"
        f"Call-ID: house-{n}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def _timer_g(runner: EndpointRunner) -> float:
    """The deadline the runner armed once the 404 went out: Timer G's (§17.2.1)."""
    for _ in range(2000):
        if runner._deadline is not None:
            return runner._deadline
        await asyncio.sleep(0.001)
    raise AssertionError("no timer armed: the INVITE was not answered")


async def _answers_in_order(*, block: float) -> list[tuple[int, str]]:
    """An INVITE answered 404 and never ACKed; while the 404's Timer G falls due, the loop is
    held for ``block`` s with an OPTIONS waiting unread. Returns (status, CSeq method) of every
    response the caller got, in order of arrival."""
    loop = asyncio.get_running_loop()
    endpoint = SipEndpoint(rng=random.Random(1), timers=TimerConfig(t1=T1, t2=4 * T1))

    def answer(event: Event) -> None:
        if isinstance(event, RequestReceived):
            status = 404 if event.request.method == "INVITE" else 200
            endpoint.reply(event.tx_id, status, loop.time())

    runner = EndpointRunner(endpoint, answer)
    try:
        (bound,) = await runner.start([ListenSpec("udp", "127.0.0.1", 0)])
        caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        caller.bind(("127.0.0.1", 0))
        caller.setblocking(False)
        port = caller.getsockname()[1]
        server = ("127.0.0.1", bound.port)
        caller.sendto(_request("INVITE", 1, port), server)
        due = await _timer_g(runner)

        def hold_the_loop() -> None:
            caller.sendto(_request("OPTIONS", 2, port), server)  # waits unread meanwhile
            time.sleep(block)

        loop.call_at(due - 0.01, hold_the_loop)
        await asyncio.sleep(due - loop.time() + block + 0.05)
        got = []
        while True:
            try:
                data = caller.recv(65536)
            except BlockingIOError:
                break
            response = parse_message(data)
            assert isinstance(response, Response)
            got.append((response.status, response.cseq.method))
        caller.close()
        return got
    finally:
        await runner.close()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_timer_due_while_a_request_waits_unread_runs_after_it_is_answered(loop: str) -> None:
    # Without the wait, uvloop's timers run before its reads (and asyncio's before the pass that
    # answers what it read): the retransmitted 404 would go out before the 200 to the OPTIONS
    # that came first. ``vacant serve`` runs on uvloop.
    run = uvloop.run if loop == "uvloop" else asyncio.run
    got = run(_answers_in_order(block=0.03))
    assert got[:3] == [(404, "INVITE"), (200, "OPTIONS"), (404, "INVITE")]


def test_a_timer_waits_no_longer_than_the_slack() -> None:
    # Datagrams that keep waiting (an overload) hold the timers back by HOUSEKEEPING_SLACK at
    # most: then the retransmission goes out whatever waits.
    async def main() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        endpoint = SipEndpoint(rng=random.Random(2), timers=TimerConfig(t1=T1, t2=4 * T1))
        runner = EndpointRunner(
            endpoint,
            lambda e: (
                endpoint.reply(e.tx_id, 404, loop.time())
                if isinstance(e, RequestReceived)
                else None
            ),
        )
        try:
            (bound,) = await runner.start([ListenSpec("udp", "127.0.0.1", 0)])
            caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            caller.bind(("127.0.0.1", 0))
            caller.setblocking(False)
            caller.sendto(_request("INVITE", 3, caller.getsockname()[1]), ("127.0.0.1", bound.port))
            due = await _timer_g(runner)
            runner.datagrams_waiting = lambda: True  # type: ignore[method-assign]
            sent: list[float] = []
            async with asyncio.timeout(5):  # the 404, then its first retransmission
                while len(sent) < 2:
                    try:
                        caller.recv(65536)
                        sent.append(loop.time())
                    except BlockingIOError:
                        await asyncio.sleep(0.001)
            caller.close()
            return len(sent), sent[1] - due
        finally:
            await runner.close()

    count, late = asyncio.run(main())
    assert count == 2
    assert runner_module.HOUSEKEEPING_SLACK <= late < runner_module.HOUSEKEEPING_SLACK + 0.05
