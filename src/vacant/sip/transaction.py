"""The four transaction machines of RFC 3261 §17, amended by RFC 6026, as transition tables.

Theory of operation: a transaction is in one ``TxState`` and reacts to one ``TxInput`` at a time.
Each machine is a ``dict[(state, input)] -> (next_state, actions)``; the actions are small methods
of ``ClientTransaction`` or ``ServerTransaction`` (send, retransmit, pass up, arm or cancel a
timer) that act through a ``TransactionHost`` (the endpoint): the transaction itself never sees a
socket or a clock. ``scripts/state_diagrams.py`` renders the same tables as Mermaid diagrams into
``docs/state-machines.md``.

An input that has no row is handled by where it came from: from the peer (a retransmission, a
stray ACK, a late timer) it is absorbed and logged at DEBUG; from our own TU (a response in a state
that cannot send one) it raises ``LocalProtocolError``. Rows drawn in the RFC as "-" (absorb on
purpose) run the ``absorb`` action, so the diagrams show them.

Where RFC 6026 changed RFC 3261, the tables follow RFC 6026: a 2xx moves both INVITE machines to
Accepted (Timer L on the server, Timer M on the client) instead of Terminated, so retransmitted
INVITEs are absorbed and retransmitted 2xx responses reach the TU; and an INVITE server transaction
informs its TU of a transport error and stays where it is (RFC 6026 Figure 7).
"""

import logging
from collections.abc import Callable
from typing import Any, Final, Generic, Literal, TypeVar

from mypy_extensions import mypyc_attr

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
from vacant.sip.headers import check_field
from vacant.sip.logs import LevelWatch
from vacant.sip.message import Request, Response
from vacant.sip.reply import build_ack
from vacant.sip.states import TU_INPUTS, TxInput, TxKind, TxState
from vacant.sip.status import reason_phrase
from vacant.sip.timers import TimerConfig, TimerOwner

logger = logging.getLogger(__name__)


@mypyc_attr(allow_interpreted_subclasses=True)
class TransactionHost:
    """What a transaction needs from its endpoint: the clock, the timers, the wire, the TU.

    A base class, not a ``Protocol``: compiled, a protocol's methods are Python calls, a base
    class's C calls (docs/benchmarks.md, twelfth round: 1.2% fewer instructions)."""

    timers: TimerConfig
    trying_delay: float | None

    def __init__(self) -> None:
        self.now = 0.0  # the time of the call being handled (monotonic seconds)
        self._steps = LevelWatch(logger, logging.DEBUG)

    def logs_steps(self) -> bool:
        """Whether transactions log their steps (DEBUG, DESIGN.md §8), asked once a second."""
        return self._steps.enabled(self.now)

    def transmit(self, data: bytes, destination: Address, retransmission: bool) -> None:
        """Queue ``data`` for ``destination``."""
        raise NotImplementedError

    def emit(self, event: Event) -> None:
        """Queue an event for the TU."""
        raise NotImplementedError

    def arm(self, tx: "Transaction", timer: TxInput, delay: float) -> None:
        """Fire ``timer`` on ``tx`` after ``delay`` seconds (replacing an armed one)."""
        raise NotImplementedError

    def cancel_timers(self, tx: "Transaction") -> None:
        """Disarm every timer of ``tx``."""
        raise NotImplementedError

    def absorbed(self, tx: "Transaction") -> None:
        """Count a peer input that the transaction absorbed."""
        raise NotImplementedError

    def retire(self, tx: "Transaction") -> None:
        """Forget ``tx``: it reached the Terminated state."""
        raise NotImplementedError

    def new_tag(self) -> str:
        """A fresh To tag (§19.3) from the injected random source."""
        raise NotImplementedError


T = TypeVar("T", bound="Transaction")
Action = Callable[[T], None]
Row = tuple[TxState, tuple[Action[T], ...]]


class Machine(Generic[T]):
    """One transaction machine: where it starts, what it does first, and its table.

    A plain generic class, not a frozen dataclass: mypyc cannot compile a generic dataclass
    (docs/sip.md, "Compiled"); the attributes are ``Final``, so it is as immutable to mypy. The
    table is a ``dict``, never changed: compiled, a ``Mapping``'s ``get`` is a method call."""

    __slots__ = ("initial", "kind", "rfc", "start", "table")

    def __init__(self, *, kind: TxKind, rfc: str, initial: TxState, start: tuple[Action[T], ...],
                 table: dict[tuple[TxState, TxInput], Row[T]]) -> None:  # fmt: skip
        self.kind: Final = kind
        self.rfc: Final = rfc
        self.initial: Final = initial
        self.start: Final = start
        self.table: Final = table


class Transaction(TimerOwner[TxInput]):
    """What every machine shares: identity, state, destination, timers."""

    __slots__ = ("_host", "destination", "id", "index", "interval", "key", "machine", "merge_key",
                 "merged", "reliable", "state")  # fmt: skip

    machine: "Machine[Any]"
    state: TxState

    def __init__(
        self, host: TransactionHost, tx_id: TxId, destination: Address, reliable: bool
    ) -> None:
        super().__init__()
        self._host = host
        self.id = tx_id
        #: Where requests (client) or responses (server) go (§18.1.1, §18.2.2).
        self.destination = destination
        #: Over a reliable transport nothing is retransmitted and D, I, J, K are zero.
        self.reliable = reliable
        #: The current retransmission interval of Timer A, E or G.
        self.interval = 0.0
        #: The endpoint's index entries, removed when the transaction retires: the matching
        #: index (§17.1.3, §17.2.3) and its key, and a server transaction's entry among the
        #: requests that later ones must not merge with (§8.2.2.2). Fields, not a list of
        #: pairs: a transaction kept for Timer I holds two fewer objects for the collector.
        self.index: dict[Any, Any] | None = None
        self.key: object = None
        self.merged: dict[Any, Any] | None = None
        self.merge_key: object = None

    @property
    def kind(self) -> TxKind:
        """Which of the four machines this transaction runs."""
        return self.machine.kind

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.kind.value} {self.state.value}>"

    def _row(self, event: TxInput) -> "Row[Any] | None":
        row = self.machine.table.get((self.state, event))
        if row is None:
            if event in TU_INPUTS:
                raise LocalProtocolError(
                    f"{self.kind.value} transaction {self.id} cannot take "
                    f"{event.value} in the {self.state.value} state"
                )
            logger.debug("tx %s: %s absorbed in %s", self.id, event.value, self.state.value)
            self._host.absorbed(self)
        return row

    def _apply(self, row: "Row[Any]") -> None:
        state, actions = row
        if state is not self.state:
            if self._host.logs_steps():  # spares the .value lookups otherwise
                logger.debug("tx %s: %s -> %s", self.id, self.state.value, state.value)
            self.state = state
        for action in actions:
            action(self)

    def fire(self, timer: TxInput) -> None:
        """Handle an expired timer (the endpoint has already disarmed it)."""
        row = self._row(timer)
        if row is not None:
            self._apply(row)

    def transport_error(self) -> None:
        """Handle a failure to send one of this transaction's messages (§17.1.4, §17.2.4)."""
        row = self._row(TxInput.TRANSPORT_ERROR)
        if row is not None:
            self._apply(row)

    # --- actions every machine uses -------------------------------------------------------

    def cancel_timers(self) -> None:
        """Disarm every timer: the state they belonged to is left."""
        self._host.cancel_timers(self)

    def inform_transport_error(self) -> None:
        """Tell the TU that a message could not be sent (§17.1.4, §17.2.4)."""
        self._host.emit(TransportFailed(tx_id=self.id))

    def inform_timeout(self) -> None:
        """Tell the TU that Timer B, F or H fired."""
        self._host.emit(TransactionTimedOut(tx_id=self.id, timer=_TIMEOUT_TIMER[self.kind]))

    def absorb(self) -> None:
        """Drop the input on purpose (the RFC figures' "-"): it is a retransmission."""
        if self._host.logs_steps():
            logger.debug("tx %s: retransmission absorbed in %s", self.id, self.state.value)
        self._host.absorbed(self)

    def terminate(self) -> None:
        """§17.1.1.2 and friends: "it MUST be destroyed immediately"."""
        self._host.retire(self)


_TIMEOUT_TIMER: Final[dict[TxKind, Literal["B", "F", "H"]]] = {
    TxKind.INVITE_CLIENT: "B",
    TxKind.NON_INVITE_CLIENT: "F",
    TxKind.INVITE_SERVER: "H",
    TxKind.NON_INVITE_SERVER: "H",  # never fired: the non-INVITE server machine has no timeout
}


class ClientTransaction(Transaction):
    """A client transaction (§17.1): sends a request, passes its responses up."""

    __slots__ = ("ack", "data", "request", "response")

    machine: "Machine[ClientTransaction]"

    def __init__(
        self,
        host: TransactionHost,
        tx_id: TxId,
        request: Request,
        data: bytes,
        destination: Address,
        reliable: bool,
    ) -> None:
        super().__init__(host, tx_id, destination, reliable)
        self.machine = INVITE_CLIENT if request.method == "INVITE" else NON_INVITE_CLIENT
        self.state = self.machine.initial
        self.request = request
        #: The request as sent, for retransmission.
        self.data = data
        #: The ACK sent for a 300-699 response (§17.1.1.3), for retransmission.
        self.ack: bytes | None = None
        #: The response being handled.
        self.response: Response | None = None

    def start(self) -> None:
        """Run the machine's first step: the request from the TU is sent."""
        for action in self.machine.start:
            action(self)

    def receive_response(self, response: Response) -> None:
        """Handle a response matched to this transaction (§17.1.3)."""
        status = response.status
        if status < 200:
            event = TxInput.RESPONSE_1XX
        elif status < 300:
            event = TxInput.RESPONSE_2XX
        else:
            event = TxInput.RESPONSE_3XX_6XX
        row = self._row(event)
        if row is not None:
            self.response = response
            self._apply(row)

    # --- actions ------------------------------------------------------------------------

    def send_request(self) -> None:
        """Pass the request to the transport (§17.1.1.2, §17.1.2.2)."""
        self._host.transmit(self.data, self.destination, False)

    def retransmit_request(self) -> None:
        """Retransmit the request on Timer A or E."""
        self._host.transmit(self.data, self.destination, True)

    def arm_timer_a(self) -> None:
        """§17.1.1.2: "If an unreliable transport is being used, the client transaction MUST
        start timer A with a value of T1"."""
        if not self.reliable:
            self.interval = self._host.timers.timer_a
            self._host.arm(self, TxInput.TIMER_A, self.interval)

    def double_timer_a(self) -> None:
        """§17.1.1.2: on Timer A, reset it "with a value of 2*T1", then 4*T1, ... (no cap)."""
        self.interval *= 2
        self._host.arm(self, TxInput.TIMER_A, self.interval)

    def arm_timer_b(self) -> None:
        """§17.1.1.2: Timer B, 64*T1, bounds the Calling state."""
        self._host.arm(self, TxInput.TIMER_B, self._host.timers.timer_b)

    def arm_timer_d(self) -> None:
        """§17.1.1.2: Timer D absorbs retransmitted final responses (0 if reliable)."""
        self._host.arm(self, TxInput.TIMER_D, self._host.timers.timer_d(self.reliable))

    def arm_timer_e(self) -> None:
        """§17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set
        timer E to fire in T1 seconds"."""
        if not self.reliable:
            self.interval = self._host.timers.timer_e
            self._host.arm(self, TxInput.TIMER_E, self.interval)

    def backoff_timer_e(self) -> None:
        """§17.1.2.2 (Trying): reset Timer E to MIN(2*interval, T2)."""
        self.interval = self._host.timers.backoff(self.interval)
        self._host.arm(self, TxInput.TIMER_E, self.interval)

    def reset_timer_e_to_t2(self) -> None:
        """§17.1.2.2 (Proceeding): "Timer E MUST be reset with a value of T2 seconds"."""
        self.interval = self._host.timers.t2
        self._host.arm(self, TxInput.TIMER_E, self.interval)

    def arm_timer_f(self) -> None:
        """§17.1.2.2: Timer F, 64*T1, bounds the whole transaction."""
        self._host.arm(self, TxInput.TIMER_F, self._host.timers.timer_f)

    def arm_timer_k(self) -> None:
        """§17.1.2.2: Timer K absorbs retransmitted final responses (0 if reliable)."""
        self._host.arm(self, TxInput.TIMER_K, self._host.timers.timer_k(self.reliable))

    def arm_timer_m(self) -> None:
        """RFC 6026 §8.4: Timer M, 64*T1, keeps the Accepted state for 2xx retransmissions."""
        self._host.arm(self, TxInput.TIMER_M, self._host.timers.timer_m)

    def pass_up(self) -> None:
        """Pass the response to the TU."""
        assert self.response is not None
        self._host.emit(ResponseReceived(tx_id=self.id, response=self.response))

    def send_ack(self) -> None:
        """§17.1.1.3: the client transaction acknowledges a 300-699 response itself."""
        assert self.response is not None
        self.ack = build_ack(self.request, self.response)
        self._host.transmit(self.ack, self.destination, False)

    def resend_ack(self) -> None:
        """§17.1.1.2 (Completed): "Any retransmissions of the final response that are received
        while in the Completed state MUST cause the ACK to be re-passed to the transport"."""
        assert self.ack is not None
        self._host.transmit(self.ack, self.destination, True)


class ServerTransaction(Transaction):
    """A server transaction (§17.2): passes a request up, sends the TU's responses.

    ``tu_visible`` is false for the transactions the endpoint answers itself (a rejected request,
    a CANCEL): they never reach the TU and are retired silently.
    """

    __slots__ = ("_head", "_parts", "ack", "last_response", "outgoing", "request", "rfc2543",
                 "source", "to_tag", "tu_visible")  # fmt: skip

    machine: "Machine[ServerTransaction]"

    def __init__(
        self,
        host: TransactionHost,
        tx_id: TxId,
        request: Request,
        source: Address,
        destination: Address,
        reliable: bool,
        to_tag: str | None,
        *,
        tu_visible: bool = True,
    ) -> None:
        super().__init__(host, tx_id, destination, reliable)
        self.machine = INVITE_SERVER if request.method == "INVITE" else NON_INVITE_SERVER
        self.state = self.machine.initial
        #: The request; ``None`` once an INVITE transaction has sent a non-2xx final response
        #: (``release_request``).
        self.request: Request | None = request
        #: Matched by the RFC 2543 rules (§17.2.3), which read the request: it keeps it.
        self.rfc2543 = False
        self.source = source
        self.tu_visible = tu_visible
        #: The To tag of our responses (§8.2.6.2); the request's own if it had one.
        self.to_tag = to_tag
        #: The most recent response sent, for retransmission (§17.2.1, §17.2.2).
        self.last_response: bytes | None = None
        #: The TU's response being handled.
        self.outgoing = b""
        #: An ACK that matched this transaction, being handled.
        self.ack: Request | None = None
        self._head: str | None = None
        # The copied fields as the text before and after where a To tag goes (§8.2.6.2).
        self._parts: tuple[str, str] | None = None

    @property
    def local_tag(self) -> str:
        """The To tag our responses carry, made on first use (§8.2.6.2, §19.3)."""
        tag = self.to_tag
        if tag is None:
            tag = self.to_tag = self._host.new_tag()
        return tag

    def start(self) -> None:
        """Run the machine's first step: the request is passed to the TU."""
        for action in self.machine.start:
            action(self)

    def receive_request(self, request: Request) -> None:
        """Handle a retransmitted request, or an ACK, matched to this transaction (§17.2.3)."""
        if request.method == "ACK":
            self.receive_ack(request)
        else:
            row = self._row(TxInput.REQUEST_RETRANSMISSION)
            if row is not None:
                self._apply(row)

    def receive_ack(self, request: Request | None = None) -> None:
        """Handle an ACK matched to this transaction (§17.2.3). ``None``: the endpoint matched
        it from its octets without parsing it, which it does only in the Completed and Confirmed
        states, where the ACK (for our non-2xx response) is absorbed and nothing reads it."""
        row = self._row(TxInput.ACK)
        if row is not None:
            self.ack = request
            self._apply(row)
            self.ack = None  # handled: a Confirmed transaction need not keep it alive

    def respond(self, data: bytes, status: int) -> None:
        """Send a response from the TU: ``data`` is the serialized response with ``status``.

        Raises:
            LocalProtocolError: the transaction cannot send such a response in its state (a
                second final response, a provisional after the final one, §17.2.1, §17.2.2).
        """
        if status < 200:
            event = TxInput.TU_1XX
        elif status < 300:
            event = TxInput.TU_2XX
        else:
            event = TxInput.TU_3XX_6XX
        row = self._row(event)
        assert row is not None  # a TU input without a row raised
        self.outgoing = data
        self._apply(row)

    def response_bytes(
        self,
        status: int,
        reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
    ) -> bytes:
        """The response to this transaction's request, assembled as octets (§8.2.6).

        Via (every value, in order), From, To, Call-ID and CSeq are copied from the request
        (§8.2.6.2); To gets ``local_tag`` unless the status is 100 (which may go without one),
        and a 100 copies Timestamp (§8.2.6.1). ``headers`` follow, then Content-Length.

        Raises:
            ValueError: an extra header is not a well-formed field (``check_field``).
            LocalProtocolError: the transaction has sent a non-2xx final response (Completed,
                Confirmed): it sends no more, and has let go of the request (``release_request``).
        """
        request = self.request
        if request is None:
            raise LocalProtocolError(f"{self!r} sends no more responses: it let go of them")
        phrase = reason_phrase(status) if reason is None else reason
        if status == 100:
            head = self._copied_fields(request, tag=False)
            timestamp = request.headers.get("timestamp")
            if timestamp is not None:
                head += f"Timestamp: {timestamp}\r\n"
        elif self._head is not None:
            head = self._head
        else:
            head = self._head = self._copied_fields(request, tag=True)
        start = f"SIP/2.0 {status} {phrase}\r\n"
        if headers:
            parts = [start, head]
            for name, value in headers:
                check_field(name, value)
                parts.append(f"{name}: {value}\r\n")
            start, head = "", "".join(parts)
        text = f"{start}{head}Content-Length: {len(body)}\r\n\r\n"
        return text.encode("utf-8", "surrogateescape") + body

    def _copied_fields(self, request: Request, *, tag: bool) -> str:
        parts = self._parts
        if parts is None:
            headers = request.headers
            vias = "".join([f"Via: {via}\r\n" for via in headers.get_all("via")])
            parts = self._parts = (
                f"{vias}From: {headers.get('from')}\r\nTo: {headers.get('to')}",
                f"\r\nCall-ID: {headers.get('call-id')}\r\nCSeq: {headers.get('cseq')}\r\n",
            )
        before_tag, after_tag = parts
        if tag and request.to.tag is None:
            return f"{before_tag};tag={self.local_tag}{after_tag}"
        return before_tag + after_tag

    # --- actions ------------------------------------------------------------------------

    def pass_up(self) -> None:
        """Pass the request to the TU (§17.2.1, §17.2.2)."""
        assert self.request is not None  # the first action: nothing has released it
        self._host.emit(RequestReceived(tx_id=self.id, request=self.request, source=self.source))

    def pass_up_ack(self) -> None:
        """RFC 6026 Figure 7 (Accepted): "ACK / to TU"."""
        assert self.ack is not None
        self._host.emit(AckReceived(request=self.ack, source=self.source, tx_id=self.id))

    def arm_timer_trying(self) -> None:
        """§17.2.1: "The server transaction MUST generate a 100 (Trying) response unless it
        knows that the TU will generate a provisional or final response within 200 ms".

        The endpoint's ``trying_delay`` chooses: 0.2 (the rule, by a timer), 0 (at once), or
        ``None`` (never: the TU promises to answer within 200 ms).
        """
        delay = self._host.trying_delay
        if delay is None:
            return
        if delay <= 0:
            self.send_trying()
        else:
            self._host.arm(self, TxInput.TIMER_TRYING, delay)

    def send_trying(self) -> None:
        """Send 100 Trying; it is the last provisional response from then on (§17.2.1)."""
        self.last_response = self.response_bytes(100)
        self._host.transmit(self.last_response, self.destination, False)

    def send_response(self) -> None:
        """Pass the TU's response to the transport; it is now the one to retransmit."""
        self.last_response = self.outgoing
        self._host.transmit(self.outgoing, self.destination, False)

    def discard(self) -> None:
        """Drop the TU's response on purpose (§17.2.2: a second final response)."""
        logger.debug("tx %s: response from TU discarded in %s", self.id, self.state.value)

    def resend_response(self) -> None:
        """§17.2.1, §17.2.2: a retransmitted request gets the most recent response again (or
        nothing, before the first one)."""
        if self.last_response is None:
            self.absorb()
        else:
            self._host.transmit(self.last_response, self.destination, True)

    def arm_timer_g(self) -> None:
        """§17.2.1: "For unreliable transports, an INVITE server transaction MUST start timer G
        (retransmission of the final response) with T1"."""
        if not self.reliable:
            self.interval = self._host.timers.timer_g
            self._host.arm(self, TxInput.TIMER_G, self.interval)

    def retransmit_response(self) -> None:
        """§17.2.1 (Completed): on Timer G retransmit the final response, reset G to
        MIN(2*interval, T2)."""
        assert self.last_response is not None
        self._host.transmit(self.last_response, self.destination, True)
        self.interval = self._host.timers.backoff(self.interval)
        self._host.arm(self, TxInput.TIMER_G, self.interval)

    def arm_timer_h(self) -> None:
        """§17.2.1: Timer H, 64*T1, bounds the wait for the ACK (any transport)."""
        self._host.arm(self, TxInput.TIMER_H, self._host.timers.timer_h)

    def arm_timer_i(self) -> None:
        """§17.2.1: Timer I absorbs retransmitted ACKs (0 if reliable)."""
        self._host.arm(self, TxInput.TIMER_I, self._host.timers.timer_i(self.reliable))

    def release_request(self) -> None:
        """Completed, after a non-2xx final response (§17.2.1): what is left is resending that
        response (Timer G, a retransmitted INVITE) until the ACK, matched by branch (§17.2.3),
        so the request and what built responses go now rather than at the ACK: a caller that
        never acknowledges no longer keeps a parsed INVITE alive for Timer H (6.5 against 2.1
        KB a transaction; docs/sip.md). Matched by the RFC 2543 rules, it keeps the request
        they read, without its typed views (a cache, made again on demand)."""
        self._head = self._parts = None
        self.outgoing = b""
        if self.rfc2543:
            assert self.request is not None  # the RFC 2543 rules keep it to the end
            self.request.headers.views.clear()
        else:
            self.request = None

    def release(self) -> None:
        """Confirmed: only absorbing is left until Timer I (§17.2.1, T4 = 5 s), so the response
        goes too (and the request, if still held): at 9,000 calls/s, 45,000 transactions and
        166 MB less memory."""
        self.release_request()
        self.last_response = None

    def arm_timer_j(self) -> None:
        """§17.2.2: Timer J absorbs retransmitted requests (0 if reliable)."""
        self._host.arm(self, TxInput.TIMER_J, self._host.timers.timer_j(self.reliable))

    def arm_timer_l(self) -> None:
        """RFC 6026 §8.7: Timer L, 64*T1, keeps the Accepted state to absorb INVITEs."""
        self._host.arm(self, TxInput.TIMER_L, self._host.timers.timer_l)


# --- the tables -----------------------------------------------------------------------------

S = TxState
I = TxInput  # noqa: E741
C = ClientTransaction
V = ServerTransaction

#: RFC 3261 §17.1.1.2 Figure 5, as amended by RFC 6026 Figure 5.
INVITE_CLIENT: Final[Machine[ClientTransaction]] = Machine(
    kind=TxKind.INVITE_CLIENT,
    rfc="RFC 3261 §17.1.1, RFC 6026 §7.2",
    initial=S.CALLING,
    start=(C.send_request, C.arm_timer_a, C.arm_timer_b),
    table={
        (S.CALLING, I.TIMER_A): (S.CALLING, (C.retransmit_request, C.double_timer_a)),
        (S.CALLING, I.TIMER_B): (S.TERMINATED, (C.inform_timeout, C.terminate)),
        (S.CALLING, I.TRANSPORT_ERROR): (S.TERMINATED, (C.inform_transport_error, C.terminate)),
        (S.CALLING, I.RESPONSE_1XX): (S.PROCEEDING, (C.cancel_timers, C.pass_up)),
        (S.CALLING, I.RESPONSE_2XX): (S.ACCEPTED, (C.cancel_timers, C.pass_up, C.arm_timer_m)),
        (S.CALLING, I.RESPONSE_3XX_6XX): (
            S.COMPLETED,
            (C.cancel_timers, C.send_ack, C.pass_up, C.arm_timer_d),
        ),
        (S.PROCEEDING, I.RESPONSE_1XX): (S.PROCEEDING, (C.pass_up,)),
        (S.PROCEEDING, I.RESPONSE_2XX): (S.ACCEPTED, (C.pass_up, C.arm_timer_m)),
        (S.PROCEEDING, I.RESPONSE_3XX_6XX): (S.COMPLETED, (C.send_ack, C.pass_up, C.arm_timer_d)),
        (S.COMPLETED, I.RESPONSE_3XX_6XX): (S.COMPLETED, (C.resend_ack,)),
        (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, (C.inform_transport_error, C.terminate)),
        (S.COMPLETED, I.TIMER_D): (S.TERMINATED, (C.terminate,)),
        # RFC 6026 §8.4: retransmitted 2xx responses go to the TU, which ACKs each one.
        (S.ACCEPTED, I.RESPONSE_2XX): (S.ACCEPTED, (C.pass_up,)),
        (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, (C.terminate,)),
    },
)

#: RFC 3261 §17.1.2.2 Figure 6.
NON_INVITE_CLIENT: Final[Machine[ClientTransaction]] = Machine(
    kind=TxKind.NON_INVITE_CLIENT,
    rfc="RFC 3261 §17.1.2",
    initial=S.TRYING,
    start=(C.send_request, C.arm_timer_e, C.arm_timer_f),
    table={
        (S.TRYING, I.TIMER_E): (S.TRYING, (C.retransmit_request, C.backoff_timer_e)),
        (S.TRYING, I.TIMER_F): (S.TERMINATED, (C.inform_timeout, C.terminate)),
        (S.TRYING, I.TRANSPORT_ERROR): (S.TERMINATED, (C.inform_transport_error, C.terminate)),
        (S.TRYING, I.RESPONSE_1XX): (S.PROCEEDING, (C.pass_up,)),
        (S.TRYING, I.RESPONSE_2XX): (S.COMPLETED, (C.cancel_timers, C.pass_up, C.arm_timer_k)),
        (S.TRYING, I.RESPONSE_3XX_6XX): (
            S.COMPLETED,
            (C.cancel_timers, C.pass_up, C.arm_timer_k),
        ),
        (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, (C.retransmit_request, C.reset_timer_e_to_t2)),
        (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, (C.inform_timeout, C.terminate)),
        (S.PROCEEDING, I.TRANSPORT_ERROR): (
            S.TERMINATED,
            (C.inform_transport_error, C.terminate),
        ),
        (S.PROCEEDING, I.RESPONSE_1XX): (S.PROCEEDING, (C.pass_up,)),
        (S.PROCEEDING, I.RESPONSE_2XX): (
            S.COMPLETED,
            (C.cancel_timers, C.pass_up, C.arm_timer_k),
        ),
        (S.PROCEEDING, I.RESPONSE_3XX_6XX): (
            S.COMPLETED,
            (C.cancel_timers, C.pass_up, C.arm_timer_k),
        ),
        # §17.1.2.2: retransmitted final responses are absorbed in Completed.
        (S.COMPLETED, I.RESPONSE_2XX): (S.COMPLETED, (C.absorb,)),
        (S.COMPLETED, I.RESPONSE_3XX_6XX): (S.COMPLETED, (C.absorb,)),
        (S.COMPLETED, I.TIMER_K): (S.TERMINATED, (C.terminate,)),
    },
)

#: RFC 3261 §17.2.1 Figure 7, as replaced by RFC 6026 Figure 7.
INVITE_SERVER: Final[Machine[ServerTransaction]] = Machine(
    kind=TxKind.INVITE_SERVER,
    rfc="RFC 3261 §17.2.1, RFC 6026 §7.1",
    initial=S.PROCEEDING,
    start=(V.pass_up, V.arm_timer_trying),
    table={
        (S.PROCEEDING, I.TIMER_TRYING): (S.PROCEEDING, (V.send_trying,)),
        (S.PROCEEDING, I.REQUEST_RETRANSMISSION): (S.PROCEEDING, (V.resend_response,)),
        (S.PROCEEDING, I.TU_1XX): (S.PROCEEDING, (V.cancel_timers, V.send_response)),
        (S.PROCEEDING, I.TU_2XX): (S.ACCEPTED, (V.cancel_timers, V.send_response, V.arm_timer_l)),
        (S.PROCEEDING, I.TU_3XX_6XX): (
            S.COMPLETED,
            (V.cancel_timers, V.send_response, V.arm_timer_g, V.arm_timer_h, V.release_request),
        ),
        (S.PROCEEDING, I.TRANSPORT_ERROR): (S.PROCEEDING, (V.inform_transport_error,)),
        (S.COMPLETED, I.REQUEST_RETRANSMISSION): (S.COMPLETED, (V.resend_response,)),
        (S.COMPLETED, I.TIMER_G): (S.COMPLETED, (V.retransmit_response,)),
        (S.COMPLETED, I.ACK): (
            S.CONFIRMED,
            (V.cancel_timers, V.absorb, V.arm_timer_i, V.release),
        ),
        (S.COMPLETED, I.TIMER_H): (S.TERMINATED, (V.inform_timeout, V.terminate)),
        (S.COMPLETED, I.TRANSPORT_ERROR): (S.COMPLETED, (V.inform_transport_error,)),
        # §17.2.1: "any ACK or INVITE retransmissions are absorbed" in Confirmed.
        (S.CONFIRMED, I.ACK): (S.CONFIRMED, (V.absorb,)),
        (S.CONFIRMED, I.REQUEST_RETRANSMISSION): (S.CONFIRMED, (V.absorb,)),
        (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, (V.terminate,)),
        # RFC 6026 §8.7: INVITEs are absorbed, ACKs and the TU's 2xx retransmissions pass.
        (S.ACCEPTED, I.REQUEST_RETRANSMISSION): (S.ACCEPTED, (V.absorb,)),
        (S.ACCEPTED, I.ACK): (S.ACCEPTED, (V.pass_up_ack,)),
        (S.ACCEPTED, I.TU_2XX): (S.ACCEPTED, (V.send_response,)),
        (S.ACCEPTED, I.TRANSPORT_ERROR): (S.ACCEPTED, (V.inform_transport_error,)),
        (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, (V.terminate,)),
    },
)

#: RFC 3261 §17.2.2 Figure 8.
NON_INVITE_SERVER: Final[Machine[ServerTransaction]] = Machine(
    kind=TxKind.NON_INVITE_SERVER,
    rfc="RFC 3261 §17.2.2",
    initial=S.TRYING,
    start=(V.pass_up,),
    table={
        # §17.2.2: "any further request retransmissions are discarded" in Trying.
        (S.TRYING, I.REQUEST_RETRANSMISSION): (S.TRYING, (V.absorb,)),
        (S.TRYING, I.TU_1XX): (S.PROCEEDING, (V.send_response,)),
        (S.TRYING, I.TU_2XX): (S.COMPLETED, (V.send_response, V.arm_timer_j)),
        (S.TRYING, I.TU_3XX_6XX): (S.COMPLETED, (V.send_response, V.arm_timer_j)),
        (S.PROCEEDING, I.REQUEST_RETRANSMISSION): (S.PROCEEDING, (V.resend_response,)),
        (S.PROCEEDING, I.TU_1XX): (S.PROCEEDING, (V.send_response,)),
        (S.PROCEEDING, I.TU_2XX): (S.COMPLETED, (V.send_response, V.arm_timer_j)),
        (S.PROCEEDING, I.TU_3XX_6XX): (S.COMPLETED, (V.send_response, V.arm_timer_j)),
        (S.PROCEEDING, I.TRANSPORT_ERROR): (
            S.TERMINATED,
            (V.inform_transport_error, V.terminate),
        ),
        (S.COMPLETED, I.REQUEST_RETRANSMISSION): (S.COMPLETED, (V.resend_response,)),
        # §17.2.2: "Any other final responses passed by the TU to the server transaction MUST
        # be discarded while in the Completed state."
        (S.COMPLETED, I.TU_2XX): (S.COMPLETED, (V.discard,)),
        (S.COMPLETED, I.TU_3XX_6XX): (S.COMPLETED, (V.discard,)),
        (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, (V.inform_transport_error, V.terminate)),
        (S.COMPLETED, I.TIMER_J): (S.TERMINATED, (V.terminate,)),
    },
)

#: The four machines, in the order of §17.
MACHINES: Final[tuple[Machine[ClientTransaction] | Machine[ServerTransaction], ...]] = (
    INVITE_CLIENT,
    NON_INVITE_CLIENT,
    INVITE_SERVER,
    NON_INVITE_SERVER,
)

del S, I, C, V
