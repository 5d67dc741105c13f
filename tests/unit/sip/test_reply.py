"""make_response and reply_to_unparseable: building answers as §8.2.6 says."""

import random
from types import SimpleNamespace

import pytest

from vacant.sip import (
    Limits,
    Request,
    Response,
    make_response,
    new_tag,
    parse_message,
    reply_to_unparseable,
)


def _request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def test_response_copies_via_from_to_call_id_cseq_and_adds_a_to_tag(
    wire: SimpleNamespace, rng: random.Random
) -> None:
    # §8.2.6.2: Via values equal and in order; From, Call-ID, CSeq equal; To gets a tag.
    data = wire.request(extra=[("v", "SIP/2.0/UDP second.example.com;branch=z9hG4bK2, third")])
    request = _request(data)
    response = make_response(request, 404, rng, headers=[("Server", "vacant")])
    expected_tag = new_tag(random.Random(4475))
    assert response.serialize() == (
        b"SIP/2.0 404 Not Found\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
        b"Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2, third\r\n"
        b'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774\r\n'
        b"To: <sip:+15551234567@vacant.example.com>;tag=" + expected_tag.encode() + b"\r\n"
        b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        b"CSeq: 314159 INVITE\r\n"
        b"Server: vacant\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert response.to.tag == expected_tag
    assert len(expected_tag) == 16  # §19.3: at least 32 random bits; we use 64


def test_given_to_tag_is_used_so_a_dialog_keeps_one_tag(
    wire: SimpleNamespace, rng: random.Random
) -> None:
    request = _request(wire.request())
    ringing = make_response(request, 180, rng, to_tag="dlg1")
    ok = make_response(request, 200, rng, to_tag="dlg1", body=b"v=0\r\n")
    assert ringing.to.tag == ok.to.tag == "dlg1"
    assert ok.headers.get("content-length") == "5"
    assert ok.body == b"v=0\r\n"


def test_existing_to_tag_is_kept(wire: SimpleNamespace, rng: random.Random) -> None:
    request = _request(wire.request(replace={"To": "<sip:b@b.example>;tag=theirs"}))
    assert make_response(request, 200, rng, to_tag="ours").to.tag == "theirs"


def test_100_trying_gets_no_tag_and_copies_timestamp(
    wire: SimpleNamespace, rng: random.Random
) -> None:
    # §8.2.6.1 (Timestamp) and §8.2.6.2 (no tag required in 100).
    request = _request(wire.request(extra=[("Timestamp", "54.3 0.1")]))
    trying = make_response(request, 100, rng)
    assert trying.to.tag is None
    assert trying.headers.get("timestamp") == "54.3 0.1"
    assert make_response(request, 180, rng).headers.get("timestamp") is None


def test_response_to_a_refused_request_copies_what_is_there(
    wire: SimpleNamespace, rng: random.Random
) -> None:
    # RFC 4475 §3.3.1: no Call-ID, From or To; the 400 still matches by branch and CSeq.
    request = _request(wire.request(replace={"Call-ID": None, "From": None, "To": None}))
    response = make_response(request, 400, rng, reason="Missing Call-ID")
    assert [name for name, _ in response.headers] == ["Via", "CSeq", "Content-Length"]
    assert response.reason == "Missing Call-ID"
    broken_to = _request(wire.request(replace={"To": '"open <sip:a@b>'}))
    assert make_response(broken_to, 400, rng).headers.get("to") == '"open <sip:a@b>'


def test_reply_to_unparseable_request_answers_from_its_octets(
    wire: SimpleNamespace, rng: random.Random
) -> None:
    data = wire.request(uri="<sip:a@b.example>", extra=[("Subject", "a\r\n  folded")])
    reply = reply_to_unparseable(data, 400, rng)
    assert isinstance(reply, Response)
    assert reply.status == 400
    assert reply.top_via.branch == "z9hG4bK776asdhds"
    assert reply.call_id == "a84b4c76e66710@pc33.example.com"
    assert reply.to.tag is not None
    assert parse_message(reply.serialize()) == reply


def test_reply_to_unparseable_skips_lines_that_are_not_fields(rng: random.Random) -> None:
    data = (
        b"\r\nINVITE <bad> SIP/2.0\r\n"
        b" continuation before any field\r\n"
        b"Via: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n"
        b"  , SIP/2.0/UDP folded.example;branch=z9hG4bK2\r\n"
        b"Not a field\r\nBad Name: x\r\nX: bare\rCR\r\n"
        b'To: "unterminated <sip:a@b.example>\r\n'
        b"CSeq: 1 INVITE\r\n"
    )  # and no empty line at all
    reply = reply_to_unparseable(data, 400, rng)
    assert reply is not None
    assert reply.headers.items() == [
        (
            "Via",
            "SIP/2.0/UDP h.example;branch=z9hG4bK1 , SIP/2.0/UDP folded.example;branch=z9hG4bK2",
        ),
        ("To", '"unterminated <sip:a@b.example>'),
        ("CSeq", "1 INVITE"),
        ("Content-Length", "0"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n",
        b"ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 ACK\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nVia: bad via\r\nCSeq: 1 INVITE\r\n\r\n",
        b'INVITE sip:a@b SIP/2.0\r\nVia: "open\r\nCSeq: 1 INVITE\r\n\r\n',
        b"",
    ],
)
def test_reply_to_unparseable_drops_responses_acks_and_what_cannot_be_routed(
    data: bytes, rng: random.Random
) -> None:
    # §17.1.1.3: ACK is never answered; a response needs a routable top Via and a CSeq.
    assert reply_to_unparseable(data, 400, rng) is None


def test_reply_to_unparseable_reads_only_up_to_the_limits(rng: random.Random) -> None:
    fields = b"".join(b"X-%d: y\r\n" % i for i in range(20))
    data = (
        b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        + fields
        + b"CSeq: 1 INVITE\r\n\r\n"
    )
    assert reply_to_unparseable(data, 513, rng, limits=Limits(max_headers=10)) is None
    reply = reply_to_unparseable(data, 513, rng, limits=Limits(max_headers=30))
    assert reply is not None
    assert reply.status == 513
