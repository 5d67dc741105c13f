"""UAS dialogs (RFC 3261 §12): creation from the INVITE, in-dialog requests, target refresh."""

import random

import pytest

from vacant.errors import LocalProtocolError, ParseError
from vacant.sip.dialog import Dialog, DialogId, Dialogs
from vacant.sip.events import Address
from vacant.sip.message import Request, parse_message
from vacant.sip.uri import SipUri

OUR_CONTACT = SipUri(user="vacant", host="192.0.2.1", port=5060)


def incoming(
    method: str = "INVITE",
    *,
    cseq: int = 314159,
    to_tag: str | None = None,
    contact: str | None = "<sip:alice@192.0.2.10:5060;transport=udp>",
    record_route: tuple[str, ...] = (),
    uri: str = "sip:+15551234567@vacant.example.com",
    from_tag: str | None = "1928301774",
) -> Request:
    lines = [
        f"{method} {uri} SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",
        *(f"Record-Route: {route}" for route in record_route),
        "Max-Forwards: 70",
        "To: <sip:+15551234567@vacant.example.com>" + (f";tag={to_tag}" if to_tag else ""),
        'From: "Alice" <sip:alice@pbx.example.com>' + (f";tag={from_tag}" if from_tag else ""),
        "Call-ID: a84b4c76e66710@pc33.example.com",
        f"CSeq: {cseq} {method}",
    ]
    if contact is not None:
        lines.append(f"Contact: {contact}")
    message = parse_message("\r\n".join([*lines, "Content-Length: 0", "", ""]).encode())
    assert isinstance(message, Request)
    return message


def uas(
    request: Request | None = None,
    *,
    source: Address | None = None,
    rng: random.Random | None = None,
) -> Dialog:
    return Dialog.for_uas(
        incoming() if request is None else request,
        local_tag="ours",
        local_contact=OUR_CONTACT,
        source=source,
        rng=rng,
    )


def test_uas_dialog_takes_its_state_from_the_invite_rfc3261_12_1_1() -> None:
    routes = ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr;ftag=x>")
    dialog = uas(incoming(record_route=routes))
    assert dialog.id == DialogId("a84b4c76e66710@pc33.example.com", "ours", "1928301774")
    assert str(dialog.remote_target) == "sip:alice@192.0.2.10:5060;transport=udp"
    assert [str(uri) for uri in dialog.route_set] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr;ftag=x",
    ]
    assert dialog.remote_seq == 314159
    assert dialog.local_seq == 0  # the first request we send is CSeq 1
    assert dialog.secure is False
    assert str(dialog.local_uri) == "<sip:+15551234567@vacant.example.com>"
    assert str(dialog.remote_uri) == '"Alice" <sip:alice@pbx.example.com>'
    assert repr(dialog) == "<Dialog a84b4c76e66710@pc33.example.com local=ours remote=1928301774>"


def test_uas_dialog_is_secure_over_tls_with_a_sips_request_uri_rfc3261_12_1_1() -> None:
    tls = Address("192.0.2.10", 5061, "tls")
    sips = incoming(uri="sips:+15551234567@vacant.example.com")
    assert uas(sips, source=tls).secure is True
    assert uas(incoming(), source=tls).secure is False
    assert uas(sips, source=Address("192.0.2.10", 5060, "tcp")).secure is False


def test_uas_dialog_first_cseq_comes_from_the_rng_below_2_31_rfc3261_8_1_1_5() -> None:
    dialog = uas(rng=random.Random(7))
    first = dialog.create_request("BYE").cseq.number
    assert 1 <= first < 2**31
    assert first == random.Random(7).randrange(1, 2**31)


def test_uas_dialog_without_contact_is_refused_with_400_rfc3261_8_1_1_8() -> None:
    with pytest.raises(ParseError, match="Contact") as info:
        uas(incoming(contact=None))
    assert info.value.status_hint == 400


def test_peer_without_from_tag_gets_an_empty_remote_tag_rfc3261_12_1_1() -> None:
    dialog = uas(incoming(from_tag=None))
    assert dialog.id.remote_tag == ""
    bye = dialog.create_request("BYE")
    assert bye.to.tag is None


def test_in_dialog_request_carries_tags_call_id_next_cseq_and_route_set_rfc3261_12_2_1_1() -> None:
    dialog = uas(incoming(record_route=("<sip:p1.example.com;lr>",)))
    bye = dialog.create_request("BYE")
    assert str(bye.uri) == "sip:alice@192.0.2.10:5060;transport=udp"
    assert bye.headers.get_all("route") == ["<sip:p1.example.com;lr>"]
    assert bye.to.tag == "1928301774"
    assert bye.from_.tag == "ours"
    assert bye.call_id == "a84b4c76e66710@pc33.example.com"
    assert (bye.cseq.number, bye.cseq.method) == (1, "BYE")
    assert bye.max_forwards == 70
    assert not bye.has("contact")  # BYE is not a target refresh request
    assert not bye.has("via")  # send_request adds it
    refer = dialog.create_request("REFER", headers=(("Refer-To", "<sip:+15550001@pbx>"),))
    assert refer.cseq.number == 2  # strictly increasing by one
    assert refer.contacts[0].uri == OUR_CONTACT
    assert refer.headers.get("refer-to") == "<sip:+15550001@pbx>"
    assert dialog.next_hop == bye.routes[0].uri


def test_in_dialog_request_to_a_strict_router_rewrites_request_uri_and_route_rfc3261_12_2_1_1() -> (
    None
):
    routes = ("<sip:strict.example.com;method=INVITE;maddr=10.0.0.1>", "<sip:p2.example.com;lr>")
    dialog = uas(incoming(record_route=routes))
    bye = dialog.create_request("BYE")
    assert str(bye.uri) == "sip:strict.example.com;maddr=10.0.0.1"
    assert bye.headers.get_all("route") == [
        "<sip:p2.example.com;lr>",
        "<sip:alice@192.0.2.10:5060;transport=udp>",
    ]


def test_strict_route_that_is_not_a_sip_uri_is_used_as_it_is() -> None:
    dialog = uas(incoming(record_route=("<tel:+15550001>",)))
    assert str(dialog.create_request("BYE").uri) == "tel:+15550001"


def test_ack_and_cancel_are_not_built_as_new_in_dialog_requests_rfc3261_12_2_1_1() -> None:
    dialog = uas()
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError, match="CSeq"):
            dialog.create_request(method)
    assert dialog.local_seq == 0


def test_in_dialog_request_with_a_lower_cseq_is_rejected_with_500_rfc3261_12_2_2() -> None:
    dialog = uas()
    assert dialog.receive_request(incoming("BYE", cseq=314158, to_tag="ours")) == 500
    assert dialog.receive_request(incoming("ACK", cseq=314159, to_tag="ours")) is None
    assert dialog.receive_request(incoming("BYE", cseq=314160, to_tag="ours")) is None
    assert dialog.remote_seq == 314160


def test_target_refresh_replaces_the_remote_target_rfc3261_12_2_2() -> None:
    dialog = uas()
    reinvite = incoming(cseq=314160, to_tag="ours", contact="<sip:alice@198.51.100.7:5070>")
    assert dialog.receive_request(reinvite) is None
    assert str(dialog.remote_target) == "sip:alice@198.51.100.7:5070"
    info = incoming("INFO", cseq=314161, to_tag="ours", contact="<sip:elsewhere@203.0.113.1>")
    dialog.receive_request(info)  # not a target refresh request
    assert str(dialog.remote_target) == "sip:alice@198.51.100.7:5070"
    dialog.receive_request(incoming(cseq=314162, to_tag="ours", contact=None))
    assert str(dialog.remote_target) == "sip:alice@198.51.100.7:5070"


def test_dialog_id_of_a_request_is_seen_from_our_side_rfc3261_12() -> None:
    assert DialogId.for_request(incoming()) is None
    assert DialogId.for_request(incoming("BYE", to_tag="ours")) == DialogId(
        "a84b4c76e66710@pc33.example.com", "ours", "1928301774"
    )
    assert DialogId.for_request(incoming("BYE", to_tag="ours", from_tag=None)) == DialogId(
        "a84b4c76e66710@pc33.example.com", "ours", ""
    )


def test_dialogs_match_in_dialog_requests_and_miss_others_rfc3261_12_2_2() -> None:
    dialogs = Dialogs()
    dialog = uas()
    dialogs.add(dialog)
    assert len(dialogs) == 1
    assert dialog.id in dialogs
    assert dialogs.get(dialog.id) is dialog
    assert dialogs.match(incoming("BYE", to_tag="ours")) is dialog
    assert dialogs.match(incoming("BYE", to_tag="other")) is None  # the TU answers 481
    assert dialogs.match(incoming()) is None
    with pytest.raises(LocalProtocolError, match="exists"):
        dialogs.add(uas())
    assert dialogs.remove(dialog.id) is dialog
    assert dialogs.remove(dialog.id) is None
    assert len(dialogs) == 0
