"""SipEndpoint as a UAS: bytes in, events and bytes out (RFC 3261 §8.2, §9.2, §17.2, §18.2;
RFC 3581; RFC 6026)."""

import random
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vacant.errors import LocalProtocolError
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
    TxId,
)
from vacant.sip.fields import Via
from vacant.sip.message import Request, Response, parse_message
from vacant.sip.reply import make_response
from vacant.sip.states import TxKind, TxState
from vacant.sip.transaction import ServerTransaction

E = TypeVar("E")

RURI = "sip:+15551234567@vacant.example.com"
CALL_ID = "a84b4c76e66710@pc33.example.com"
SRC = Address("192.0.2.10", 5060)
BRANCH = "z9hG4bK776asdhds"


def req(
    method: str = "INVITE",
    *,
    branch: str = BRANCH,
    sent_by: str = "192.0.2.10:5060",
    via_params: str = "",
    transport: str = "UDP",
    to_tag: str | None = None,
    from_tag: str = "1928301774",
    call_id: str = CALL_ID,
    cseq: int = 314159,
    cseq_method: str | None = None,
    uri: str = RURI,
    extra: Iterable[str] = (),
    omit: Iterable[str] = (),
) -> bytes:
    """A request on the wire; ``omit`` drops fields by name."""
    fields = {
        "Via": f"SIP/2.0/{transport} {sent_by};branch={branch}{via_params}",
        "Max-Forwards": "70",
        "To": f"<{RURI}>" + (f";tag={to_tag}" if to_tag else ""),
        "From": f'"Alice" <sip:alice@pbx.example.com>;tag={from_tag}',
        "Call-ID": call_id,
        "CSeq": f"{cseq} {cseq_method or method}",
        "Contact": "<sip:alice@192.0.2.10:5060>",
    }
    lines = [f"{method} {uri} SIP/2.0"]
    lines += [f"{name}: {value}" for name, value in fields.items() if name not in omit]
    lines += [*extra, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def drain(endpoint: SipEndpoint) -> list[Event]:
    out = []
    while (event := endpoint.next_event()) is not None:
        out.append(event)
    return out


def only(endpoint: SipEndpoint, kind: type[E]) -> E:
    """The one event queued, which must be a ``kind``."""
    events = drain(endpoint)
    assert len(events) == 1, events
    assert isinstance(events[0], kind), events
    return events[0]


def wire(endpoint: SipEndpoint) -> list[tuple[bytes, Address]]:
    return endpoint.messages_to_send()


def status_lines(endpoint: SipEndpoint) -> list[bytes]:
    return [data.split(b"\r\n", 1)[0] for data, _ in wire(endpoint)]


def parsed(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


@pytest.fixture
def ep() -> SipEndpoint:
    return SipEndpoint(rng=random.Random(4475))


def invite_tx(ep: SipEndpoint, data: bytes | None = None, now: float = 0.0) -> RequestReceived:
    ep.receive(req() if data is None else data, SRC, now)
    events = drain(ep)
    assert len(events) == 1
    assert isinstance(events[0], RequestReceived)
    return events[0]


# --- server transactions -----------------------------------------------------------------------


def test_new_invite_is_passed_up_in_a_new_server_transaction_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    assert event.request.method == "INVITE"
    assert event.source == SRC
    assert ep.stats.transactions_created[TxKind.INVITE_SERVER] == 1
    tx = ep.transaction(event.tx_id)
    assert isinstance(tx, ServerTransaction)
    assert tx.state is TxState.PROCEEDING
    assert wire(ep) == []


def test_reply_is_assembled_from_the_request_fields_and_sent_to_the_source_rfc3261_8_2_6(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.01)
    tag = ep.local_tag(event.tx_id)
    assert wire(ep) == [
        (
            b"SIP/2.0 404 Not Found\r\n"
            b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
            b'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
            b"To: <sip:+15551234567@vacant.example.com>;tag=" + tag.encode() + b"\r\n"
            b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
            b"CSeq: 314159 INVITE\r\n"
            b"Content-Length: 0\r\n\r\n",
            SRC,
        )
    ]


def test_invite_server_sends_100_trying_when_the_tu_is_silent_for_200_ms_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    assert ep.get_timer() == pytest.approx(0.2)
    ep.handle_timer(0.2)
    (trying,) = wire(ep)
    assert parsed(trying[0]).status == 100
    assert parsed(trying[0]).to.tag is None
    ep.reply(event.tx_id, 404, 0.3)
    assert status_lines(ep) == [b"SIP/2.0 404 Not Found"]


def test_no_100_trying_when_the_tu_answers_within_200_ms_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 180, 0.05)
    assert status_lines(ep) == [b"SIP/2.0 180 Ringing"]
    assert ep.get_timer() is None  # no 200 ms timer left (and no Timer G before a final)
    ep.handle_timer(0.2)
    assert wire(ep) == []


def test_100_trying_at_once_is_the_tu_choice_trying_delay_zero() -> None:
    endpoint = SipEndpoint(rng=random.Random(1), trying_delay=0)
    endpoint.receive(req(), SRC, 0.0)
    assert status_lines(endpoint) == [b"SIP/2.0 100 Trying"]
    assert isinstance(endpoint.next_event(), RequestReceived)


def test_retransmitted_invite_gets_the_latest_provisional_again_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 183, 0.05)
    wire(ep)
    ep.receive(req(), SRC, 0.5)
    assert status_lines(ep) == [b"SIP/2.0 183 Session Progress"]
    assert drain(ep) == []
    assert ep.stats.retransmissions_sent == 1


def test_retransmitted_invite_gets_the_final_response_again_in_completed_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.05)
    (final,) = wire(ep)
    ep.receive(req(), SRC, 0.3)
    assert wire(ep) == [final]
    assert drain(ep) == []


def test_ack_for_a_non_2xx_response_is_absorbed_and_confirms_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.05)
    wire(ep)
    ep.receive(req("ACK", to_tag=ep.local_tag(event.tx_id)), SRC, 0.1)
    tx = ep.transaction(event.tx_id)
    assert tx is not None
    assert tx.state is TxState.CONFIRMED
    # Absorbing is all that is left: the request and the response are let go (``release``).
    assert (tx.request, tx.last_response) == (None, None)
    assert drain(ep) == []
    ep.receive(req("ACK", to_tag="whatever"), SRC, 0.2)  # retransmitted ACK: absorbed too
    assert (drain(ep), wire(ep)) == ([], [])
    assert ep.stats.absorbed == 2
    assert ep.get_timer() == pytest.approx(5.1)  # Timer I = T4 after the ACK, not G or H
    ep.handle_timer(5.1)
    assert drain(ep) == [TransactionTerminated(tx_id=event.tx_id)]
    assert ep.transaction(event.tx_id) is None


def state_after_ack(ep: SipEndpoint, ack: bytes) -> TxState:
    """The state of an INVITE server transaction that answered 404 and then received ``ack``."""
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.05)
    wire(ep)
    ep.receive(ack, SRC, 0.1)
    tx = ep.transaction(event.tx_id)
    assert tx is not None
    return tx.state


def test_ack_for_a_non_2xx_is_matched_by_its_top_via_alone_rfc3261_17_2_3(
    ep: SipEndpoint,
) -> None:
    """§17.2.3: branch and sent-by match the ACK; nothing past its top Via is read, so an ACK
    that would not parse (a line without a colon) still ends the transaction's retransmissions."""
    ack = req("ACK", extra=("not a header field",))
    assert state_after_ack(ep, ack) is TxState.CONFIRMED
    assert (drain(ep), wire(ep)) == ([], [])
    assert (ep.stats.parse_errors, ep.stats.dropped, ep.stats.absorbed) == (0, 0, 1)


PLAIN_VIA = f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch={BRANCH}"


@pytest.mark.parametrize(
    ("ack", "confirmed"),
    [
        (req("ACK", omit=("Via",), extra=(PLAIN_VIA, "not a header field")), True),
        (req("ACK", sent_by="proxy.example.com", extra=(PLAIN_VIA, "not a header field")), False),
    ],
    ids=["plain Via, not the first field", "plain Via below a top Via of another form"],
)
def test_ack_fast_path_reads_the_top_via_wherever_it_is_rfc3261_17_2_3(
    ep: SipEndpoint, ack: bytes, confirmed: bool
) -> None:
    """The fast path matches the first field in place, else searches for the first Via: a
    plain top Via lower down still ends the transaction unparsed (the malformed line shows it),
    and a plain Via below a top Via it cannot read never stands in for it (§17.2.3 matches the
    top Via)."""
    assert state_after_ack(ep, ack) is (TxState.CONFIRMED if confirmed else TxState.COMPLETED)
    assert (ep.stats.parse_errors, ep.stats.absorbed) == ((0, 1) if confirmed else (1, 0))


COMPACT_VIA = f"v: SIP/2.0/UDP 192.0.2.10:5060;branch={BRANCH}"
BRANCH_NOT_FIRST = f"Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch={BRANCH}"


@pytest.mark.parametrize(
    ("ack", "confirmed"),
    [
        (req("ACK", omit=("Via",), extra=(COMPACT_VIA,)), True),
        (req("ACK", omit=("Via",), extra=(BRANCH_NOT_FIRST,)), True),
        (req("ACK", sent_by="192.0.2.10:65536"), False),
        (req("ACK", sent_by="999.0.2.10:5060"), False),
        (req("ACK")[:-2], False),
    ],
    ids=["compact Via", "branch not first", "port out of range", "not an IPv4 address", "unframed"],
)
def test_ack_with_another_form_of_via_takes_the_full_path_rfc3261_17_2_3(
    ep: SipEndpoint, ack: bytes, confirmed: bool
) -> None:
    assert state_after_ack(ep, ack) is (TxState.CONFIRMED if confirmed else TxState.COMPLETED)
    assert ep.stats.dropped == (0 if confirmed else 1)  # what does not parse is dropped


def test_ack_with_a_new_branch_acknowledges_a_2xx_and_goes_to_the_tu_rfc3261_17(
    ep: SipEndpoint,
) -> None:
    ep.receive(req("ACK", branch="z9hG4bKack2xx", to_tag="abc"), SRC, 1.0)
    event = only(ep, AckReceived)
    assert event.tx_id is None
    assert event.request.method == "ACK"
    assert wire(ep) == []  # an ACK is never answered


@pytest.mark.parametrize(
    "ack",
    [
        req("ACK", branch="z9hG4bKx", omit=("Call-ID",)),
        req("ACK", branch="z9hG4bKx", cseq_method="INVITE"),
    ],
    ids=["no Call-ID", "CSeq method is not ACK"],
)
def test_unusable_ack_is_dropped_not_answered_rfc3261_17_1_1_3(ep: SipEndpoint, ack: bytes) -> None:
    ep.receive(ack, SRC, 0.0)
    assert (drain(ep), wire(ep)) == ([], [])
    assert ep.stats.dropped == 1


def test_invite_server_moves_to_accepted_on_2xx_and_absorbs_invites_rfc6026_8_7(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 200, 0.05)
    (ok,) = wire(ep)
    tx = ep.transaction(event.tx_id)
    assert tx is not None
    assert tx.state is TxState.ACCEPTED
    ep.receive(req(), SRC, 0.3)  # the transaction never answers an INVITE with the 2xx itself
    assert wire(ep) == []
    ep.reply(event.tx_id, 200, 0.35)  # the TU's own retransmission passes
    assert wire(ep) == [ok]
    ep.receive(req("ACK", branch="z9hG4bKack", to_tag=ep.local_tag(event.tx_id)), SRC, 0.4)
    only(ep, AckReceived)
    assert ep.get_timer() == pytest.approx(32.05)  # Timer L
    ep.handle_timer(32.05)
    assert drain(ep) == [TransactionTerminated(tx_id=event.tx_id)]


def test_uas_core_retransmits_2xx_until_the_ack_arrives_rfc3261_13_3_1_4(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 200, 0.0)
    (ok,) = wire(ep)
    times = []
    while (deadline := ep.get_timer()) is not None and deadline < 8.0:
        ep.handle_timer(deadline)
        assert wire(ep) == [ok]
        times.append(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5]  # T1, doubling up to T2
    ack = req("ACK", branch="z9hG4bKack", to_tag=ep.local_tag(event.tx_id))
    ep.receive(ack, SRC, 8.0)
    ep.handle_timer(11.5)
    assert wire(ep) == []
    assert only(ep, AckReceived).request == parse_message(ack)


def test_uas_core_gives_up_on_a_missing_ack_after_64_t1_rfc3261_13_3_1_4() -> None:
    """Also over TCP: "independent of whatever transport protocols are used"."""
    endpoint = SipEndpoint(rng=random.Random(5))
    conn = Address("192.0.2.10", 40000, "tcp")
    endpoint.receive(req(transport="TCP"), conn, 0.0)
    event = only(endpoint, RequestReceived)
    endpoint.reply(event.tx_id, 200, 0.0)
    sent = 0
    while (deadline := endpoint.get_timer()) is not None:
        endpoint.handle_timer(deadline)
        sent += len(wire(endpoint))
    assert sent == 1 + 10  # 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5
    assert drain(endpoint) == [
        TransactionTimedOut(tx_id=event.tx_id, timer="H"),  # the TU ends the call with BYE
        TransactionTerminated(tx_id=event.tx_id),
    ]


def test_ack_for_another_call_leaves_a_2xx_retransmission_running_rfc3261_13_3_1_4(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 200, 0.0)
    other = invite_tx(ep, req(branch="z9hG4bKother", call_id="other@pc33"))
    ep.reply(other.tx_id, 404, 0.0)
    ep.receive(req("ACK", branch="z9hG4bKother", call_id="other@pc33"), SRC, 0.1)
    ep.receive(req("ACK", branch="z9hG4bKa2", call_id="other@pc33", to_tag="x"), SRC, 0.2)
    wire(ep)
    ep.handle_timer(0.5)
    assert status_lines(ep) == [b"SIP/2.0 200 OK"]


def test_ack_reusing_the_invite_branch_also_stops_the_2xx_retransmission_rfc6026_7_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 200, 0.0)
    ep.receive(req("ACK", to_tag="broken>"), SRC, 0.1)  # matched, but not this 2xx's ACK
    ep.receive(req("ACK", to_tag=ep.local_tag(event.tx_id)), SRC, 0.2)
    wire(ep)
    assert ep.get_timer() == pytest.approx(32.0)  # only Timer L is left
    assert [type(e) for e in drain(ep)] == [AckReceived, AckReceived]


def test_ack_matching_an_accepted_invite_transaction_goes_to_the_tu_rfc6026_7_1(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 200, 0.05)
    ep.receive(req("ACK", to_tag=ep.local_tag(event.tx_id)), SRC, 0.1)
    ack = only(ep, AckReceived)
    assert ack.tx_id == event.tx_id


def test_second_final_response_from_the_tu_raises_local_protocol_error(ep: SipEndpoint) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.05)
    # Completed, the transaction has let go of the request the response would be built from.
    with pytest.raises(LocalProtocolError, match="Completed> sends no more responses"):
        ep.reply(event.tx_id, 486, 0.06)
    # A response the TU built itself meets the transaction's rule (§17.2.1).
    response = make_response(event.request, 486, random.Random(2))
    with pytest.raises(LocalProtocolError, match="cannot take 300-699 from TU in the Completed"):
        ep.respond(event.tx_id, response, 0.06)


def test_responding_to_an_unknown_or_client_transaction_raises() -> None:
    endpoint = SipEndpoint(rng=random.Random(1), local=[Address("192.0.2.1", 5060)])
    with pytest.raises(LocalProtocolError, match="no live server transaction"):
        endpoint.reply(TxId(99), 404, 0.0)
    bye = parse_message(req("BYE", omit=("Via",)))
    assert isinstance(bye, Request)
    client_id = endpoint.send_request(bye, SRC, 0.0)
    with pytest.raises(LocalProtocolError, match="no live server transaction"):
        endpoint.reply(client_id, 200, 0.0)


def test_respond_sends_a_response_built_by_the_tu_and_remembers_its_to_tag(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    response = make_response(event.request, 486, random.Random(2), to_tag="busy1")
    ep.respond(event.tx_id, response, 0.05)
    assert wire(ep) == [(response.serialize(), SRC)]
    assert ep.local_tag(event.tx_id) == "busy1"


def test_respond_with_100_trying_built_by_the_tu_sets_no_tag(ep: SipEndpoint) -> None:
    event = invite_tx(ep)
    ep.respond(event.tx_id, make_response(event.request, 100, random.Random(2)), 0.05)
    assert status_lines(ep) == [b"SIP/2.0 100 Trying"]
    tx = ep.transaction(event.tx_id)
    assert isinstance(tx, ServerTransaction)
    assert tx.to_tag is None
    ep.handle_timer(0.2)
    assert wire(ep) == []  # the TU's 100 was the provisional: no second one


def test_respond_with_an_unparseable_to_keeps_the_generated_tag(ep: SipEndpoint) -> None:
    event = invite_tx(ep)
    response = Response(404, headers=[("To", "<<broken")])
    tx = ep.transaction(event.tx_id)
    assert isinstance(tx, ServerTransaction)
    ep.respond(tx, response, 0.05)
    assert tx.to_tag is None
    assert tx.state is TxState.COMPLETED


def test_reply_refuses_a_status_outside_100_699(ep: SipEndpoint) -> None:
    event = invite_tx(ep)
    with pytest.raises(ValueError, match="outside"):
        ep.reply(event.tx_id, 700, 0.0)


def test_in_dialog_request_is_passed_up_with_its_own_to_tag_rfc3261_12_2_2(
    ep: SipEndpoint,
) -> None:
    ep.receive(req("BYE", branch="z9hG4bKbye", to_tag="ours"), SRC, 0.0)
    event = only(ep, RequestReceived)
    assert ep.local_tag(event.tx_id) == "ours"
    ep.reply(event.tx_id, 200, 0.01)
    assert b";tag=ours\r\n" in wire(ep)[0][0]


def test_non_invite_server_absorbs_in_trying_and_repeats_its_final_in_completed_rfc3261_17_2_2(
    ep: SipEndpoint,
) -> None:
    bye = req("BYE", branch="z9hG4bKbye", to_tag="ours")
    ep.receive(bye, SRC, 0.0)
    event = only(ep, RequestReceived)
    ep.receive(bye, SRC, 0.5)
    assert wire(ep) == []
    ep.reply(event.tx_id, 200, 0.6)
    (ok,) = wire(ep)
    ep.receive(bye, SRC, 1.0)
    assert wire(ep) == [ok]
    assert ep.get_timer() == pytest.approx(32.6)  # Timer J = 64*T1
    ep.handle_timer(32.6)
    assert drain(ep) == [TransactionTerminated(tx_id=event.tx_id)]


def test_transport_error_is_reported_and_the_invite_server_stays_rfc6026_figure_7(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.transport_error(SRC, 0.1)
    assert drain(ep) == [TransportFailed(tx_id=event.tx_id)]
    tx = ep.transaction(event.tx_id)
    assert tx is not None
    assert tx.state is TxState.PROCEEDING
    ep.transport_error(Address("203.0.113.9", 5060), 0.2)  # nobody sends there
    assert drain(ep) == []


# --- CANCEL (§9.2) -----------------------------------------------------------------------------


def test_cancel_is_answered_200_with_the_invite_to_tag_and_reported_rfc3261_9_2(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.receive(req("CANCEL"), SRC, 1.0)
    cancel = only(ep, CancelReceived)
    assert cancel == CancelReceived(invite_tx_id=event.tx_id, request=cancel.request, source=SRC)
    ((data, destination),) = wire(ep)
    ok = parsed(data)
    assert (ok.status, ok.cseq.method, destination) == (200, "CANCEL", SRC)
    assert ok.to.tag == ep.local_tag(event.tx_id)
    ep.reply(event.tx_id, 487, 1.01)
    assert parsed(wire(ep)[0][0]).to.tag == ok.to.tag  # §9.2: the same To tag
    ep.receive(req("CANCEL"), SRC, 1.5)  # retransmitted CANCEL: the 200 again
    assert wire(ep) == [(data, SRC)]
    assert drain(ep) == []
    assert ep.stats.transactions_created[TxKind.NON_INVITE_SERVER] == 1


def test_cancel_after_the_final_response_is_answered_200_without_event_rfc3261_9_2(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep)
    ep.reply(event.tx_id, 404, 0.1)
    wire(ep)
    ep.receive(req("CANCEL"), SRC, 0.2)
    assert status_lines(ep) == [b"SIP/2.0 200 OK"]
    assert drain(ep) == []


def test_cancel_matching_no_transaction_gets_481_rfc3261_9_2(ep: SipEndpoint) -> None:
    ep.receive(req("CANCEL", branch="z9hG4bKnothing"), SRC, 0.0)
    assert status_lines(ep) == [b"SIP/2.0 481 Call/Transaction Does Not Exist"]
    assert drain(ep) == []
    assert ep.stats.rejected == 1


def test_cancel_of_a_non_invite_request_is_answered_200_without_event_rfc3261_9_2(
    ep: SipEndpoint,
) -> None:
    ep.receive(req("OPTIONS", branch="z9hG4bKopt"), SRC, 0.0)
    drain(ep)
    ep.receive(req("CANCEL", branch="z9hG4bKopt"), SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 200 OK"]
    assert drain(ep) == []


# --- merged requests, rejections, unparseable input ----------------------------------------


def test_merged_request_gets_482_and_never_reaches_the_tu_rfc3261_8_2_2_2(
    ep: SipEndpoint,
) -> None:
    invite_tx(ep)
    ep.receive(req(branch="z9hG4bKforked", sent_by="198.51.100.7"), SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 482 Loop Detected"]
    assert drain(ep) == []


@pytest.mark.parametrize(
    "again",
    [req(), req(branch="z9hG4bKforked", sent_by="198.51.100.7")],
    ids=["same branch", "same From tag, Call-ID and CSeq"],
)
def test_a_retired_transaction_leaves_no_index_entry_behind_rfc3261_17_2_3_8_2_2_2(
    ep: SipEndpoint, again: bytes
) -> None:
    """Once Timer I has ended an INVITE transaction, its branch (§17.2.3) and its From tag,
    Call-ID and CSeq (§8.2.2.2) match nothing: the same request starts a new transaction
    rather than being absorbed by the old one or refused as merged with it."""
    first = invite_tx(ep)
    ep.reply(first.tx_id, 404, 0.0)
    ep.receive(req("ACK", to_tag=ep.local_tag(first.tx_id)), SRC, 0.1)
    ep.handle_timer(5.1)
    assert drain(ep) == [TransactionTerminated(tx_id=first.tx_id)]
    wire(ep)
    second = invite_tx(ep, again, 6.0)
    assert second.tx_id != first.tx_id
    assert wire(ep) == []


@pytest.mark.parametrize(
    ("data", "status", "header"),
    [
        (req("FOO"), b"501 Not Implemented", b"Allow: "),
        (req("SUBSCRIBE"), b"405 Method Not Allowed", b"Allow: "),
        (req(uri="mailto:alice@example.com"), b"416 Unsupported URI Scheme", None),
        (req(extra=["Max-Forwards: 0"], omit=("Max-Forwards",)), b"483 Too Many Hops", None),
        (req(extra=["Require: 100rel"]), b"420 Bad Extension", b"Unsupported: 100rel"),
        (req(omit=("Call-ID",)), b"400 Bad Request", None),
        (req(to_tag="x>;<"), b"400 Bad Request", None),
        (req(cseq_method="BYE"), b"400 Bad Request", None),
    ],
    ids=["501", "405", "416", "483", "420", "400 no Call-ID", "400 bad To", "400 CSeq method"],
)
def test_requests_validate_refuses_are_answered_by_the_endpoint_rfc3261_8_2(
    ep: SipEndpoint, data: bytes, status: bytes, header: bytes | None
) -> None:
    ep.receive(data, SRC, 0.0)
    ((answer, destination),) = wire(ep)
    assert answer.startswith(b"SIP/2.0 " + status + b"\r\n")
    assert header is None or header in answer
    assert destination == SRC
    assert drain(ep) == []
    assert ep.stats.rejected == 1


def test_rejected_invite_is_retransmitted_until_acked_and_then_confirmed_rfc3261_17_2_1(
    ep: SipEndpoint,
) -> None:
    ep.receive(req(extra=["Require: 100rel"]), SRC, 0.0)
    (first,) = wire(ep)
    ep.handle_timer(0.5)  # Timer G
    assert wire(ep) == [first]
    ep.receive(req("ACK", to_tag=parsed(first[0]).to.tag), SRC, 0.6)
    ep.handle_timer(1.5)
    assert (wire(ep), drain(ep)) == ([], [])  # confirmed, silently (no TU transaction)
    ep.handle_timer(5.6)
    assert ep.get_timer() is None
    assert drain(ep) == []


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (req().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), b"505"),
        (req().replace(b"Max-Forwards: 70\r\n", b"Max-Forwards 70\r\n"), b"400"),
        (req().replace(b"Content-Length: 0", b"Content-Length: 99999999"), b"513"),
    ],
    ids=["505 version", "400 broken header line", "513 body too large"],
)
def test_unparseable_request_with_a_status_hint_is_answered_statelessly_rfc3261_8_2(
    ep: SipEndpoint, data: bytes, status: bytes
) -> None:
    ep.receive(data, SRC, 0.0)
    ((answer, destination),) = wire(ep)
    assert answer.startswith(b"SIP/2.0 " + status + b" ")
    assert destination == SRC
    assert ep.stats.parse_errors == ep.stats.rejected == 1
    assert ep.stats.transactions_created[TxKind.INVITE_SERVER] == 0


def test_unparseable_request_answer_follows_rport_and_tcp_rfc3581_4() -> None:
    endpoint = SipEndpoint(rng=random.Random(1))
    broken = req(via_params=";rport").replace(b"Max-Forwards: 70", b"Max-Forwards 70")
    endpoint.receive(broken, Address("192.0.2.10", 6000), 0.0)
    assert endpoint.messages_to_send()[0][1] == Address("192.0.2.10", 6000)
    tcp = Address("192.0.2.10", 40000, "tcp")
    endpoint.receive(broken, tcp, 0.0)
    assert endpoint.messages_to_send()[0][1] == tcp
    endpoint.receive(broken.replace(b"192.0.2.10:5060", b"192.0.2.10"), SRC, 0.0)
    assert endpoint.messages_to_send()[0][1] == Address("192.0.2.10", 5060)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01garbage",
        b"SIP/2.0 200 OK\r\nVia: broken\r\n\r\n",
        req("ACK").replace(b"Max-Forwards: 70\r\n", b"Max-Forwards 70\r\n"),
        req()
        .replace(b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n", b"")
        .replace(b"Max-Forwards: 70\r\n", b"Max-Forwards 70\r\n"),
    ],
    ids=["garbage", "malformed response", "malformed ACK", "malformed without Via"],
)
def test_unanswerable_bytes_are_dropped_and_counted(ep: SipEndpoint, data: bytes) -> None:
    ep.receive(data, SRC, 0.0)
    assert (wire(ep), drain(ep)) == ([], [])
    assert ep.stats.dropped == 1


def test_request_whose_top_via_does_not_parse_is_dropped_rfc3261_18_2_2(ep: SipEndpoint) -> None:
    ep.receive(req(sent_by="bad host!"), SRC, 0.0)
    assert (wire(ep), drain(ep)) == ([], [])
    assert ep.stats.dropped == 1


# --- response routing (§18.2.1, §18.2.2, RFC 3581) -----------------------------------------


def test_rport_is_filled_and_received_added_and_the_response_follows_them_rfc3581_4(
    ep: SipEndpoint,
) -> None:
    source = Address("203.0.113.5", 62000)
    ep.receive(req(sent_by="192.168.1.20:5060", via_params=";rport"), source, 0.0)
    event = only(ep, RequestReceived)
    via = event.request.top_via
    assert (via.rport, via.received) == (62000, "203.0.113.5")
    ep.reply(event.tx_id, 404, 0.0)
    ((data, destination),) = wire(ep)
    assert destination == source
    assert (
        b"Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK776asdhds;rport=62000"
        b";received=203.0.113.5\r\n" in data
    )


def test_received_is_added_even_when_equal_if_rport_is_requested_rfc3581_4(
    ep: SipEndpoint,
) -> None:
    ep.receive(req(via_params=";rport"), SRC, 0.0)
    event = only(ep, RequestReceived)
    assert event.request.top_via.received == "192.0.2.10"


def test_received_is_added_when_sent_by_differs_and_the_sent_by_port_is_used_rfc3261_18_2_2(
    ep: SipEndpoint,
) -> None:
    ep.receive(req(sent_by="pc33.example.com:5070"), Address("192.0.2.44", 33333), 0.0)
    event = only(ep, RequestReceived)
    assert event.request.top_via.received == "192.0.2.44"
    ep.reply(event.tx_id, 404, 0.0)
    assert wire(ep)[0][1] == Address("192.0.2.44", 5070)


def test_no_received_when_sent_by_is_the_source_and_port_5060_by_default_rfc3261_18_2_1(
    ep: SipEndpoint,
) -> None:
    data = req(sent_by="[2001:db8::1]", extra=["Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKp"])
    ep.receive(data, Address("2001:0db8:0:0::1", 5099), 0.0)
    event = only(ep, RequestReceived)
    assert event.request.top_via.received is None
    ep.reply(event.tx_id, 404, 0.0)
    assert wire(ep)[0][1] == Address("2001:0db8:0:0::1", 5060)


def test_top_via_stamp_leaves_the_other_via_values_alone(ep: SipEndpoint) -> None:
    second = b", SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb"
    data = req(via_params=";rport").replace(b";rport", b";rport" + second)
    ep.receive(data, Address("192.0.2.10", 5999), 0.0)
    event = only(ep, RequestReceived)
    assert [str(via) for via in event.request.vias] == [
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5999;received=192.0.2.10",
        "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb",
    ]


def test_stamped_top_via_is_the_view_the_request_carries_and_parses_back_the_same(
    ep: SipEndpoint,
) -> None:
    # The endpoint hands the stamped Via on as ``top_via`` without parsing its text again, and
    # keeps the views validation built; the text must still parse to the same value.
    ep.receive(req(via_params=";rport"), Address("2001:db8::7", 5999), 0.0)
    request = only(ep, RequestReceived).request
    via = request.top_via
    assert (via.received, via.rport) == ("2001:db8::7", 5999)
    assert Via.parse(request.headers.first_value("via") or "") == via
    assert request.vias == (via,)


@pytest.mark.parametrize(
    "source", [Address("client.example.com", 5060), Address("192.0.2.10", 70000)]
)
def test_stamp_that_makes_the_top_via_invalid_gets_400_rfc3261_18_2_1(
    ep: SipEndpoint, source: Address
) -> None:
    # received is an IP address and rport a port (§18.2.1, RFC 3581 §4): a source address that
    # is neither (only a broken adapter passes one) yields a top Via that fails to parse again.
    ep.receive(req(via_params=";rport"), source, 0.0)
    assert drain(ep) == []
    assert status_lines(ep) == [b"SIP/2.0 400 Bad Request"]


def test_response_goes_to_maddr_when_the_via_has_one_rfc3261_18_2_2(ep: SipEndpoint) -> None:
    ep.receive(req(via_params=";maddr=239.255.255.1;ttl=1"), SRC, 0.0)
    event = only(ep, RequestReceived)
    ep.reply(event.tx_id, 404, 0.0)
    assert wire(ep)[0][1] == Address("239.255.255.1", 5060)


def test_responses_over_tcp_go_back_on_the_connection_without_retransmission_rfc3261_18_2_2(
    ep: SipEndpoint,
) -> None:
    conn = Address("192.0.2.10", 40312, "tcp")
    ep.receive(req(transport="TCP"), conn, 0.0)
    event = only(ep, RequestReceived)
    ep.reply(event.tx_id, 404, 0.0)
    assert wire(ep)[0][1] == conn
    assert ep.get_timer() == pytest.approx(32.0)  # Timer H only: no Timer G over TCP
    ep.receive(req("ACK", transport="TCP"), conn, 0.1)
    # Timer I is zero over TCP: the transaction ends before receive() returns.
    assert drain(ep) == [TransactionTerminated(tx_id=event.tx_id)]
    assert ep.get_timer() is None


def test_reliable_flag_overrides_the_address_transport(ep: SipEndpoint) -> None:
    source = Address("192.0.2.10", 7000)
    ep.receive(req(), source, 0.0, reliable=True)
    event = only(ep, RequestReceived)
    ep.reply(event.tx_id, 404, 0.0)
    assert wire(ep)[0][1] == source
    assert ep.get_timer() == pytest.approx(32.0)


# --- RFC 2543 matching (§17.2.3) ------------------------------------------------------------


def test_rfc2543_retransmission_is_matched_by_its_fields_rfc3261_17_2_3(ep: SipEndpoint) -> None:
    old = req(branch="1234abcd")
    event = invite_tx(ep, old)
    ep.reply(event.tx_id, 404, 0.1)
    (final,) = wire(ep)
    ep.receive(old, SRC, 0.5)
    assert wire(ep) == [final]
    assert drain(ep) == []


def test_rfc2543_ack_matches_by_the_to_tag_of_our_response_rfc3261_17_2_3(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep, req(branch="1234abcd"))
    ep.reply(event.tx_id, 404, 0.1)
    wire(ep)
    ep.receive(req("ACK", branch="1234abcd", to_tag="not-ours"), SRC, 0.2)
    only(ep, AckReceived)  # does not match: handed over as an ACK for a 2xx
    ack = req("ACK", branch="1234abcd", to_tag=ep.local_tag(event.tx_id))
    ep.receive(ack, SRC, 0.3)
    assert drain(ep) == []
    tx = ep.transaction(event.tx_id)
    assert tx is not None
    assert tx.state is TxState.CONFIRMED
    # Confirmed, it keeps the request these rules read (its typed views go), so a
    # retransmitted ACK is still matched and absorbed, not passed up.
    assert tx.request is not None
    assert tx.request.headers.views == {}
    assert tx.last_response is None
    ep.receive(ack, SRC, 0.4)
    assert (drain(ep), wire(ep)) == ([], [])


def test_rfc2543_request_with_another_request_uri_is_not_a_retransmission_rfc3261_17_2_3(
    ep: SipEndpoint,
) -> None:
    event = invite_tx(ep, req(branch="1234abcd"))
    ep.receive(req(branch="1234abcd", uri="sip:other@vacant.example.com"), SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 482 Loop Detected"]
    ep.reply(event.tx_id, 404, 0.2)
    (final,) = wire(ep)
    ep.receive(req(branch="1234abcd"), SRC, 0.3)  # still the first INVITE's transaction
    assert wire(ep) == [final]


def test_rfc2543_request_whose_to_does_not_parse_matches_nothing_and_gets_400(
    ep: SipEndpoint,
) -> None:
    invite_tx(ep, req(branch="1234abcd"))
    broken = req(branch="1234abcd").replace(b"To: <sip:", b"To: <<sip:")
    ep.receive(broken, SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 400 Bad Request"]
    ep.receive(req(branch="1234abcd"), SRC, 0.2)  # the stored transaction's To is fine
    assert wire(ep) == []  # absorbed: still Proceeding, nothing sent yet


def test_rfc2543_cancel_matches_the_invite_it_cancels_rfc3261_9_2(ep: SipEndpoint) -> None:
    event = invite_tx(ep, req(branch="1234abcd", via_params=";rport"))
    ep.receive(req("CANCEL", branch="1234abcd", via_params=";rport"), SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 200 OK"]
    cancel = only(ep, CancelReceived)
    assert cancel.invite_tx_id == event.tx_id


def test_rfc2543_request_with_unparseable_fields_is_rejected_without_matching(
    ep: SipEndpoint,
) -> None:
    ep.receive(req(branch="1234abcd", omit=("From",)), SRC, 0.0)
    assert status_lines(ep) == [b"SIP/2.0 400 Bad Request"]
    ep.receive(req("CANCEL", branch="1234abcd", omit=("From",)), SRC, 0.1)
    assert status_lines(ep) == [b"SIP/2.0 400 Bad Request"]


def test_rfc2543_cancel_matching_nothing_gets_481_rfc3261_9_2(ep: SipEndpoint) -> None:
    ep.receive(req("CANCEL", branch="1234abcd"), SRC, 0.0)
    assert status_lines(ep) == [b"SIP/2.0 481 Call/Transaction Does Not Exist"]


def test_endpoint_is_busy_until_every_answer_is_final_and_acknowledged(ep: SipEndpoint) -> None:
    """What a draining server waits for (§17.2.1, §13.3.1.4)."""
    assert not ep.busy
    bye = invite_tx(ep, req("BYE", branch="z9hG4bKbye", to_tag="ours"))
    assert not ep.busy  # a non-INVITE server transaction loses nothing if dropped
    ep.reply(bye.tx_id, 200, 0.0)
    event = invite_tx(ep)
    assert ep.busy  # PROCEEDING: no final answer yet
    ep.reply(event.tx_id, 404, 0.0)
    assert ep.busy  # COMPLETED: the ACK has not come
    ep.receive(req("ACK"), SRC, 0.1)
    assert not ep.busy  # CONFIRMED
    second = invite_tx(ep, req(branch="z9hG4bKsecond", call_id="second@pc33"))
    ep.reply(second.tx_id, 200, 0.2)
    assert ep.busy  # the 2xx awaits its ACK
    ack = req("ACK", branch="z9hG4bKa", call_id="second@pc33", to_tag=ep.local_tag(second.tx_id))
    ep.receive(ack, SRC, 0.3)
    assert not ep.busy  # ACCEPTED only absorbs


def test_endpoint_with_a_client_transaction_running_is_busy() -> None:
    endpoint = SipEndpoint(rng=random.Random(1), local=[Address("192.0.2.1", 5060)])
    bye = parse_message(req("BYE", omit=("Via",), to_tag="peer"))
    assert isinstance(bye, Request)
    endpoint.send_request(bye, SRC, 0.0)
    assert endpoint.busy


def test_client_transaction_completed_only_absorbs_so_is_not_busy_rfc3261_17_1_2_2() -> None:
    """Timer K (§17.1.2.2) keeps a completed non-INVITE client transaction to absorb
    retransmitted responses: a draining server need not wait for it."""
    endpoint = SipEndpoint(rng=random.Random(1), local=[Address("192.0.2.1", 5060)])
    bye = parse_message(req("BYE", omit=("Via",), to_tag="peer"))
    assert isinstance(bye, Request)
    endpoint.send_request(bye, SRC, 0.0)
    ((data, _),) = endpoint.messages_to_send()
    sent = parse_message(data)
    assert isinstance(sent, Request)
    response = make_response(sent, 200, random.Random(2), to_tag="peer")
    endpoint.receive(response.serialize(), SRC, 0.1)
    assert not endpoint.busy


# --- robustness ----------------------------------------------------------------------------

TORTURE = sorted((Path(__file__).parent / "fixtures" / "rfc4475").glob("*.dat"))


@pytest.mark.parametrize("path", TORTURE, ids=lambda path: path.name)
def test_receive_never_raises_on_rfc4475_torture_messages(path: Path) -> None:
    """Whatever the peer sends, receive() answers, drops or passes up: it never raises."""
    endpoint = SipEndpoint(rng=random.Random(4475), trying_delay=0)
    data = path.read_bytes()
    for transport in ("udp", "tcp"):
        source = Address("192.0.2.10", 5060, transport)
        endpoint.receive(data, source, 0.0)
        endpoint.receive(data, source, 0.1)  # and its retransmission
        for event in drain(endpoint):
            if isinstance(event, RequestReceived):
                endpoint.reply(event.tx_id, 404, 0.2)
        endpoint.handle_timer(100.0)
    assert len(TORTURE) > 40


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([req(), req("ACK"), req("CANCEL"), req("BYE", to_tag="t"), req(branch="1")]),
    st.lists(st.tuples(st.integers(0, 400), st.binary(min_size=0, max_size=8)), max_size=4),
)
def test_receive_never_raises_on_mutated_requests(
    base: bytes, edits: list[tuple[int, bytes]]
) -> None:
    endpoint = SipEndpoint(rng=random.Random(1))
    endpoint.receive(req(branch="1"), SRC, 0.0)  # an RFC 2543 transaction to match against
    endpoint.receive(req(), SRC, 0.0)
    data = bytearray(base)
    for at, chunk in edits:
        data[at : at + len(chunk)] = chunk
    endpoint.receive(bytes(data), SRC, 0.1)
    endpoint.handle_timer(64.0)
