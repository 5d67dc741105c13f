"""Timer schedules on a fake clock (RFC 3261 §17 and Table 4, RFC 6026): the clock jumps to each
``get_timer()`` deadline and the test asserts when each message goes out."""

import random

import pytest

from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import (
    Address,
    Event,
    RequestReceived,
    TransactionTerminated,
    TransactionTimedOut,
)
from vacant.sip.message import Request, parse_message
from vacant.sip.uri import SipUri

LOCAL = Address("192.0.2.1", 5060)
PEER = Address("192.0.2.10", 5060)


def request(method: str) -> Request:
    return Request(
        method,
        SipUri(user="alice", host="192.0.2.10"),
        [
            ("To", "<sip:alice@pbx.example.com>"),
            ("From", "<sip:+15551234567@vacant.example.com>;tag=ours"),
            ("Call-ID", "timers@vacant.example.com"),
            ("CSeq", f"1 {method}"),
            ("Contact", "<sip:vacant@192.0.2.1>"),
        ],
    )


def incoming(method: str, *, transport: str = "UDP", to_tag: str = "") -> bytes:
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"{method} sip:+15551234567@vacant.example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 192.0.2.10:5060;branch=z9hG4bKtimers\r\n"
        "Max-Forwards: 70\r\n"
        f"To: <sip:+15551234567@vacant.example.com>{tag}\r\n"
        "From: <sip:alice@pbx.example.com>;tag=1928301774\r\n"
        "Call-ID: timers@pc33.example.com\r\n"
        f"CSeq: 1 {method}\r\n"
        "Contact: <sip:alice@192.0.2.10>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def answer(sent: bytes, status: int) -> bytes:
    message = parse_message(sent)
    lines = [f"SIP/2.0 {status} X", f"Via: {message.headers.get('via')}"]
    lines += [f"{name}: {message.headers.get(name)}" for name in ("From", "To", "Call-ID", "CSeq")]
    return "\r\n".join([*lines, "Content-Length: 0", "", ""]).encode()


def drain(endpoint: SipEndpoint) -> list[Event]:
    out = []
    while (event := endpoint.next_event()) is not None:
        out.append(event)
    return out


def run_until(endpoint: SipEndpoint, end: float) -> list[float]:
    """Advance the fake clock from deadline to deadline up to ``end``; return the times at
    which something was sent."""
    times = []
    endpoint.messages_to_send()
    while (deadline := endpoint.get_timer()) is not None and deadline <= end:
        endpoint.handle_timer(deadline)
        if endpoint.messages_to_send():
            times.append(deadline)
    return times


@pytest.fixture
def ep() -> SipEndpoint:
    return SipEndpoint(rng=random.Random(17), local=[LOCAL, Address("192.0.2.1", 5060, "tcp")])


def test_invite_client_timer_a_doubles_until_timer_b_at_64_t1_rfc3261_17_1_1_2(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request("INVITE"), PEER, 0.0)
    assert run_until(ep, 100.0) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert drain(ep) == [
        TransactionTimedOut(tx_id=tx_id, timer="B"),
        TransactionTerminated(tx_id=tx_id),
    ]
    assert ep.get_timer() is None
    assert ep.stats.retransmissions_sent == 6


def test_non_invite_client_timer_e_doubles_up_to_t2_until_timer_f_rfc3261_17_1_2_2(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request("BYE"), PEER, 0.0)
    expected = [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert run_until(ep, 100.0) == expected
    assert drain(ep) == [
        TransactionTimedOut(tx_id=tx_id, timer="F"),
        TransactionTerminated(tx_id=tx_id),
    ]


def test_non_invite_client_timer_e_is_t2_in_proceeding_rfc3261_17_1_2_2(ep: SipEndpoint) -> None:
    ep.send_request(request("BYE"), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    assert run_until(ep, 0.5) == [0.5]
    ep.receive(answer(sent, 100), PEER, 0.7)
    assert run_until(ep, 31.0) == [1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5]


def test_invite_client_timer_d_absorbs_final_retransmissions_for_32_s_rfc3261_17_1_1_2(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request("INVITE"), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(answer(sent, 486), PEER, 0.2)
    drain(ep)
    assert ep.get_timer() == pytest.approx(32.2)
    ep.handle_timer(32.2)
    assert drain(ep) == [TransactionTerminated(tx_id=tx_id)]


@pytest.mark.parametrize(("method", "status"), [("INVITE", 486), ("BYE", 200)])
def test_client_timers_d_and_k_are_zero_over_tcp_rfc3261_table_4(
    ep: SipEndpoint, method: str, status: int
) -> None:
    tx_id = ep.send_request(request(method), Address("192.0.2.10", 5060, "tcp"), 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(answer(sent, status), Address("192.0.2.10", 5060, "tcp"), 0.2)
    assert drain(ep)[-1] == TransactionTerminated(tx_id=tx_id)
    assert ep.get_timer() is None


def test_invite_server_timer_g_doubles_capped_at_t2_until_timer_h_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    ep.receive(incoming("INVITE"), PEER, 0.0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    ep.reply(event.tx_id, 404, 0.0)
    expected = [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert run_until(ep, 100.0) == expected
    assert drain(ep) == [
        TransactionTimedOut(tx_id=event.tx_id, timer="H"),
        TransactionTerminated(tx_id=event.tx_id),
    ]


def test_timers_rearm_from_the_time_they_are_handled(ep: SipEndpoint) -> None:
    ep.send_request(request("INVITE"), PEER, 0.0)
    ep.handle_timer(0.6)  # Timer A was due at 0.5: handled late, the next is 2*T1 later
    assert ep.get_timer() == pytest.approx(1.6)


def test_non_invite_server_timer_j_is_64_t1_over_udp_and_zero_over_tcp_rfc3261_17_2_2(
    ep: SipEndpoint,
) -> None:
    ep.receive(incoming("OPTIONS"), PEER, 0.0)
    (udp,) = drain(ep)
    assert isinstance(udp, RequestReceived)
    ep.reply(udp.tx_id, 200, 1.0)
    assert ep.get_timer() == pytest.approx(33.0)
    tcp = Address("192.0.2.10", 40000, "tcp")
    over_tcp = incoming("OPTIONS", transport="TCP").replace(b"CSeq: 1", b"CSeq: 2")
    ep.receive(over_tcp.replace(b"z9hG4bKtimers", b"z9hG4bKt"), tcp, 2.0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    ep.reply(event.tx_id, 200, 2.0)
    assert drain(ep) == [TransactionTerminated(tx_id=event.tx_id)]


def test_disarmed_timers_never_fire_nor_surface_in_get_timer(
    ep: SipEndpoint,
) -> None:
    """Lazy deletion (the heap itself is tested in test_timers.py)."""
    calls = 1500
    for n in range(calls):
        invite = incoming("INVITE").replace(b"z9hG4bKtimers", b"z9hG4bK%d" % n)
        ep.receive(invite.replace(b"tag=1928301774", b"tag=%d" % n), PEER, 0.0)
        (event,) = drain(ep)
        assert isinstance(event, RequestReceived)
        ep.reply(event.tx_id, 404, 0.0)  # disarms the 200 ms timer, arms G and H
        ack = incoming("ACK").replace(b"z9hG4bKtimers", b"z9hG4bK%d" % n)
        ep.receive(ack.replace(b"tag=1928301774", b"tag=%d" % n), PEER, 0.0)  # disarms G, H
    assert ep.get_timer() == pytest.approx(5.0)  # Timer I; 4500 stale entries skipped
    ep.handle_timer(5.0)
    assert len(drain(ep)) == calls
    assert ep.get_timer() is None
