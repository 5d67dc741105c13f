"""SipEndpoint as a UAC: requests it sends and the responses matched to them (RFC 3261 §8.1,
§17.1, §18.1; RFC 3581; RFC 6026)."""

import random

import pytest

from vacant.errors import LocalProtocolError
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import (
    Address,
    Event,
    ResponseReceived,
    TransactionTerminated,
    TransportFailed,
    TxId,
)
from vacant.sip.message import Request, parse_message
from vacant.sip.states import TxKind, TxState
from vacant.sip.transaction import ClientTransaction
from vacant.sip.uri import SipUri

LOCAL = Address("192.0.2.1", 5060)
PEER = Address("192.0.2.10", 5060)


def request(method: str = "BYE", *, via: str | None = None, max_forwards: bool = True) -> Request:
    fields = [
        ("To", "<sip:alice@pbx.example.com>;tag=1928301774"),
        ("From", "<sip:+15551234567@vacant.example.com>;tag=ours"),
        ("Call-ID", "a84b4c76e66710@pc33.example.com"),
        ("CSeq", f"7 {method}"),
    ]
    if via is not None:
        fields.insert(0, ("Via", via))
    if max_forwards:
        fields.append(("Max-Forwards", "70"))
    return Request(method, SipUri(user="alice", host="192.0.2.10"), fields)


def response_to(sent: bytes, status: int, *, extra_via: str | None = None) -> bytes:
    """The peer's response to the request we sent (its Via, CSeq, ... copied)."""
    message = parse_message(sent)
    assert isinstance(message, Request)
    lines = [f"SIP/2.0 {status} Whatever"]
    lines += [f"Via: {via}" for via in message.headers.get_all("via")]
    if extra_via:
        lines.append(f"Via: {extra_via}")
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = message.headers.get(name)
        if name == "To" and status > 100 and "tag=" not in str(value):
            value = f"{value};tag=peer"
        lines.append(f"{name}: {value}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def drain(endpoint: SipEndpoint) -> list[Event]:
    out = []
    while (event := endpoint.next_event()) is not None:
        out.append(event)
    return out


@pytest.fixture
def ep() -> SipEndpoint:
    return SipEndpoint(rng=random.Random(3261), local=[LOCAL, Address("192.0.2.1", 5061, "tls")])


def test_send_request_adds_via_with_a_magic_cookie_branch_and_rport_rfc3261_8_1_1_7(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request(), PEER, 0.0)
    ((data, destination),) = ep.messages_to_send()
    assert destination == PEER
    sent = parse_message(data)
    via = sent.top_via
    assert (via.transport, via.host, via.port) == ("UDP", "192.0.2.1", 5060)
    assert via.branch is not None
    assert via.branch.startswith("z9hG4bK")
    assert via.rport_requested  # RFC 3581 §3
    assert data.startswith(b"BYE sip:alice@192.0.2.10 SIP/2.0\r\nVia: ")
    assert ep.stats.transactions_created[TxKind.NON_INVITE_CLIENT] == 1
    tx = ep.transaction(tx_id)
    assert isinstance(tx, ClientTransaction)
    assert tx.state is TxState.TRYING


def test_send_request_adds_max_forwards_70_when_missing_rfc3261_8_1_1_6(ep: SipEndpoint) -> None:
    ep.send_request(request(max_forwards=False), PEER, 0.0)
    ((data, _),) = ep.messages_to_send()
    assert parse_message(data).max_forwards == 70


def test_send_request_over_tls_names_tls_in_the_via_rfc3261_18_1_1(ep: SipEndpoint) -> None:
    ep.send_request(request(), Address("192.0.2.10", 5061, "tls"), 0.0)
    ((data, _),) = ep.messages_to_send()
    assert b"Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK" in data
    assert ep.get_timer() == pytest.approx(32.0)  # Timer F only: no Timer E over TLS


def test_send_request_keeps_a_via_the_tu_gave(ep: SipEndpoint) -> None:
    via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmine"
    ep.send_request(request(via=via), PEER, 0.0)
    ((data, _),) = ep.messages_to_send()
    assert parse_message(data).headers.get_all("via") == [via]


@pytest.mark.parametrize(
    ("req", "match"),
    [
        (request("ACK"), "use send_ack"),
        (request(via="SIP/2.0/UDP 192.0.2.1;branch=old2543"), "RFC 3261 branch"),
        (request(via="SIP/2.0/UDP 192.0.2.1"), "RFC 3261 branch"),
    ],
    ids=["ACK", "2543 branch", "no branch"],
)
def test_send_request_refuses_what_is_not_a_client_transaction(
    ep: SipEndpoint, req: Request, match: str
) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        ep.send_request(req, PEER, 0.0)


def test_send_request_refuses_a_branch_in_use_and_a_transport_without_local_address(
    ep: SipEndpoint,
) -> None:
    via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsame"
    ep.send_request(request(via=via), PEER, 0.0)
    with pytest.raises(LocalProtocolError, match="already in use"):
        ep.send_request(request(via=via), PEER, 0.0)
    with pytest.raises(LocalProtocolError, match="no local tcp address"):
        ep.send_request(request(), Address("192.0.2.10", 5060, "tcp"), 0.0)


def test_response_is_matched_by_branch_and_cseq_method_rfc3261_17_1_3(ep: SipEndpoint) -> None:
    tx_id = ep.send_request(request(), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(response_to(sent, 200), PEER, 0.1)
    (event,) = drain(ep)
    assert isinstance(event, ResponseReceived)
    assert (event.tx_id, event.response.status) == (tx_id, 200)


def test_response_with_another_cseq_method_does_not_match_rfc3261_17_1_3(
    ep: SipEndpoint,
) -> None:
    ep.send_request(request(), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    other = response_to(sent, 200).replace(b"CSeq: 7 BYE", b"CSeq: 7 INVITE")
    ep.receive(other, PEER, 0.1)
    assert drain(ep) == []
    assert ep.stats.stray_responses == 1


def test_response_with_more_than_one_via_is_discarded_rfc3261_8_1_3_3(ep: SipEndpoint) -> None:
    ep.send_request(request(), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(response_to(sent, 200, extra_via="SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx"), PEER, 0)
    assert drain(ep) == []
    assert ep.stats.dropped == 1


def test_response_without_a_usable_via_or_cseq_is_dropped(ep: SipEndpoint) -> None:
    ep.receive(b"SIP/2.0 200 OK\r\nVia: nonsense\r\nCSeq: 1 BYE\r\n\r\n", PEER, 0.0)
    ep.receive(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n\r\n", PEER, 0.0)
    assert ep.stats.dropped == 2


def test_response_without_branch_is_stray(ep: SipEndpoint) -> None:
    ep.receive(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 BYE\r\n\r\n", PEER, 0.0)
    assert ep.stats.stray_responses == 1


def test_non_invite_client_passes_up_provisionals_and_absorbs_repeated_finals_rfc3261_17_1_2_2(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request(), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(response_to(sent, 100), PEER, 0.1)
    ep.receive(response_to(sent, 481), PEER, 0.2)
    ep.receive(response_to(sent, 481), PEER, 0.3)
    statuses = [e.response.status for e in drain(ep) if isinstance(e, ResponseReceived)]
    assert statuses == [100, 481]
    assert ep.stats.absorbed == 1
    assert ep.get_timer() == pytest.approx(5.2)  # Timer K = T4
    ep.handle_timer(5.2)
    assert drain(ep) == [TransactionTerminated(tx_id=tx_id)]


def test_invite_client_acks_a_non_2xx_itself_and_passes_it_up_once_rfc3261_17_1_1_3(
    ep: SipEndpoint,
) -> None:
    ep.send_request(request("INVITE"), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(response_to(sent, 486), PEER, 0.1)
    ((ack, destination),) = ep.messages_to_send()
    assert destination == PEER
    assert ack.startswith(b"ACK sip:alice@192.0.2.10 SIP/2.0\r\n")
    assert b"To: <sip:alice@pbx.example.com>;tag=1928301774\r\n" in ack
    ep.receive(response_to(sent, 486), PEER, 0.2)
    assert ep.messages_to_send() == [(ack, PEER)]
    assert [type(e) for e in drain(ep)] == [ResponseReceived]


def test_invite_client_passes_every_2xx_to_the_tu_in_accepted_rfc6026_8_4(
    ep: SipEndpoint,
) -> None:
    tx_id = ep.send_request(request("INVITE"), PEER, 0.0)
    ((sent, _),) = ep.messages_to_send()
    ep.receive(response_to(sent, 180), PEER, 0.1)
    ep.receive(response_to(sent, 200), PEER, 0.2)
    ep.receive(response_to(sent, 200), PEER, 0.7)
    statuses = [e.response.status for e in drain(ep) if isinstance(e, ResponseReceived)]
    assert statuses == [180, 200, 200]
    tx = ep.transaction(tx_id)
    assert tx is not None
    assert tx.state is TxState.ACCEPTED
    assert ep.messages_to_send() == []  # the TU ACKs a 2xx, not the transaction
    ep.handle_timer(32.2)  # Timer M
    assert drain(ep) == [TransactionTerminated(tx_id=tx_id)]


def test_send_ack_sends_once_without_a_transaction_rfc3261_17_1_1_3(ep: SipEndpoint) -> None:
    ep.send_ack(request("ACK"), PEER, 0.0)
    ((data, destination),) = ep.messages_to_send()
    assert data.startswith(b"ACK ")
    assert b";branch=z9hG4bK" in data
    assert destination == PEER
    assert ep.get_timer() is None
    with pytest.raises(LocalProtocolError, match="takes an ACK"):
        ep.send_ack(request("BYE"), PEER, 0.0)


def test_transport_error_ends_a_client_transaction_rfc3261_17_1_4(ep: SipEndpoint) -> None:
    tx_id = ep.send_request(request(), PEER, 0.0)
    ep.transport_error(PEER, 0.1)
    assert drain(ep) == [TransportFailed(tx_id=tx_id), TransactionTerminated(tx_id=tx_id)]
    assert ep.transaction(tx_id) is None
    assert ep.get_timer() is None


def test_local_tag_of_a_client_transaction_is_refused(ep: SipEndpoint) -> None:
    tx_id = ep.send_request(request(), PEER, 0.0)
    with pytest.raises(LocalProtocolError):
        ep.local_tag(tx_id)
    with pytest.raises(LocalProtocolError):
        ep.local_tag(TxId(12345))
