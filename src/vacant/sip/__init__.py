"""vacant.sip: the sans-I/O SIP message layer (RFC 3261 §7, §8.2, §18.3, §20, §25).

Parse a datagram or a stream frame with ``parse_message``, check a request with
``validate_request``, answer it with ``make_response``; cut a TCP/TLS stream into frames with
``StreamFramer``. Nothing here does I/O, reads a clock or uses module-level randomness.

``COMPILED`` tells whether this package runs as C extensions built by mypyc from the same source
(``VACANT_COMPILE=1``, setup.py; docs/sip.md "Compiled build") or as Python.
"""

from vacant.errors import LocalProtocolError
from vacant.sip.dialog import Dialog, DialogId, Dialogs
from vacant.sip.endpoint import SipEndpoint, Stats
from vacant.sip.events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    Transport,
    TransportFailed,
    TxId,
)
from vacant.sip.fields import (
    MAGIC_COOKIE,
    CSeq,
    NameAddr,
    Via,
    parse_call_id,
    parse_content_length,
    parse_max_forwards,
    parse_media_type,
    parse_params,
)
from vacant.sip.framing import PING, PONG, Ping, StreamFramer
from vacant.sip.headers import COMPACT_FORMS, Headers, header_key, split_commas
from vacant.sip.message import (
    DEFAULT_LIMITS,
    SIP_VERSION,
    Limits,
    Message,
    Request,
    Response,
    parse_message,
)
from vacant.sip.reply import make_response, new_tag, reply_to_unparseable
from vacant.sip.states import TxInput, TxKind, TxState
from vacant.sip.status import StatusCode, reason_phrase
from vacant.sip.timers import TimerConfig
from vacant.sip.uri import AbsoluteUri, Params, SipUri, TelUri, Uri, parse_uri
from vacant.sip.validate import (
    DEFAULT_CAPABILITIES,
    KNOWN_METHODS,
    Capabilities,
    Rejection,
    validate_request,
    validate_response,
)

#: This module is an extension module when the package was compiled (its file is not a .py).
COMPILED = not __file__.endswith(".py")

__all__ = [
    "COMPACT_FORMS",
    "COMPILED",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_LIMITS",
    "KNOWN_METHODS",
    "MAGIC_COOKIE",
    "PING",
    "PONG",
    "SIP_VERSION",
    "AbsoluteUri",
    "AckReceived",
    "Address",
    "CSeq",
    "CancelReceived",
    "Capabilities",
    "Dialog",
    "DialogId",
    "Dialogs",
    "Event",
    "Headers",
    "Limits",
    "LocalProtocolError",
    "Message",
    "NameAddr",
    "Params",
    "Ping",
    "Rejection",
    "Request",
    "RequestReceived",
    "Response",
    "ResponseReceived",
    "SipEndpoint",
    "SipUri",
    "Stats",
    "StatusCode",
    "StreamFramer",
    "TelUri",
    "TimerConfig",
    "TransactionTerminated",
    "TransactionTimedOut",
    "Transport",
    "TransportFailed",
    "TxId",
    "TxInput",
    "TxKind",
    "TxState",
    "Uri",
    "Via",
    "header_key",
    "make_response",
    "new_tag",
    "parse_call_id",
    "parse_content_length",
    "parse_max_forwards",
    "parse_media_type",
    "parse_message",
    "parse_params",
    "parse_uri",
    "reason_phrase",
    "reply_to_unparseable",
    "split_commas",
    "validate_request",
    "validate_response",
]
