"""What crosses the boundary of ``SipEndpoint``: transport addresses in, events out.

The endpoint's outputs are pulled (``next_event()``); the service dispatches on them with
``match`` and ends every match in ``assert_never``::

    match event:
        case RequestReceived(): ...
        case AckReceived(): ...
        ...
        case _:
            assert_never(event)

Events are immutable, slotted values (``Final`` fields, built by their ``__init__``: see
"Compiled build" in docs/sip.md). A transaction id (``TxId``) names the transaction an event
belongs to; it is the handle ``SipEndpoint.respond`` and ``SipEndpoint.reply`` take.
"""

from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, NewType

from vacant.sip.message import Request, Response

#: Identifies one transaction for the life of an endpoint (never reused).
TxId = NewType("TxId", int)

#: The transports an ``Address`` can name; "tcp" and "tls" are reliable (RFC 3261 §18).
Transport = Literal["udp", "tcp", "tls"]


class Address(NamedTuple):
    """Where a message came from or goes to: host (an IP literal, IPv6 unbracketed), port and
    transport. For "tcp" and "tls" it names the connection: the adapter sends a response back on
    the connection the request arrived on (RFC 3261 §18.2.2)."""

    host: str
    port: int
    transport: Transport = "udp"

    @property
    def reliable(self) -> bool:
        """Whether the transport is reliable (timers D, I, J, K are zero, Table 4)."""
        return self.transport != "udp"


@dataclass(slots=True, init=False, unsafe_hash=True)
class RequestReceived:
    """A new request for the TU, in a new server transaction (§17.2): answer it with
    ``respond``/``reply``. An INVITE gets its 100 Trying from the endpoint unless the TU answers
    within 200 ms (§17.2.1)."""

    tx_id: Final[TxId]
    request: Final[Request]
    source: Final[Address]

    def __init__(self, *, tx_id: TxId, request: Request, source: Address) -> None:
        self.tx_id = tx_id
        self.request = request
        self.source = source


@dataclass(slots=True, init=False, unsafe_hash=True)
class AckReceived:
    """An ACK for a 2xx: a transaction of its own (§17), or (RFC 6026 §7.1) one that matched an
    INVITE server transaction in the Accepted state, whose id is then ``tx_id``."""

    request: Final[Request]
    source: Final[Address]
    tx_id: Final[TxId | None]

    def __init__(self, *, request: Request, source: Address, tx_id: TxId | None = None) -> None:
        self.request = request
        self.source = source
        self.tx_id = tx_id


@dataclass(slots=True, init=False, unsafe_hash=True)
class CancelReceived:
    """A CANCEL matched the INVITE server transaction ``invite_tx_id``, which has not sent a
    final response yet. The endpoint has answered the CANCEL with 200; the TU should now answer
    the INVITE with 487 (§9.2)."""

    invite_tx_id: Final[TxId]
    request: Final[Request]
    source: Final[Address]

    def __init__(self, *, invite_tx_id: TxId, request: Request, source: Address) -> None:
        self.invite_tx_id = invite_tx_id
        self.request = request
        self.source = source


@dataclass(slots=True, init=False, unsafe_hash=True)
class ResponseReceived:
    """A response to a request sent with ``send_request`` (§17.1.1.2, §17.1.2.2)."""

    tx_id: Final[TxId]
    response: Final[Response]

    def __init__(self, *, tx_id: TxId, response: Response) -> None:
        self.tx_id = tx_id
        self.response = response


@dataclass(slots=True, init=False, unsafe_hash=True)
class TransactionTimedOut:
    """Timer B or F fired on a client transaction (the service treats it as a 408, §8.1.3.1),
    or "H": the ACK never came, for a non-2xx (Timer H, §17.2.1) or for a 2xx the endpoint
    retransmitted for 64*T1 (§13.3.1.4: the TU should end that session with BYE)."""

    tx_id: Final[TxId]
    timer: Final[Literal["B", "F", "H"]]

    def __init__(self, *, tx_id: TxId, timer: Literal["B", "F", "H"]) -> None:
        self.tx_id = tx_id
        self.timer = timer


@dataclass(slots=True, init=False, unsafe_hash=True)
class TransportFailed:
    """Sending a message of the transaction failed (§17.1.4, §17.2.4)."""

    tx_id: Final[TxId]

    def __init__(self, *, tx_id: TxId) -> None:
        self.tx_id = tx_id


@dataclass(slots=True, init=False, unsafe_hash=True)
class TransactionTerminated:
    """A transaction the TU knows about reached the Terminated state and was forgotten."""

    tx_id: Final[TxId]

    def __init__(self, *, tx_id: TxId) -> None:
        self.tx_id = tx_id


Event = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransportFailed
    | TransactionTerminated
)
