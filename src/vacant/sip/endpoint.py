"""``SipEndpoint``: the sans-I/O SIP core, with aioquic's surface.

Theory of operation: the adapter feeds the endpoint what arrives and what time it is; the endpoint
runs the transaction layer and hands back what to send, what happened, and when to wake it::

    endpoint.receive(data, source, now)        # one datagram, or one StreamFramer frame
    while (event := endpoint.next_event()) is not None:
        ...                                    # the TU: endpoint.reply(event.tx_id, 404, now)
    for data, destination in endpoint.messages_to_send():
        ...                                    # the adapter's sendto / connection write
    deadline = endpoint.get_timer()            # call handle_timer(now) at that time

What the endpoint does on its own, so the TU never sees it:

- matches requests to server transactions (§17.2.3, RFC 3261 branches and the RFC 2543
  fallback) and responses to client transactions (§17.1.3), so retransmissions are absorbed or
  answered with the last response, and ACKs for non-2xx responses end their INVITE transaction;
- answers what it must refuse: unparseable-but-answerable requests (``ParseError.status_hint``),
  requests ``validate_request`` rejects (§8.2: 400, 405, 416, 420, 483, 501, 513, ...), merged
  requests (§8.2.2.2: 482), and CANCELs (§9.2: 200, or 481 when nothing matches); it drops and
  counts what cannot be answered;
- stamps ``received`` and ``rport`` into the top Via of each request (§18.2.1, RFC 3581 §4) and
  sends responses where §18.2.2 says: back on the connection for TCP/TLS, else to the source
  address (with the rport port, or the sent-by port);
- sends 100 Trying for an INVITE the TU has not answered within 200 ms (§17.2.1);
- retransmits the TU's 2xx to an INVITE until the ACK arrives (§13.3.1.4: the UAS core's job,
  since RFC 6026 forbids the transaction to), and reports ``TransactionTimedOut(timer="H")``
  when none came within 64*T1, so the TU ends the session with BYE.

Timers live in one ``TimerHeap`` (a FIFO per timer, lazy deletion); timers of zero
duration (D, I, J, K over TCP/TLS) fire before the call that armed them returns.
"""

import contextlib
import logging
import random
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from vacant.errors import LocalProtocolError, ParseError
from vacant.sip.events import AckReceived, Address, CancelReceived, Event, TransactionTimedOut, TxId
from vacant.sip.events import TransactionTerminated as _Terminated
from vacant.sip.fields import MAGIC_COOKIE, Via
from vacant.sip.headers import Headers
from vacant.sip.index import ShardedIndex
from vacant.sip.message import DEFAULT_LIMITS, Limits, Request, Response, parse_message
from vacant.sip.received import DEFAULT_PORT, stamp_received
from vacant.sip.reply import make_response, new_tag, reply_to_unparseable
from vacant.sip.states import TxInput, TxKind, TxState
from vacant.sip.status import StatusCode
from vacant.sip.timers import TRYING_DELAY, TimerConfig, TimerHeap, TimerOwner
from vacant.sip.transaction import (
    ClientTransaction,
    ServerTransaction,
    Transaction,
    TransactionHost,
)
from vacant.sip.uri import format_host
from vacant.sip.validate import (
    DEFAULT_CAPABILITIES,
    Capabilities,
    validate_request,
    validate_response,
)

logger = logging.getLogger(__name__)

_CLIENT_KINDS: Final = frozenset({TxKind.INVITE_CLIENT, TxKind.NON_INVITE_CLIENT})
_UNSETTLED: Final = frozenset({TxState.PROCEEDING, TxState.COMPLETED})


# ``_absorbed_ack``: the first Via line, and the plain form RFC 3261 clients send (§20.42:
# IPv4 sent-by with a port, the branch first and a token, §25.1), usually the first field.
_FIRST_VIA: Final = re.compile(rb"\r\n(?:via|v)[ \t]*:", re.IGNORECASE)
_PLAIN_VIA: Final = re.compile(
    rb"\r\nVia: SIP/2\.0/(?:UDP|TCP|TLS) ([0-9.]+):([1-9][0-9]{0,4})"
    rb";branch=(z9hG4bK[-.!%*_+`'~A-Za-z0-9]+)[;,\r]"
)
# The states in which an INVITE server transaction absorbs an ACK without reading it.
_ACK_ABSORBING: Final = frozenset({TxState.COMPLETED, TxState.CONFIRMED})

_Key2xx = tuple[str, str | None, str | None, int]
_Key2543 = tuple[str, str | None, int, str, str]


@dataclass(slots=True)
class Stats:
    """Counters an adapter can export (they only ever grow)."""

    #: Messages ``parse_message`` refused.
    parse_errors: int = 0
    #: Messages dropped without an answer (unanswerable, or not routable).
    dropped: int = 0
    #: Requests the endpoint answered itself with an error status (never seen by the TU).
    rejected: int = 0
    #: Retransmitted requests, ACKs for non-2xx and duplicate responses a transaction absorbed.
    absorbed: int = 0
    #: Retransmissions sent (Timer A, E, G; answers to retransmitted requests; repeated ACKs).
    retransmissions_sent: int = 0
    #: Responses that matched no client transaction (§18.1.2).
    stray_responses: int = 0
    #: Transactions created, per machine.
    transactions_created: dict[TxKind, int] = field(
        default_factory=lambda: dict.fromkeys(TxKind, 0)
    )


class SipEndpoint(TransactionHost):
    """A SIP user agent's transaction layer and transport rules, without I/O.

    Args:
        rng: the source of tags and branches (§19.3, §8.1.1.7); seed it in tests.
        timers: T1, T2, T4 (Table 4).
        capabilities: what ``validate_request`` accepts (methods, extensions, schemes, bodies).
        limits: what ``parse_message`` accepts.
        local: our own addresses, one per transport, for the Via of requests we send (§18.1.1).
        trying_delay: when an INVITE server transaction sends 100 Trying by itself: 0.2 s
            (§17.2.1's rule), 0 (at once), or ``None`` (never: the TU answers within 200 ms).
    """

    def __init__(
        self,
        *,
        rng: random.Random,
        timers: TimerConfig = TimerConfig(),  # noqa: B008  # frozen, so one shared default is safe
        capabilities: Capabilities = DEFAULT_CAPABILITIES,
        limits: Limits = DEFAULT_LIMITS,
        local: Iterable[Address] = (),
        trying_delay: float | None = TRYING_DELAY,
    ) -> None:
        super().__init__()
        self.rng = rng
        self.timers = timers
        self.capabilities = capabilities
        self.limits = limits
        self.trying_delay = trying_delay
        self.stats = Stats()
        self._local = {address.transport: address for address in local}
        self._events: deque[Event] = deque()
        self._outbox: list[tuple[bytes, Address]] = []
        self._schedule = TimerHeap[TxInput]()
        self._next_id = 0
        # The indexes every call enters and leaves are sharded (``vacant.sip.index``).
        self._transactions = ShardedIndex[TxId, ClientTransaction | ServerTransaction]()
        # §17.2.3: (branch, sent-by host, sent-by port, method; INVITE for an ACK).
        self._server = ShardedIndex[tuple[str, str, int | None, str], ServerTransaction]()
        # §17.2.3, RFC 2543 requests: (Call-ID, From tag, CSeq number, method, top Via).
        self._server_2543: dict[_Key2543, ServerTransaction] = {}
        # §8.2.2.2: (From tag, Call-ID, CSeq number, CSeq method) of requests without a To tag.
        self._merged = ShardedIndex[tuple[str | None, str, int, str], ServerTransaction]()
        # §17.1.3: (branch, CSeq method).
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        # §13.3.1.4: 2xx responses awaiting their ACK, by (Call-ID, To tag, From tag, CSeq).
        self._retransmissions: dict[_Key2xx, _Retransmission] = {}

    # --- input ------------------------------------------------------------------------------

    def receive(
        self, data: bytes, source: Address, now: float, *, reliable: bool | None = None
    ) -> None:
        """Take one message: a datagram, or one frame of a TCP/TLS stream.

        ``reliable`` defaults to what ``source.transport`` says ("tcp"/"tls" are reliable).
        """
        self.now = now
        if data.startswith(b"ACK ") and self._absorbed_ack(data):
            self._schedule.run_due()
            return
        try:
            message = parse_message(data, self.limits)
        except ParseError as exc:
            self._unparseable(data, source, exc)
        else:
            if isinstance(message, Request):
                is_reliable = source.reliable if reliable is None else reliable
                self._receive_request(message, source, is_reliable)
            else:
                self._receive_response(message)
        self._schedule.run_due()

    def send_request(
        self, request: Request, destination: Address, now: float, *, reliable: bool | None = None
    ) -> TxId:
        """Start a client transaction for ``request`` (BYE, REFER, NOTIFY, ...) to
        ``destination``; its responses arrive as ``ResponseReceived`` events.

        Without a Via, one is added with our ``local`` address for the destination's transport,
        a fresh branch (§8.1.1.7) and ``rport`` (RFC 3581 §3); without Max-Forwards, 70 is added
        (§8.1.1.6). ``request.headers`` is updated in place.

        Raises:
            LocalProtocolError: an ACK (use ``send_ack``), a Via without an RFC 3261 branch, a
                branch already in use, or no local address for the transport.
        """
        self.now = now
        method = request.method
        if method == "ACK":
            raise LocalProtocolError("an ACK is not a transaction of its own: use send_ack")
        branch = self._stamp(request, destination)
        key = (branch, method)
        if key in self._client:
            raise LocalProtocolError(f"branch {branch} is already in use for {method}")
        tx = ClientTransaction(
            self,
            self._new_id(),
            request,
            request.serialize(),
            destination,
            destination.reliable if reliable is None else reliable,
        )
        self._register(tx, self._client, key)
        tx.start()
        self._schedule.run_due()
        return tx.id

    def send_ack(self, request: Request, destination: Address, now: float) -> None:
        """Send the ACK for a 2xx: no transaction (§13.2.2.4, §17.1.1.3); Via and Max-Forwards
        are added as ``send_request`` adds them.

        Raises:
            LocalProtocolError: not an ACK, or no Via can be added.
        """
        self.now = now
        if request.method != "ACK":
            raise LocalProtocolError(f"send_ack takes an ACK, not {request.method}")
        self._stamp(request, destination)
        self._outbox.append((request.serialize(), destination))

    def respond(self, tx: TxId | ServerTransaction, response: Response, now: float) -> None:
        """Send ``response`` on server transaction ``tx`` (built with ``make_response``; pass
        ``to_tag=endpoint.local_tag(tx)`` so every response of the transaction shares it).

        Raises:
            LocalProtocolError: no such live server transaction, or it cannot send this
                response in its state.
        """
        self.now = now
        server = self._server_tx(tx)
        if server.to_tag is None and response.status > StatusCode.TRYING:
            with contextlib.suppress(ParseError):
                server.to_tag = response.to.tag
        self._send_response(server, response.serialize(), response.status)

    def reply(
        self,
        tx: TxId | ServerTransaction,
        status: int,
        now: float,
        *,
        reason: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        """Send the ``status`` response on server transaction ``tx``, assembled straight into
        octets from the request's fields (§8.2.6): the fast path for a response the TU need not
        build. ``headers`` are added after the copied ones (give Content-Type with a body).

        Raises:
            LocalProtocolError: as ``respond``.
            ValueError: a status outside 100..699 or a malformed extra header.
        """
        self.now = now
        server = self._server_tx(tx)
        data = server.response_bytes(status, reason, tuple(headers), body)
        self._send_response(server, data, status)

    def _send_response(self, server: ServerTransaction, data: bytes, status: int) -> None:
        if (
            200 <= status < 300
            and server.kind is TxKind.INVITE_SERVER
            and server.state is TxState.PROCEEDING
        ):
            # Armed before the transaction's Timer L, so at the same deadline it fires first.
            request = server.request
            assert request is not None  # released only after a non-2xx final response
            key = (request.call_id, server.local_tag, request.from_.tag, request.cseq.number)
            self._retransmissions[key] = _Retransmission(self, key, server, data)
        server.respond(data, status)
        self._schedule.run_due()

    def transport_error(self, destination: Address, now: float) -> None:
        """Report that sending to ``destination`` failed (an ICMP error, a closed connection):
        every transaction sending there gets the transport error input (§17.1.4, §17.2.4)."""
        self.now = now
        for tx in [t for t in self._transactions.values() if t.destination == destination]:
            tx.transport_error()
        self._schedule.run_due()

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``. Retransmission timers re-arm from ``now``."""
        self.now = now
        self._schedule.expire(now)

    # --- output -----------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next event for the TU, or ``None``."""
        return self._events.popleft() if self._events else None

    def messages_to_send(self) -> list[tuple[bytes, Address]]:
        """Everything queued for the wire since the last call, in order, as (octets, address)."""
        out = self._outbox
        self._outbox = []
        return out

    def get_timer(self) -> float | None:
        """The earliest deadline at which ``handle_timer`` must be called, or ``None``."""
        return self._schedule.next_deadline()

    # --- introspection ----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether stopping now would lose something: a client transaction without its final
        response, an INVITE server transaction whose answer is not final or not yet acknowledged
        (§17.2.1: PROCEEDING, COMPLETED), or a 2xx still retransmitted for want of its ACK
        (§13.3.1.4). Confirmed, Accepted and non-INVITE server transactions only absorb
        retransmissions, and so do client transactions in the Completed state (§17.1.1.2 Timer
        D, §17.1.2.2 Timer K: waiting out retransmitted responses)."""
        if self._retransmissions:
            return True
        for tx in self._transactions.values():
            if tx.kind in _CLIENT_KINDS:
                if tx.state is not TxState.COMPLETED:
                    return True
                continue
            if tx.kind is TxKind.INVITE_SERVER and tx.state in _UNSETTLED:
                return True
        return False

    def transaction(self, tx_id: TxId) -> ClientTransaction | ServerTransaction | None:
        """The live transaction ``tx_id``, or ``None`` once it has terminated."""
        return self._transactions.get(tx_id)

    def local_tag(self, tx: TxId | ServerTransaction) -> str:
        """The To tag of server transaction ``tx``'s responses: the dialog's local tag if the
        TU answers with 2xx (§12.1.1).

        Raises:
            LocalProtocolError: no such live server transaction.
        """
        return self._server_tx(tx).local_tag

    # --- TransactionHost --------------------------------------------------------------------

    def transmit(self, data: bytes, destination: Address, retransmission: bool) -> None:
        """Queue octets for the adapter (``TransactionHost``)."""
        self._outbox.append((data, destination))
        if retransmission:
            self.stats.retransmissions_sent += 1

    def emit(self, event: Event) -> None:
        """Queue an event for the TU (``TransactionHost``)."""
        self._events.append(event)

    def arm(self, tx: "Transaction | _Retransmission", timer: TxInput, delay: float) -> None:
        """Arm ``timer`` on ``tx`` to fire at ``now + delay`` (``TransactionHost``); a zero
        delay fires before the current call returns."""
        self._schedule.arm(tx, timer, self.now + delay if delay > 0 else None, self.now)

    def cancel_timers(self, tx: "Transaction | _Retransmission") -> None:
        """Disarm every timer of ``tx`` (``TransactionHost``)."""
        self._schedule.cancel(tx)

    def absorbed(self, tx: Transaction) -> None:
        """Count an input the transaction absorbed (``TransactionHost``)."""
        self.stats.absorbed += 1

    def retire(self, tx: Transaction) -> None:
        """Forget a terminated transaction (``TransactionHost``)."""
        self.cancel_timers(tx)
        del self._transactions[tx.id]
        if tx.index is not None:
            del tx.index[tx.key]
        if tx.merged is not None:
            del tx.merged[tx.merge_key]
        if not isinstance(tx, ServerTransaction) or tx.tu_visible:
            self._events.append(_Terminated(tx_id=tx.id))

    def new_tag(self) -> str:
        """A fresh tag from the injected random source (``TransactionHost``)."""
        return new_tag(self.rng)

    # --- requests ---------------------------------------------------------------------------

    def _receive_request(self, request: Request, source: Address, reliable: bool) -> None:
        try:
            via = request.top_via
        except ParseError:
            # §18.2.2 routes every response by the top Via: without one there is no answer.
            logger.debug("request from %s dropped: no usable top Via", source)
            self.stats.dropped += 1
            return
        method = request.method
        branch = via.branch
        key: tuple[str, str, int | None, str] | None = None
        key_2543: _Key2543 | None = None
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            # §17.2.3: branch, sent-by and method (INVITE for an ACK) name the transaction.
            key = (branch, via.host, via.port, "INVITE" if method == "ACK" else method)
            tx = self._server.get(key)
        else:
            key_2543 = _key_2543(request, "INVITE" if method == "ACK" else method)
            tx = self._match_2543(request, key_2543)
        if tx is not None:
            tx.receive_request(request)
            if method == "ACK" and self._retransmissions:
                self._acknowledged(request)  # an ACK for a 2xx that reused the INVITE branch
            return
        if method == "ACK":
            self._ack_for_2xx(request, source)
            return
        destination = stamp_received(request, via, source, reliable)
        rejection = validate_request(request, self.capabilities)
        if rejection is not None:
            logger.debug("%s from %s rejected: %s", method, source, rejection.detail)
            self._reject(request, source, destination, reliable, key, key_2543,
                         rejection.status, rejection.headers)  # fmt: skip
            return
        to_tag = request.to.tag
        merge_key = None
        if to_tag is None:
            cseq = request.cseq
            merge_key = (request.from_.tag, request.call_id, cseq.number, cseq.method)
            if merge_key in self._merged:
                # §8.2.2.2: same From tag, Call-ID and CSeq as a live transaction, yet not a
                # retransmission of it: a request merged (or looped) on its way here.
                logger.debug("%s from %s merged with a live transaction: 482", method, source)
                self._reject(request, source, destination, reliable, key, key_2543,
                             StatusCode.LOOP_DETECTED, ())  # fmt: skip
                return
        if method == "CANCEL":
            self._cancel(request, via, source, destination, reliable, key, key_2543)
            return
        tx = self._server_tx_for(request, source, destination, reliable, to_tag, key, key_2543)
        if merge_key is not None:
            merged = tx.merged = self._merged.shard(merge_key)
            merged[merge_key] = tx
            tx.merge_key = merge_key
        tx.start()

    def _absorbed_ack(self, data: bytes) -> bool:
        """Absorb the ACK ``data`` if its top Via names an INVITE server transaction that sent
        a non-2xx (Completed, Confirmed); whether it did. §17.2.3 matches it by branch and
        sent-by alone and it ends there (§17.2.1), so the rest is not parsed: an ACK malformed
        past its top Via is absorbed where the full path would drop it. A 2xx awaiting its ACK
        (§13.3.1.4), or another form of Via, takes the full path."""
        if self._retransmissions or len(data) > self.limits.max_message_size:
            return False
        end = data.find(b"\r\n\r\n") + 2  # framed: the header section and its last CRLF
        line_end = data.find(b"\r\n")
        if end < 2 or not data.endswith(b" SIP/2.0", 0, line_end):
            return False
        via = _PLAIN_VIA.match(data, line_end, end)
        if via is None and (first := _FIRST_VIA.search(data, line_end, end)) is not None:
            via = _PLAIN_VIA.match(data, first.start(), end)
        if via is None:
            return False
        # Only a sent-by that parsed is in the index (``parse_host``, ``parse_port``): a match
        # proves this host an IPv4address (digits and dots make no hostname, whose last label
        # starts with a letter) and the port within 16 bits.
        key = (via[3].decode("ascii"), via[1].decode("ascii"), int(via[2]), "INVITE")
        tx = self._server.get(key)
        if tx is None or tx.state not in _ACK_ABSORBING:
            return False
        tx.receive_ack()
        return True

    def _server_tx_for(
        self,
        request: Request,
        source: Address,
        destination: Address,
        reliable: bool,
        to_tag: str | None,
        key: tuple[str, str, int | None, str] | None,
        key_2543: _Key2543 | None,
        *,
        tu_visible: bool = True,
    ) -> ServerTransaction:
        tx = ServerTransaction(self, self._new_id(), request, source, destination, reliable,
                               to_tag, tu_visible=tu_visible)  # fmt: skip
        if key is not None:
            self._register(tx, self._server.shard(key), key)
        elif key_2543 is not None:
            tx.rfc2543 = True
            self._register(tx, self._server_2543, key_2543)
        else:
            self._register(tx, None, None)
        return tx

    def _register(
        self, tx: ClientTransaction | ServerTransaction, index: dict[Any, Any] | None, key: object
    ) -> None:
        self._transactions[tx.id] = tx
        # A key held by a live transaction stays with it (an RFC 2543 request that is not its
        # retransmission, say): the newcomer simply goes unindexed.
        if index is not None and index.setdefault(key, tx) is tx:
            tx.index = index
            tx.key = key
        self.stats.transactions_created[tx.kind] += 1

    def _new_id(self) -> TxId:
        self._next_id += 1
        return TxId(self._next_id)

    def _match_2543(self, request: Request, key: _Key2543 | None) -> ServerTransaction | None:
        """§17.2.3 for requests without a magic-cookie branch: Request-URI, To tag, From tag,
        Call-ID, CSeq and top Via must equal the creating request's; for an ACK the To tag must
        equal the one of the response the transaction sent."""
        if key is None:
            return None
        tx = self._server_2543.get(key)
        if tx is None or tx.request is None or str(request.uri) != str(tx.request.uri):
            return None  # (every transaction in this index keeps its request: ``release``)
        try:
            tag = request.to.tag
            expected = tx.to_tag if request.method == "ACK" else tx.request.to.tag
        except ParseError:
            return None  # a To that does not parse matches nothing (and gets its 400)
        return tx if tag == expected else None

    def _reject(
        self,
        request: Request,
        source: Address,
        destination: Address,
        reliable: bool,
        key: tuple[str, str, int | None, str] | None,
        key_2543: _Key2543 | None,
        status: int,
        headers: tuple[tuple[str, str], ...],
    ) -> None:
        """Answer ``request`` ourselves through a server transaction of its own, so its
        retransmissions get the same answer and the ACK of a rejected INVITE is absorbed."""
        try:
            to_tag = request.to.tag
        except ParseError:
            to_tag = None
        tx = self._server_tx_for(request, source, destination, reliable, to_tag, key, key_2543,
                                 tu_visible=False)  # fmt: skip
        response = make_response(request, status, self.rng, to_tag=tx.local_tag, headers=headers)
        tx.respond(response.serialize(), status)
        self.stats.rejected += 1

    def _cancel(
        self,
        request: Request,
        via: Via,
        source: Address,
        destination: Address,
        reliable: bool,
        key: tuple[str, str, int | None, str] | None,
        key_2543: _Key2543 | None,
    ) -> None:
        """§9.2: match the CANCEL to the request it cancels, answer it, tell the TU."""
        target = self._cancelled(request, via, key_2543)
        if target is None:
            # §9.2: "If the UAS did not find a matching transaction for the CANCEL
            # request, it SHOULD respond to the CANCEL request with a 481".
            self._reject(request, source, destination, reliable, key, key_2543,
                         StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST, ())  # fmt: skip
            return
        # §9.2: the CANCEL is answered 200 whatever the state of the request it cancels, with
        # the To tag of that request's responses.
        tx = self._server_tx_for(request, source, destination, reliable, target.local_tag,
                                 key, key_2543, tu_visible=False)  # fmt: skip
        tx.respond(tx.response_bytes(StatusCode.OK), StatusCode.OK)
        if target.kind is TxKind.INVITE_SERVER and target.state is TxState.PROCEEDING:
            self._events.append(
                CancelReceived(invite_tx_id=target.id, request=request, source=source)
            )

    def _cancelled(
        self, request: Request, via: Via, key_2543: _Key2543 | None
    ) -> ServerTransaction | None:
        """§9.2: the transaction a CANCEL matches "assuming that the request method is anything
        but CANCEL or ACK"; INVITE is tried first. ``key_2543`` was taken before the top Via
        got its ``received``."""
        methods = ["INVITE", *sorted(self.capabilities.methods - {"INVITE", "ACK", "CANCEL"})]
        branch = via.branch
        for method in methods:
            if branch is not None and branch.startswith(MAGIC_COOKIE):
                tx = self._server.get((branch, via.host, via.port, method))
            else:
                assert key_2543 is not None  # validate_request made sure the fields parse
                call_id, from_tag, number, _, top_via = key_2543
                tx = self._match_2543(request, (call_id, from_tag, number, method, top_via))
            if tx is not None:
                return tx
        return None

    def _ack_for_2xx(self, request: Request, source: Address) -> None:
        """§17 / §13.3.1.4: an ACK that matches no transaction acknowledges a 2xx; it goes to
        the TU. An ACK is never answered, so one the TU could not use is dropped."""
        try:
            _ = (request.call_id, request.from_, request.to)
            usable = request.cseq.method == "ACK"
        except ParseError:
            usable = False
        if not usable:
            self.stats.dropped += 1
            return
        if self._retransmissions:
            self._acknowledged(request)
        self._events.append(AckReceived(request=request, source=source))

    def _acknowledged(self, ack: Request) -> None:
        """§13.3.1.4: "Response retransmissions cease when an ACK request for the response is
        received"; the ACK carries the dialog's tags and the INVITE's CSeq number."""
        try:
            key = (ack.call_id, ack.to.tag, ack.from_.tag, ack.cseq.number)
        except ParseError:
            return
        retransmission = self._retransmissions.pop(key, None)
        if retransmission is not None:
            self.cancel_timers(retransmission)

    def _unparseable(self, data: bytes, source: Address, exc: ParseError) -> None:
        self.stats.parse_errors += 1
        hint = exc.status_hint
        reply = None
        if hint is not None:
            reply = reply_to_unparseable(data, hint, self.rng, limits=self.limits)
        if reply is None:
            logger.debug("message from %s dropped: %s", source, exc)
            self.stats.dropped += 1
            return
        # Answered statelessly: the request never parsed, so no transaction can hold it.
        via = reply.top_via
        rport = via.rport_requested
        port = via.port or DEFAULT_PORT
        destination = (
            source if source.reliable else Address(source.host, source.port if rport else port)
        )
        logger.debug("request from %s answered %s: %s", source, hint, exc)
        self.stats.rejected += 1
        self._outbox.append((reply.serialize(), destination))

    # --- responses --------------------------------------------------------------------------

    def _receive_response(self, response: Response) -> None:
        try:
            branch = response.top_via.branch
            method = response.cseq.method
        except ParseError:
            self.stats.dropped += 1
            return
        tx = self._client.get((branch or "", method))
        if tx is None:
            # §18.1.2: a response that matches no client transaction goes to the core; a UAS
            # core has no use for it (a stray 2xx retransmission after Timer M, say).
            logger.debug("stray %s response to %s dropped", response.status, method)
            self.stats.stray_responses += 1
            return
        problem = validate_response(response)
        if problem is not None:
            logger.debug("response to tx %s discarded: %s", tx.id, problem)
            self.stats.dropped += 1
            return
        tx.receive_response(response)

    # --- helpers ----------------------------------------------------------------------------

    def _server_tx(self, tx: TxId | ServerTransaction) -> ServerTransaction:
        found = tx if isinstance(tx, ServerTransaction) else self._transactions.get(tx)
        if not isinstance(found, ServerTransaction) or found.state is TxState.TERMINATED:
            raise LocalProtocolError(f"no live server transaction {tx!r}")
        return found

    def _stamp(self, request: Request, destination: Address) -> str:
        """Give an outgoing request its Via (§8.1.1.7, §18.1.1) and Max-Forwards (§8.1.1.6);
        return its branch."""
        headers = request.headers
        if "via" in headers:
            branch = request.top_via.branch
            if branch is None or not branch.startswith(MAGIC_COOKIE):
                raise LocalProtocolError("our requests carry an RFC 3261 branch (§8.1.1.7)")
        else:
            local = self._local.get(destination.transport)
            if local is None:
                raise LocalProtocolError(f"no local {destination.transport} address for Via")
            branch = f"{MAGIC_COOKIE}{self.rng.getrandbits(64):016x}"
            via = (
                f"SIP/2.0/{local.transport.upper()} {format_host(local.host)}:{local.port}"
                f";branch={branch};rport"
            )
            request.headers = headers = Headers([("Via", via), *headers])
        if "max-forwards" not in headers:
            headers.add("Max-Forwards", "70")
        return branch


def _key_2543(request: Request, method: str) -> _Key2543 | None:
    """The RFC 2543 matching key (§17.2.3); ``None`` when the fields do not parse."""
    try:
        return (request.call_id, request.from_.tag, request.cseq.number, method,
                request.headers.first_value("via") or "")  # fmt: skip
    except ParseError:
        return None


class _Retransmission(TimerOwner[TxInput]):
    """§13.3.1.4: a 2xx to INVITE, passed to the transport again on Timer G's schedule (T1
    doubling up to T2) until its ACK arrives, for at most 64*T1 (Timer H's span). "This is
    independent of whatever transport protocols are used to send the response"."""

    __slots__ = ("_endpoint", "data", "interval", "key", "tx")

    def __init__(
        self, endpoint: SipEndpoint, key: _Key2xx, tx: ServerTransaction, data: bytes
    ) -> None:
        super().__init__()
        self._endpoint = endpoint
        self.key = key
        self.tx = tx
        self.data = data
        self.interval = endpoint.timers.timer_g
        endpoint.arm(self, TxInput.TIMER_G, self.interval)
        endpoint.arm(self, TxInput.TIMER_H, endpoint.timers.timer_h)

    def fire(self, timer: TxInput) -> None:
        """Retransmit on G; on H give up and tell the TU (it should send BYE)."""
        endpoint = self._endpoint
        if timer is TxInput.TIMER_G:
            endpoint.transmit(self.data, self.tx.destination, True)
            self.interval = endpoint.timers.backoff(self.interval)
            endpoint.arm(self, TxInput.TIMER_G, self.interval)
            return
        endpoint.cancel_timers(self)
        del endpoint._retransmissions[self.key]
        endpoint.emit(TransactionTimedOut(tx_id=self.tx.id, timer="H"))
