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
announcement        answered and played by :mod:`vacant.service.announce` (below)
==================  =========================================================================

An announcement decision:

====================================  ===================================================
announcement                          answer
====================================  ===================================================
a prompt (audio file or TTS)          100, 200 OK with SDP (RFC 3264), prompt played
                                      ``repeat`` times, then REFER to the target
                                      (RFC 3515) or BYE
a prompt, ``early_media``             100, 183 Session Progress with SDP, prompt, then
                                      302 to the target or ``early_status`` (never
                                      answered: the caller is not charged)
no prompt, a target                   200 OK then REFER at once; or, with
                                      ``redirect_without_answer``, 302 to the target
no prompt (not rendered), no target   486 Busy Here
no media engine (embedded use)        480 Temporarily Unavailable
====================================  ===================================================

Offers we cannot use get 488 with a Warning; no free RTP port, 503 with Retry-After; a
Session-Expires below our Min-SE (90 s), 422 (RFC 4028 §6). Requests inside an announcement's
dialog (BYE, re-INVITE, UPDATE, NOTIFY, OPTIONS, INFO) go to its call; the transfer target
comes only from configuration.

Before deciding: a source outside the trusted networks gets 403 Forbidden; above the bound on
calls in progress or on new calls per second, 503 Service Unavailable with Retry-After (§21.5.4)
— nothing queues. While the server drains for a stop, new INVITEs get 503 too.

OPTIONS gets 200 with Allow, Accept and Supported (§11.2). Other requests outside a dialog we
know get 481 (§12.2.2). Every INVITE leaves a call record, handed to ``record`` (batched off the
call path by :mod:`vacant.service.cdr`); an announcement call's is written when it ends, with
the prompt seconds played, the transfer target and the outcome.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, assert_never

from vacant.errors import InvalidNumber, ParseError
from vacant.routing.numbers import is_canonical
from vacant.routing.policy import (
    AnnouncementDecision,
    Assigned,
    AutoAttendant,
    Busy,
    Decision,
    NotFound,
    Snapshot,
)
from vacant.service.announce import AnnouncementCall, Engine, Handle
from vacant.service.prompt_cache import PromptCache
from vacant.sip.dialog import DialogId
from vacant.sip.endpoint import SipEndpoint
from vacant.sip.events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    TransportFailed,
    TxId,
)
from vacant.sip.logs import LevelWatch
from vacant.sip.message import Request
from vacant.sip.uri import SipUri, Uri, format_host, parse_uri
from vacant.sip.validate import Capabilities
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

#: What an announcement server accepts (§8.2): the requests of its dialogs (BYE, re-INVITE,
#: UPDATE (RFC 3311), INFO (RFC 6086), the NOTIFYs of a REFER (RFC 3515 §2.4.4) with their
#: ``message/sipfrag`` bodies (RFC 3420)) and session timers (RFC 4028: ``timer``). REFER is
#: not among them: nobody transfers vacant's calls elsewhere (405).
CAPABILITIES: Final = Capabilities(
    methods=frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "NOTIFY", "UPDATE", "INFO"}),
    extensions=frozenset({"timer"}),
    content_types=frozenset({"application/sdp", "message/sipfrag"}),
)


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
    #: Our RTP address, in the c= and o= lines of our SDP.
    media_address: str = "127.0.0.1"


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
        *,
        engine: Engine | None = None,
        prompts: Callable[[], PromptCache] | None = None,
        later: Callable[[float, Callable[[], None]], Handle] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.snapshot = snapshot
        self.record = record
        self.clock = clock
        self.settings = settings or CallSettings()
        self.rng = rng or endpoint.rng
        self._engine = engine
        self._prompts = prompts or PromptCache
        self._later = later
        #: Our Contact per transport (the application sets them once its listeners are bound).
        self.contacts: dict[str, Uri] = {}
        #: Flushes what the endpoint queued; the application sets it to the runner's pump.
        self.on_wake: Callable[[], None] = lambda: None
        #: Announcement calls in progress, by dialog (once answered) and by transaction.
        self.announcing: set[AnnouncementCall] = set()
        self._dialogs: dict[DialogId, AnnouncementCall] = {}
        self._by_invite: dict[TxId, AnnouncementCall] = {}
        self._by_client: dict[TxId, AnnouncementCall] = {}
        #: Announcement outcomes, for the metrics.
        self.outcomes: Counter[str] = Counter()
        self.limiter = RateLimiter(self.settings.max_rate)
        self._logs_calls = LevelWatch(log, logging.INFO)
        self.draining = False
        #: Whether this instance answers the announcement calls of a pool (the application
        #: sets it to :meth:`vacant.service.pools.Coverage.serves`; default: every pool).
        self.serves: Callable[[str], bool] = _every_pool
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
        return len(self.pending) + len(self.announcing)

    def __call__(self, event: Event) -> None:
        match event:
            case RequestReceived(tx_id=tx_id, request=request, source=source):
                call = self._dialog_of(request) if request.to.tag is not None else None
                if call is not None:
                    call.request_in_dialog(tx_id, request)
                elif request.method == "INVITE" and request.to.tag is None:
                    self.invite(tx_id, request, source)
                elif request.method == "OPTIONS":
                    self.options(tx_id)
                else:
                    # §12.2.2: a request inside a dialog we do not have.
                    self.endpoint.reply(tx_id, 481, self.clock())
            case CancelReceived(invite_tx_id=tx_id):
                # §9.2: the endpoint answered the CANCEL; the INVITE gets 487.
                if tx_id in self.pending:
                    self.answer(tx_id, 487)
                elif (call := self._by_invite.get(tx_id)) is not None:
                    call.cancel()
            case AckReceived(request=request):
                call = self._dialog_of(request)
                if call is not None:
                    call.ack(request)
            case ResponseReceived(tx_id=tx_id, response=response):
                call = self._by_client.get(tx_id)
                if call is not None:
                    if response.status >= 200:
                        del self._by_client[tx_id]
                    call.response(tx_id, response)
            case TransactionTerminated(tx_id=tx_id):
                self._by_invite.pop(tx_id, None)
                self._by_client.pop(tx_id, None)
            case TransactionTimedOut(tx_id=tx_id) | TransportFailed(tx_id=tx_id):
                self.pending.pop(tx_id, None)
                call = self._by_client.pop(tx_id, None) or self._by_invite.get(tx_id)
                if call is not None:
                    call.timed_out(tx_id)
            case _:
                assert_never(event)

    def _dialog_of(self, request: Request) -> AnnouncementCall | None:
        if not self._dialogs:
            return None
        try:
            dialog_id = DialogId.for_request(request)
        except ParseError:
            return None
        return None if dialog_id is None else self._dialogs.get(dialog_id)

    # --- CallHost: what an announcement call uses ---------------------------------------------

    def now(self) -> float:
        return self.clock()

    def later(self, delay: float, callback: Callable[[], None]) -> Handle:
        assert self._later is not None
        return self._later(delay, callback)

    def wake(self) -> None:
        self.on_wake()

    @property
    def engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    @property
    def media_address(self) -> str:
        return self.settings.media_address

    def contact(self, transport: str) -> Uri:
        """Our Contact for a dialog whose INVITE came over ``transport`` (§8.1.1.8)."""
        uri = self.contacts.get(transport)
        if uri is None:
            suffix = "" if transport == "udp" else f";transport={transport}"
            host = format_host(self.settings.media_address)
            uri = self.contacts[transport] = parse_uri(f"sip:{host}{suffix}")
        return uri

    def track(self, tx_id: TxId, call: AnnouncementCall) -> None:
        """Send the responses and time-outs of client transaction ``tx_id`` to ``call``."""
        self._by_client[tx_id] = call

    def finished(self, call: AnnouncementCall) -> None:
        """An announcement call ended: forget it, count it, write its call record."""
        self.announcing.discard(call)
        if call.dialog is not None:
            self._dialogs.pop(call.dialog.id, None)
        outcome = str(call.outcome)
        self.outcomes[outcome] += 1
        self.calls[(call.decision.kind, call.status)] += 1
        request = call.request
        ended = call.ended if call.ended is not None else self.clock()
        self.record(
            CallRecord(
                started=call.wall,
                call_id=request.call_id,
                caller=_caller(request),
                dialled=str(request.uri),
                normalised=str(call.decision.normalised),
                decision=call.decision.kind,
                range_name=call.decision.range,
                status=call.status,
                duration=ended - call.started,
                pool=self.settings.pool,
                prompt_seconds=round(call.prompt_seconds, 3),
                transfer_target=call.transfer_target,
                outcome=outcome,
            )
        )
        log.info(
            "%s %s -> %d %s (%.1f s of prompt)",
            request.call_id,
            request.uri,
            call.status,
            outcome,
            call.prompt_seconds,
        )

    def stop_calls(self) -> None:
        """End every announcement call (the server is stopping): BYE, or a final response."""
        for call in list(self.announcing):
            call.stop()

    # --- requests ---------------------------------------------------------------------------

    def options(self, tx_id: TxId) -> None:
        """§11.2: what we would answer to an INVITE, and what we support."""
        caps = self.endpoint.capabilities
        headers = [("Allow", caps.allow), ("Accept", caps.accept), ("Supported", self._support)]
        self.endpoint.reply(tx_id, 200, self.clock(), headers=headers)

    def invite(self, tx_id: TxId, request: Request, source: Address) -> None:
        # Every answer here is immediate, so the INVITE never enters ``pending`` (which holds
        # the ones answered later, by ``answer``): one decision, one reply, one call record.
        now = self.clock()
        settings = self.settings
        if not self._trusted(source.host):
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
        request_uri = request.uri
        dialled = str(request_uri)
        # A SIP Request-URI's user part, when a bare number (what an SBC sends), is the number
        # parse_dialled would read from ``dialled``: decided from it, without parsing again.
        user = request_uri.user if isinstance(request_uri, SipUri) else None
        try:
            decision = self.snapshot().decide(
                user if user is not None and is_canonical(user) else dialled
            )
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
            case AnnouncementDecision(announcement=announcement):
                if not self.serves(announcement.pool):
                    # Another pool's range, and not one this instance covers: 503 sends a
                    # proxy on to the next server (RFC 3263 §4.3; docs/pools.md).
                    self._final(tx_id, request, now, now, 503, "pool-not-served", decision,
                                _not_served(announcement.pool), dialled)  # fmt: skip
                    return
                prompt = self._prompts().get(announcement)
                forward = announcement.target
                if prompt is None and not forward:
                    status = 486  # nothing to play, nowhere to send the caller
                elif prompt is None and announcement.redirect_without_answer:
                    status, headers = 302, (("Contact", _angle(forward or "")),)
                    self._final(tx_id, request, now, now, status, decision.kind, decision,
                                headers, dialled, transfer_target=forward)  # fmt: skip
                    return
                elif self._engine is None:
                    status = 480  # no media path in this process
                else:
                    call = AnnouncementCall(self, tx_id, request, source, decision, prompt,
                                            started=now, wall=datetime.now(UTC))  # fmt: skip
                    self.announcing.add(call)
                    self._by_invite[tx_id] = call
                    call.start()
                    if call.dialog is not None and call.outcome is None:
                        self._dialogs[call.dialog.id] = call
                    return
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
        transfer_target: str | None = None,
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
                transfer_target=transfer_target,
                outcome="redirected" if transfer_target is not None else None,
            )
        )
        if self._logs_calls.enabled(now):
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


def _every_pool(_pool: str) -> bool:
    return True


def _not_served(pool: str) -> tuple[tuple[str, str], ...]:
    """RFC 3261 §20.43: warn-code 399 (miscellaneous), agent pseudonym ``vacant``."""
    return (("Warning", f'399 vacant "pool {pool} is not served by this instance"'),)


def _angle(uri: str) -> str:
    return uri if uri.startswith("<") else f"<{uri}>"
