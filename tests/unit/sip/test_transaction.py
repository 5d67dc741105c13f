"""The four transaction tables (RFC 3261 §17, RFC 6026), row by row, against a fake host.

Every row of every table is driven through the transaction's public entry points and its
actions' effects are checked; every pair a table lacks is absorbed when it comes from the peer and
raises ``LocalProtocolError`` when it comes from the TU (DESIGN.md §4).
"""

import logging
from pathlib import Path
from typing import Any

import pytest

import vacant.sip
from vacant.errors import LocalProtocolError
from vacant.sip.events import (
    AckReceived,
    Address,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
    TransportFailed,
    TxId,
)
from vacant.sip.message import Request, Response, parse_message
from vacant.sip.reply import build_ack
from vacant.sip.states import TU_INPUTS, TxInput, TxKind, TxState
from vacant.sip.timers import TimerConfig
from vacant.sip.transaction import (
    INVITE_CLIENT,
    INVITE_SERVER,
    MACHINES,
    NON_INVITE_CLIENT,
    NON_INVITE_SERVER,
    ClientTransaction,
    Machine,
    ServerTransaction,
    Transaction,
    TransactionHost,
)

PEER = Address("192.0.2.10", 5060)


def request(method: str = "INVITE", *, to_tag: str | None = None, extra: str = "") -> Request:
    to = "<sip:+15551234567@vacant.example.com>" + (f";tag={to_tag}" if to_tag else "")
    data = (
        f"{method} sip:+15551234567@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10,"
        " SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKproxy\r\n"
        "Via: SIP/2.0/UDP 198.51.100.2;branch=z9hG4bKfirst\r\n"
        "Route: <sip:proxy.example.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        f"To: {to}\r\n"
        'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
        "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        f"CSeq: 314159 {method}\r\n"
        f"{extra}Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response(status: int, method: str = "INVITE") -> Response:
    data = (
        f"SIP/2.0 {status} Whatever\r\n"
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
        "To: <sip:+15551234567@vacant.example.com>;tag=a6c85cf\r\n"
        'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
        "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        f"CSeq: 314159 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


class FakeHost(TransactionHost):
    """Records what transactions ask of their endpoint."""

    def __init__(self, *, trying_delay: float | None = 0.2) -> None:
        super().__init__()
        self.timers = TimerConfig()
        self.trying_delay = trying_delay
        self.sent: list[tuple[bytes, Address, bool]] = []
        self.events: list[Event] = []
        self.armed: dict[TxInput, float] = {}
        self.cancelled = 0
        self.absorbed_count = 0
        self.retired: list[Transaction] = []

    def transmit(self, data: bytes, destination: Address, retransmission: bool) -> None:
        self.sent.append((data, destination, retransmission))

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def arm(self, tx: Transaction, timer: TxInput, delay: float) -> None:
        self.armed[timer] = delay
        tx.timers[timer] = 1

    def cancel_timers(self, tx: Transaction) -> None:
        self.cancelled += 1
        self.armed.clear()
        tx.timers.clear()

    def absorbed(self, tx: Transaction) -> None:
        self.absorbed_count += 1

    def retire(self, tx: Transaction) -> None:
        self.retired.append(tx)

    def new_tag(self) -> str:
        return "f00dcafe"


def test_a_host_that_leaves_out_a_method_fails_loudly_when_a_transaction_needs_it() -> None:
    """``TransactionHost`` is the seam a transaction acts through; what an endpoint does not
    provide raises rather than passing silently."""
    host = TransactionHost()
    tx = client(FakeHost())
    needs = [
        lambda: host.transmit(b"", PEER, False),
        lambda: host.emit(TransportFailed(tx_id=TxId(1))),
        lambda: host.arm(tx, TxInput.TIMER_A, 0.5),
        lambda: host.cancel_timers(tx),
        lambda: host.absorbed(tx),
        lambda: host.retire(tx),
        host.new_tag,
    ]
    for need in needs:
        with pytest.raises(NotImplementedError):
            need()


def client(host: FakeHost, method: str = "INVITE", *, reliable: bool = False) -> ClientTransaction:
    req = request(method)
    return ClientTransaction(host, TxId(1), req, req.serialize(), PEER, reliable)


def server(host: FakeHost, method: str = "INVITE", *, reliable: bool = False) -> ServerTransaction:
    return ServerTransaction(host, TxId(2), request(method), PEER, PEER, reliable, None)


def make_tx(machine: Machine[Any], host: FakeHost) -> ClientTransaction | ServerTransaction:
    method = "INVITE" if machine.kind in (TxKind.INVITE_CLIENT, TxKind.INVITE_SERVER) else "BYE"
    if machine.kind in (TxKind.INVITE_CLIENT, TxKind.NON_INVITE_CLIENT):
        return client(host, method)
    return server(host, method)


_STATUS = {
    TxInput.RESPONSE_1XX: 180,
    TxInput.RESPONSE_2XX: 200,
    TxInput.RESPONSE_3XX_6XX: 486,
    TxInput.TU_1XX: 183,
    TxInput.TU_2XX: 200,
    TxInput.TU_3XX_6XX: 404,
}


def deliver(tx: ClientTransaction | ServerTransaction, event: TxInput) -> None:
    """Feed ``event`` through the entry point the endpoint would use."""
    responses = (TxInput.RESPONSE_1XX, TxInput.RESPONSE_2XX, TxInput.RESPONSE_3XX_6XX)
    if event in responses and isinstance(tx, ClientTransaction):
        tx.receive_response(response(_STATUS[event], tx.request.method))
    elif event in (TxInput.TU_1XX, TxInput.TU_2XX, TxInput.TU_3XX_6XX) and isinstance(
        tx, ServerTransaction
    ):
        tx.respond(b"SIP/2.0 %d from TU\r\n\r\n" % _STATUS[event], _STATUS[event])
    elif event is TxInput.ACK and isinstance(tx, ServerTransaction):
        tx.receive_request(request("ACK"))
    elif event is TxInput.REQUEST_RETRANSMISSION and isinstance(tx, ServerTransaction):
        tx.receive_request(tx.request)
    elif event is TxInput.TRANSPORT_ERROR:
        tx.transport_error()
    else:
        tx.fire(event)


def check_effect(name: str, host: FakeHost, tx: Transaction, interval: float) -> None:
    """Assert that the action called ``name`` left its mark on ``host``."""
    sent_flags = [retransmission for _, _, retransmission in host.sent]
    match name:
        case "send_request" | "send_ack" | "send_response" | "send_trying":
            assert False in sent_flags
        case "retransmit_request" | "resend_ack" | "resend_response" | "retransmit_response":
            assert True in sent_flags
        case "pass_up":
            assert any(isinstance(e, RequestReceived | ResponseReceived) for e in host.events)
        case "pass_up_ack":
            assert any(isinstance(e, AckReceived) and e.tx_id == tx.id for e in host.events)
        case "inform_timeout":
            assert any(isinstance(e, TransactionTimedOut) for e in host.events)
        case "inform_transport_error":
            assert any(isinstance(e, TransportFailed) for e in host.events)
        case "terminate":
            assert host.retired == [tx]
        case "cancel_timers":
            assert host.cancelled == 1
        case "absorb":
            assert host.absorbed_count
        case "discard":
            assert host.sent == []
        case "release_request":
            assert isinstance(tx, ServerTransaction)
            assert tx.request is None
            assert tx.last_response is not None  # still resent until the ACK
        case "release":
            assert isinstance(tx, ServerTransaction)
            assert (tx.request, tx.last_response) == (None, None)
        case "double_timer_a":
            assert host.armed[TxInput.TIMER_A] == 2 * interval
        case "backoff_timer_e":
            assert host.armed[TxInput.TIMER_E] == min(2 * interval, 4.0)
        case "reset_timer_e_to_t2":
            assert host.armed[TxInput.TIMER_E] == 4.0
        case _:
            timer = TxInput[name.removeprefix("arm_").upper()]
            assert timer in host.armed, f"{name} armed nothing"
    if name == "retransmit_response":
        assert host.armed[TxInput.TIMER_G] == min(2 * interval, 4.0)


ROWS = [
    pytest.param(machine, state, event, id=f"{machine.kind.value}: {state.value} + {event.value}")
    for machine in MACHINES
    for (state, event) in machine.table
]


@pytest.mark.parametrize(("machine", "state", "event"), ROWS)
def test_every_table_row_moves_to_its_next_state_and_runs_its_actions(
    machine: Machine[Any], state: TxState, event: TxInput
) -> None:
    """RFC 3261 Figures 5-8 and RFC 6026 Figures 5 and 7, one arrow at a time."""
    host = FakeHost()
    tx = make_tx(machine, host)
    tx.state = state
    tx.interval = 0.5
    if isinstance(tx, ClientTransaction):
        tx.ack = b"ACK"
    else:
        tx.last_response = b"SIP/2.0 183 last\r\n\r\n"
        assert tx.request.cseq.method == tx.request.method  # a typed view, now cached
    target, actions = machine.table[state, event]
    deliver(tx, event)
    assert tx.state is target
    for action in actions:
        check_effect(action.__name__, host, tx, 0.5)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.kind.value)
def test_inputs_without_a_row_are_absorbed_from_the_peer_and_refused_from_the_tu(
    machine: Machine[Any],
) -> None:
    """DESIGN.md §4: a missing pair is a retransmission (absorbed) or our own bug (raised)."""
    for state in TxState:
        for event in TxInput:
            if (state, event) in machine.table:
                continue
            host = FakeHost()
            tx = make_tx(machine, host)
            tx.state = state
            if event in TU_INPUTS:
                with pytest.raises(LocalProtocolError, match="cannot take"):
                    deliver(tx, event)
            else:
                deliver(tx, event)
                assert host.absorbed_count == 1, (state, event)
            assert tx.state is state
            assert host.sent == []
            assert host.events == []


def test_machines_start_in_their_rfc_states() -> None:
    assert INVITE_CLIENT.initial is TxState.CALLING  # §17.1.1.2
    assert NON_INVITE_CLIENT.initial is TxState.TRYING  # §17.1.2.2
    assert INVITE_SERVER.initial is TxState.PROCEEDING  # §17.2.1
    assert NON_INVITE_SERVER.initial is TxState.TRYING  # §17.2.2


def test_client_transaction_start_sends_the_request_and_arms_its_timers_rfc3261_17_1() -> None:
    host = FakeHost()
    invite = client(host, "INVITE")
    invite.start()
    assert host.sent == [(invite.data, PEER, False)]
    assert host.armed == {TxInput.TIMER_A: 0.5, TxInput.TIMER_B: 32.0}
    host = FakeHost()
    bye = client(host, "BYE")
    bye.start()
    assert host.armed == {TxInput.TIMER_E: 0.5, TxInput.TIMER_F: 32.0}


def test_retransmission_timers_are_not_armed_over_reliable_transports_rfc3261_17_1_1_2() -> None:
    host = FakeHost()
    client(host, "INVITE", reliable=True).start()
    client(host, "BYE", reliable=True).start()
    assert set(host.armed) == {TxInput.TIMER_B, TxInput.TIMER_F}
    tx = server(host, reliable=True)
    tx.respond(b"404", 404)
    assert TxInput.TIMER_G not in host.armed
    assert TxInput.TIMER_H in host.armed


def test_invite_server_start_passes_the_request_up_and_arms_the_200_ms_timer() -> None:
    """§17.2.1: "send 100 if TU won't in 200 ms"."""
    host = FakeHost()
    tx = server(host)
    tx.start()
    assert host.events == [RequestReceived(tx_id=tx.id, request=tx.request, source=PEER)]
    assert host.armed == {TxInput.TIMER_TRYING: 0.2}
    assert host.sent == []


def test_invite_server_sends_100_at_once_when_the_trying_delay_is_zero() -> None:
    host = FakeHost(trying_delay=0)
    tx = server(host)
    tx.start()
    assert host.armed == {}
    assert host.sent[0][0].startswith(b"SIP/2.0 100 Trying\r\n")
    assert tx.last_response == host.sent[0][0]


def test_invite_server_never_sends_100_itself_when_the_trying_delay_is_none() -> None:
    host = FakeHost(trying_delay=None)
    server(host).start()
    assert host.armed == {}
    assert host.sent == []


def test_non_invite_server_discards_a_second_final_response_rfc3261_17_2_2() -> None:
    host = FakeHost()
    tx = server(host, "BYE")
    tx.respond(b"first 200", 200)
    tx.respond(b"second 500", 500)
    assert tx.state is TxState.COMPLETED
    assert [data for data, _, _ in host.sent] == [b"first 200"]
    tx.receive_request(tx.request)
    assert host.sent[-1] == (b"first 200", PEER, True)


def test_request_retransmission_before_any_response_is_absorbed_rfc3261_17_2_1() -> None:
    host = FakeHost()
    tx = server(host)
    tx.receive_request(tx.request)
    assert host.sent == []
    assert host.absorbed_count == 1


def test_response_copies_every_via_from_to_call_id_cseq_and_adds_the_to_tag_rfc3261_8_2_6_2() -> (
    None
):
    host = FakeHost()
    tx = server(host)
    data = tx.response_bytes(404, headers=(("Server", "vacant"),))
    assert data == (
        b"SIP/2.0 404 Not Found\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10,"
        b" SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKproxy\r\n"
        b"Via: SIP/2.0/UDP 198.51.100.2;branch=z9hG4bKfirst\r\n"
        b'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
        b"To: <sip:+15551234567@vacant.example.com>;tag=f00dcafe\r\n"
        b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Server: vacant\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert tx.local_tag == "f00dcafe"
    assert tx.response_bytes(486, "Busy Here", body=b"x").endswith(b"Content-Length: 1\r\n\r\nx")


def test_100_trying_has_no_to_tag_and_copies_timestamp_rfc3261_8_2_6_1() -> None:
    host = FakeHost()
    tx = ServerTransaction(
        host, TxId(3), request(extra="Timestamp: 54\r\n"), PEER, PEER, False, None
    )
    data = tx.response_bytes(100)
    assert b"To: <sip:+15551234567@vacant.example.com>\r\n" in data
    assert b"Timestamp: 54\r\n" in data
    assert tx.to_tag is None
    assert b"Timestamp" not in server(host).response_bytes(100)


def test_response_to_a_request_with_a_to_tag_keeps_that_tag_rfc3261_12_2_2() -> None:
    host = FakeHost()
    tx = ServerTransaction(host, TxId(3), request("BYE", to_tag="abc"), PEER, PEER, False, "abc")
    data = tx.response_bytes(200)
    assert b"To: <sip:+15551234567@vacant.example.com>;tag=abc\r\n" in data
    assert tx.local_tag == "abc"


def test_response_bytes_refuse_header_injection() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        server(FakeHost()).response_bytes(404, headers=(("Warning", "x\r\nVia: evil"),))


def test_completed_invite_server_drops_its_request_but_resends_its_response_rfc3261_17_2_1() -> (
    None
):
    """§17.2.1: after a non-2xx final response the transaction only resends it (Timer G, a
    retransmitted INVITE) until the ACK, so the request goes at once; the response stays."""
    host = FakeHost()
    tx = server(host)
    tx.start()
    invite = tx.request
    assert invite is not None
    tx.respond(tx.response_bytes(404), 404)
    assert tx.state is TxState.COMPLETED
    assert (tx.request, tx.outgoing) == (None, b"")
    assert tx.last_response is not None
    tx.receive_request(invite)  # a retransmitted INVITE gets the 404 again
    tx.fire(TxInput.TIMER_G)
    assert [data for data, _, again in host.sent if again] == [tx.last_response] * 2


def test_confirmed_invite_server_lets_go_of_its_request_and_takes_no_response_rfc3261_17_2_1() -> (
    None
):
    """§17.2.1: in Confirmed only ACKs and INVITEs are absorbed until Timer I, so nothing
    needs the request (matching is by branch, §17.2.3) or the response any more."""
    host = FakeHost()
    tx = server(host)
    tx.start()
    tx.respond(tx.response_bytes(404), 404)
    tx.receive_request(request("ACK"))
    assert tx.state is TxState.CONFIRMED
    assert (tx.request, tx.last_response, tx.outgoing) == (None, None, b"")
    tx.receive_request(request("ACK"))  # a retransmitted ACK: absorbed without them
    assert host.absorbed_count == 2
    with pytest.raises(LocalProtocolError, match="Confirmed> sends no more responses"):
        tx.response_bytes(200)


def test_ack_for_a_non_2xx_response_follows_rfc3261_17_1_1_3() -> None:
    invite = request()
    ack = build_ack(invite, response(486))
    assert ack == (
        b"ACK sip:+15551234567@vacant.example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10\r\n"
        b"Route: <sip:proxy.example.com;lr>\r\n"
        b"Max-Forwards: 70\r\n"
        b'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
        b"To: <sip:+15551234567@vacant.example.com>;tag=a6c85cf\r\n"
        b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        b"CSeq: 314159 ACK\r\n"
        b"Content-Length: 0\r\n\r\n"
    )


def test_invite_client_acks_a_final_error_and_repeats_the_ack_for_retransmissions() -> None:
    """§17.1.1.2: "Any retransmissions of the final response ... MUST cause the ACK to be
    re-passed to the transport layer"."""
    host = FakeHost()
    tx = client(host)
    tx.start()
    tx.receive_response(response(486))
    tx.receive_response(response(486))
    assert tx.state is TxState.COMPLETED
    acks = [(data, again) for data, _, again in host.sent[1:]]
    assert acks == [(tx.ack, False), (tx.ack, True)]
    assert [type(e) for e in host.events] == [ResponseReceived]


def test_timed_out_event_names_the_timer() -> None:
    host = FakeHost()
    invite, bye = client(host), client(host, "BYE")
    invite.fire(TxInput.TIMER_B)
    assert host.events[-1] == TransactionTimedOut(tx_id=invite.id, timer="B")
    bye.fire(TxInput.TIMER_F)
    assert host.events[-1] == TransactionTimedOut(tx_id=bye.id, timer="F")
    tx2 = server(host)
    tx2.respond(b"404", 404)
    tx2.fire(TxInput.TIMER_H)
    assert host.events[-1] == TransactionTimedOut(tx_id=tx2.id, timer="H")


def test_state_changes_and_absorbed_inputs_are_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # DESIGN.md §8: DEBUG state changes as "old -> new" (and nothing is formatted otherwise).
    caplog.set_level(logging.DEBUG, logger="vacant.sip.transaction")
    tx = server(FakeHost())
    tx.respond(b"404", 404)
    tx.receive_request(request("ACK"))
    tx.receive_request(request("ACK"))
    assert [record.getMessage() for record in caplog.records] == [
        "tx 2: Proceeding -> Completed",
        "tx 2: Completed -> Confirmed",
        "tx 2: retransmission absorbed in Confirmed",
        "tx 2: retransmission absorbed in Confirmed",
    ]
    assert tx.ack is None  # the ACK is let go once handled


def test_transaction_describes_itself() -> None:
    tx = server(FakeHost(), "BYE")
    assert tx.kind is TxKind.NON_INVITE_SERVER
    assert repr(tx) == "<ServerTransaction 2 non-INVITE server Trying>"


def test_transaction_layer_modules_stay_within_the_size_the_style_guide_asks() -> None:
    """Style guide §2.11: aim for 150-600 lines, split near 800."""
    package = Path(vacant.sip.__file__).parent
    for name in ("timers", "states", "transaction", "dialog", "received", "endpoint", "events"):
        lines = (package / f"{name}.py").read_text(encoding="utf-8").splitlines()
        assert len(lines) < 800, name
