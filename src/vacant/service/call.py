"""The call handler: the SIP transaction user that turns routing decisions into answers.

For every INVITE (RFC 3261 §13.3.1), after the endpoint has validated it (§8.2):

==================  =========================================================================
decision            answer
==================  =========================================================================
assigned            302 Moved Temporarily, Contact: the assigned SIP URI (§21.3.3)
auto attendant      302, Contact: ``sip:+N@DOMAIN;user=phone`` (or ``tel:+N`` with no domain)
busy                486 Busy Here (no prompt and no target, or a removed announcement)
not found           404 Not Found, ``Reason: Q.850;cause=1`` (RFC 3326: unallocated number)
no number           484 Address Incomplete (the Request-URI holds no telephone number)
announcement        480 Temporarily Unavailable, until the media path lands
==================  =========================================================================

Before deciding: a source outside the trusted networks gets 403 Forbidden; above the bound on
calls in progress or on new calls per second, 503 Service Unavailable with Retry-After (§21.5.4)
— nothing queues. While the server drains for a stop, new INVITEs get 503 too.

OPTIONS gets 200 with Allow, Accept and Supported (§11.2). Other requests outside a dialog we
know get 481 (§12.2.2). Every INVITE leaves a call record, handed to ``record`` (batched off the
call path by :mod:`vacant.service.cdr`).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import assert_never

from vacant.errors import InvalidNumber, ParseError
from vacant.routing.policy import (
    AnnouncementDecision,
    Assigned,
    AutoAttendant,
    Busy,
    Decision,
    NotFound,
    Snapshot,
)
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
    TxId,
)
from vacant.sip.message import Request
from vacant.store.calls import CallRecord

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
#: RFC 3326 Reason for a number that is not allocated (ITU-T Q.850 cause 1).
UNALLOCATED = ("Reason", 'Q.850;cause=1;text="Unallocated (unassigned) number"')
_NOT_FOUND = (UNALLOCATED,)


@dataclass(frozen=True, slots=True)
class CallSettings:
    """Policy knobs of the call handler (``vacant serve`` options)."""

    pool: str = "default"
    #: Domain of the SIP URI an auto-attendant redirect points at; ``None``: a tel: URI.
    domain: str | None = None
    trusted: tuple[Network, ...] = LOOPBACK
    max_calls: int = 10_000
    max_rate: float = 50_000.0
    retry_after: int = 5


class RateLimiter:
    """A token bucket: ``rate`` new calls per second, bursts up to one second's worth."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(rate, 1.0)
        self._tokens = self.burst
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class _Pending:
    """An INVITE the handler has not given a final answer yet."""

    request: Request
    started: float
    wall: datetime
    decision: Decision | None = None


class CallHandler:
    """The TU: called with each endpoint event (see the module docstring for the answers)."""

    def __init__(
        self,
        endpoint: SipEndpoint,
        snapshot: Callable[[], Snapshot],
        record: Callable[[CallRecord], None],
        clock: Callable[[], float],
        settings: CallSettings | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.snapshot = snapshot
        self.record = record
        self.clock = clock
        self.settings = settings or CallSettings()
        self.limiter = RateLimiter(self.settings.max_rate)
        self.draining = False
        self.pending: dict[TxId, _Pending] = {}
        #: (decision, status) → calls, for the metrics.
        self.calls: Counter[tuple[str, int]] = Counter()
        self.untrusted = 0
        self.overloaded = 0
        self._trusted = functools.lru_cache(maxsize=4096)(self._is_trusted)
        self._retry_after = (("Retry-After", str(self.settings.retry_after)),)
        self._support = (
            ""
            if not endpoint.capabilities.extensions
            else ", ".join(sorted(endpoint.capabilities.extensions))
        )

    @property
    def in_progress(self) -> int:
        return len(self.pending)

    def __call__(self, event: Event) -> None:
        match event:
            case RequestReceived(tx_id=tx_id, request=request, source=source):
                if request.method == "INVITE":
                    self.invite(tx_id, request, source.host)
                elif request.method == "OPTIONS":
                    self.options(tx_id)
                else:
                    # §12.2.2: a request inside a dialog we do not have.
                    self.endpoint.reply(tx_id, 481, self.clock())
            case CancelReceived(invite_tx_id=tx_id):
                # §9.2: the endpoint answered the CANCEL; the INVITE gets 487.
                if tx_id in self.pending:
                    self.answer(tx_id, 487)
            case AckReceived() | ResponseReceived() | TransactionTerminated():
                pass
            case TransactionTimedOut() | TransportFailed():
                self.pending.pop(event.tx_id, None)
            case _:
                assert_never(event)

    # --- requests ---------------------------------------------------------------------------

    def options(self, tx_id: TxId) -> None:
        """§11.2: what we would answer to an INVITE, and what we support."""
        caps = self.endpoint.capabilities
        headers = [("Allow", caps.allow), ("Accept", caps.accept), ("Supported", self._support)]
        self.endpoint.reply(tx_id, 200, self.clock(), headers=headers)

    def invite(self, tx_id: TxId, request: Request, source_host: str) -> None:
        # Every answer here is immediate, so the INVITE never enters ``pending`` (which holds
        # the ones answered later, by ``answer``): one decision, one reply, one call record.
        now = self.clock()
        settings = self.settings
        if not self._trusted(source_host):
            self.untrusted += 1
            self._final(tx_id, request, now, now, 403, "not-trusted", None)
            return
        if (
            self.draining
            or len(self.pending) >= settings.max_calls  # counting this one: more than max_calls
            or not self.limiter.allow(now)
        ):
            self.overloaded += 1
            self._final(tx_id, request, now, now, 503, "overload", None, self._retry_after)
            return
        dialled = str(request.uri)
        try:
            decision = self.snapshot().decide(dialled)
        except InvalidNumber:
            self._final(tx_id, request, now, now, 484, "invalid-number", None, dialled=dialled)
            return
        status: int
        headers: tuple[tuple[str, str], ...] = ()
        match decision:
            case Assigned(uri=uri):
                status, headers = 302, (("Contact", f"<{uri}>"),)
            case AutoAttendant(attendant=number):
                target = (
                    number.uri
                    if settings.domain is None
                    else f"sip:{number}@{settings.domain};user=phone"
                )
                status, headers = 302, (("Contact", f"<{target}>"),)
            case Busy():
                status = 486
            case NotFound():
                status, headers = 404, _NOT_FOUND
            case AnnouncementDecision():
                # The media path (answer, prompt, transfer) replaces this interim answer.
                status = 480
            case _:
                assert_never(decision)
        self._final(tx_id, request, now, now, status, decision.kind, decision, headers, dialled)

    def answer(
        self,
        tx_id: TxId,
        status: int,
        outcome: str = "",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send the final answer to a pending INVITE and write its call record."""
        pending = self.pending.pop(tx_id)
        decision = pending.decision
        self._final(
            tx_id,
            pending.request,
            pending.started,
            self.clock(),
            status,
            outcome or (decision.kind if decision else "cancelled"),
            decision,
            tuple(headers),
            wall=pending.wall,
        )

    def _final(
        self,
        tx_id: TxId,
        request: Request,
        started: float,
        now: float,
        status: int,
        outcome: str,
        decision: Decision | None,
        headers: tuple[tuple[str, str], ...] = (),
        dialled: str | None = None,
        wall: datetime | None = None,
    ) -> None:
        """The final response of an INVITE, its counter and its call record."""
        self.endpoint.reply(tx_id, status, now, headers=headers)
        self.calls[(outcome, status)] += 1
        try:
            call_id = request.call_id
        except ParseError:
            call_id = ""
        self.record(
            CallRecord(
                started=datetime.now(UTC) if wall is None else wall,
                call_id=call_id,
                caller=_caller(request),
                dialled=str(request.uri) if dialled is None else dialled,
                normalised=None if decision is None else str(decision.normalised),
                decision=outcome,
                range_name=None if decision is None else decision.range,
                status=status,
                duration=now - started,
                pool=self.settings.pool,
            )
        )
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s -> %d %s", call_id, request.uri, status, outcome)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.settings.trusted)


def _caller(request: Request) -> str:
    try:
        return str(request.from_.uri)
    except ParseError:
        return ""
