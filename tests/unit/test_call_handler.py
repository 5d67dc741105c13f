"""The call handler over a real sans-I/O endpoint: decisions to SIP answers (RFC 3261 §13.3.1,
§21; RFC 3326 Reason), trust, overload, drain, OPTIONS (§11.2), CANCEL (§9.2), CDRs."""

from __future__ import annotations

import ipaddress
import logging
import random
import uuid
from datetime import UTC, datetime

import pytest

from vacant.routing.model import Announcement, AssignedNumber, NumberRange, RoutingConfig
from vacant.routing.policy import Snapshot
from vacant.service.call import CallHandler, CallSettings, RateLimiter, _Pending
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import Address, CancelReceived, RequestReceived
from vacant.sip.message import Response, parse_message
from vacant.store.calls import CallRecord

TRUSTED = Address("127.0.0.1", 5062)
POOL = "pool1.example.com"
ANN = Announcement.create(POOL, "Changed", tts_text="Changed.", language="en-US")
SILENT = Announcement.create(POOL, "Silent")


def _snapshot() -> Snapshot:
    ranges = [
        NumberRange.create("ann", start="+14255551000", end="+14255551999",
                           announcement_id=ANN.id, position=1),
        NumberRange.create("aa", start="+14255552000", end="+14255552999",
                           auto_attendant="+14255550100", position=2),
        NumberRange.create("busy", start="+14255553000", end="+14255553999",
                           announcement_id=SILENT.id, position=3),
        NumberRange.create("gone", start="+14255554000", end="+14255554999",
                           announcement_id=uuid.uuid4(), position=4),
    ]  # fmt: skip
    assigned = [AssignedNumber.create("+14255551001", "sip:alice@example.com")]
    return Snapshot.build(
        RoutingConfig(ranges=ranges, announcements=[ANN, SILENT], assigned=assigned)
    )


class Harness:
    def __init__(self, settings: CallSettings | None = None) -> None:
        self.now = 100.0
        self.endpoint = SipEndpoint(rng=random.Random(1), trying_delay=None)
        self.records: list[CallRecord] = []
        snapshot = _snapshot()
        self.handler = CallHandler(
            self.endpoint, lambda: snapshot, self.records.append, lambda: self.now, settings
        )
        self.n = 0

    def send(self, method: str, user: str, source: Address = TRUSTED) -> Response:
        self.n += 1
        message = (
            f"{method} sip:{user}@vacant.example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source.host}:{source.port};branch=z9hG4bK-{self.n}\r\n"
            f"From: <sip:caller@example.com>;tag=f{self.n}\r\n"
            f"To: <sip:{user}@vacant.example.com>\r\nCall-ID: call-{self.n}\r\n"
            f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        self.endpoint.receive(message, source, self.now)
        while (event := self.endpoint.next_event()) is not None:
            self.handler(event)
        sent = self.endpoint.messages_to_send()
        assert sent, "no answer"
        answer = parse_message(sent[-1][0])
        assert isinstance(answer, Response)
        return answer


@pytest.mark.parametrize(
    ("user", "status", "header", "value"),
    [
        ("+14255551001", 302, "Contact", "<sip:alice@example.com>"),
        ("+14255552500", 302, "Contact", "<sip:+14255550100@example.com;user=phone>"),
        ("+14255553500", 486, None, None),
        ("+14255554500", 486, None, None),
        ("+4930123", 404, "Reason", 'Q.850;cause=1;text="Unallocated (unassigned) number"'),
        ("alice", 484, None, None),
        ("+14255551500", 486, None, None),
    ],
    ids=["assigned-302", "auto-attendant-302", "busy-486", "dangling-486", "not-found-404",
         "no-number-484", "announcement-without-rendered-prompt-486"],
)  # fmt: skip
def test_invite_decision_maps_to_the_sip_answer(
    user: str, status: int, header: str | None, value: str | None
) -> None:
    harness = Harness(CallSettings(domain="example.com"))
    answer = harness.send("INVITE", user)
    assert answer.status == status
    if header is not None:
        assert answer.headers.get(header) == value
    (record,) = harness.records
    assert record.status == status
    assert record.call_id == "call-1"
    assert record.caller == "sip:caller@example.com"
    assert harness.handler.in_progress == 0


@pytest.mark.parametrize("user", ["+14255551001", "%2B14255551001", "+1-425-555-1001"])
def test_the_dialled_number_is_read_from_the_request_uri_however_written(user: str) -> None:
    """A bare number in the user part is decided from it as parsed (escapes undone); one with
    visual separators (RFC 3966 §5.1.1) through parse_dialled: the same number either way."""
    harness = Harness()
    assert harness.send("INVITE", user).headers.get("Contact") == "<sip:alice@example.com>"
    (record,) = harness.records
    assert (record.normalised, record.decision) == ("+14255551001", "assigned")
    assert record.dialled == f"sip:{user.replace('%2B', '+')}@vacant.example.com"


def test_auto_attendant_without_domain_redirects_to_the_tel_uri() -> None:
    answer = Harness().send("INVITE", "+14255552500")
    assert answer.headers.get("Contact") == "<tel:+14255550100>"


def test_call_record_names_range_and_normalised_number() -> None:
    harness = Harness()
    harness.send("INVITE", "+14255553500")
    (record,) = harness.records
    assert (record.decision, record.range_name, record.normalised) == (
        "busy",
        "busy",
        "+14255553500",
    )


def test_every_answered_call_is_logged_at_info_once_the_level_allows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The handler asks the logger's level at most once a second of its clock (vacant.sip.logs).
    harness = Harness()
    harness.send("INVITE", "+14255553500")
    caplog.set_level(logging.INFO, logger="vacant.service.call")
    harness.send("INVITE", "+14255553501")  # within the second: the kept answer
    harness.now += 1.0
    harness.send("INVITE", "+14255553502")
    assert [record.getMessage() for record in caplog.records] == [
        "call-3 sip:+14255553502@vacant.example.com -> 486 busy"
    ]


def test_untrusted_source_gets_403_and_is_counted() -> None:
    harness = Harness(CallSettings(trusted=(ipaddress.ip_network("10.0.0.0/8"),)))
    assert harness.send("INVITE", "+4930123", Address("192.0.2.1", 5060)).status == 403
    assert harness.send("INVITE", "+4930123", Address("10.1.2.3", 5060)).status == 404
    assert harness.handler.untrusted == 1


def test_over_the_call_rate_gets_503_with_retry_after_and_recovers() -> None:
    harness = Harness(CallSettings(max_rate=2, retry_after=7))
    statuses = [harness.send("INVITE", "+4930123").status for _ in range(3)]
    assert statuses == [404, 404, 503]
    harness.now += 1.0
    assert harness.send("INVITE", "+4930123").status == 404
    assert harness.handler.overloaded == 1


def test_draining_server_answers_new_invites_503() -> None:
    harness = Harness()
    harness.handler.draining = True
    answer = harness.send("INVITE", "+4930123")
    assert answer.status == 503
    assert answer.headers.get("Retry-After") == "5"


def test_options_gets_200_with_allow_accept_supported() -> None:
    """RFC 3261 §11.2."""
    answer = Harness().send("OPTIONS", "ping")
    assert answer.status == 200
    assert "INVITE" in (answer.headers.get("Allow") or "")
    assert answer.headers.get("Accept") == "application/sdp"
    assert answer.headers.get("Supported") is not None


def test_bye_outside_a_known_dialog_gets_481() -> None:
    """RFC 3261 §12.2.2: a request for a dialog we do not have."""
    assert Harness().send("BYE", "+4930123").status == 481


def test_cancel_of_a_pending_invite_answers_it_487() -> None:
    """RFC 3261 §9.2: the INVITE is answered 487 once the CANCEL arrives."""
    harness = Harness()
    endpoint, handler = harness.endpoint, harness.handler
    message = (
        "INVITE sip:+4930123@vacant.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-c\r\n"
        "From: <sip:caller@example.com>;tag=fc\r\nTo: <sip:+4930123@vacant.example.com>\r\n"
        "Call-ID: call-c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    endpoint.receive(message.encode(), TRUSTED, harness.now)
    event = endpoint.next_event()
    assert isinstance(event, RequestReceived)
    # Hold the INVITE unanswered, as an announcement being prepared would be: pending, and
    # not handed to the handler (which would answer it at once).
    handler.pending[event.tx_id] = _Pending(event.request, harness.now, datetime.now(UTC))
    cancel = message.replace("INVITE sip", "CANCEL sip", 1).replace("1 INVITE", "1 CANCEL")
    endpoint.receive(cancel.encode(), TRUSTED, harness.now)
    cancelled = endpoint.next_event()
    assert isinstance(cancelled, CancelReceived)
    handler(cancelled)
    statuses = [parse_message(data).status for data, _ in endpoint.messages_to_send()]  # type: ignore[union-attr]
    assert statuses == [200, 487]
    assert harness.records[0].decision == "cancelled"


def test_rate_limiter_refills_at_its_rate() -> None:
    limiter = RateLimiter(10)
    assert all(limiter.allow(0.0) for _ in range(10))
    assert not limiter.allow(0.0)
    assert limiter.allow(0.1)
    assert not limiter.allow(0.1)
