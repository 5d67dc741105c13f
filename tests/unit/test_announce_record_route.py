"""RFC 3261 §12.1.1: the response that makes the dialog copies the request's Record-Route.

"The UAS MUST copy all Record-Route header field values from the request into the response
(including the URIs, URI parameters, and any Record-Route header field parameters, whether they
are known or unknown to the UAS) and MUST maintain the order of those values." Without it a proxy
that record-routes (Kamailio in front of a pool) drops the caller's ACK and BYE.
"""

from __future__ import annotations

from tests.unit.test_announce import Harness, _ann, _final, _statuses

ROUTES = (
    "Record-Route: <sip:10.0.0.1;lr;ftag=abc>\r\n"
    "Record-Route: <sip:proxy2.example.com;lr>, <sip:10.0.0.3:5070;lr;transport=udp>\r\n"
)
EXPECTED = [
    "<sip:10.0.0.1;lr;ftag=abc>",
    "<sip:proxy2.example.com;lr>",
    "<sip:10.0.0.3:5070;lr;transport=udp>",
]


def _record_routes(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",")]


def test_the_200_copies_every_record_route_value_in_order_rfc3261_s12_1_1() -> None:
    h = Harness(_ann())
    ok = _final(h.invite(extra=ROUTES))
    assert ok.status == 200
    assert _record_routes(ok.headers.get_all("record-route")) == EXPECTED


def test_the_183_of_early_media_copies_them_too_rfc3261_s12_1_1() -> None:
    h = Harness(_ann(early_media=True))
    sent = h.invite(extra=ROUTES)
    assert 183 in _statuses(sent)
    [progress] = [m for m in sent if getattr(m, "status", None) == 183]
    assert _record_routes(progress.headers.get_all("record-route")) == EXPECTED


def test_a_request_without_record_route_gets_none() -> None:
    h = Harness(_ann())
    ok = _final(h.invite())
    assert ok.headers.get_all("record-route") == []
