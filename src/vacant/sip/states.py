"""The vocabulary of the transaction machines (RFC 3261 §17, RFC 6026): their states, the inputs
they react to, named as in the RFC's figures, and which of the four machines a transaction runs.

``vacant.sip.transaction`` builds the machines' tables from these; the endpoint and the state
diagrams (``scripts/state_diagrams.py``) name states, inputs and timers by them.
"""

from enum import Enum
from typing import Final


class TxState(Enum):
    """Transaction states (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2; RFC 6026 Accepted)."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"

    # Members are singletons compared by identity: hash them the same way, in C (Enum's own
    # __hash__ is Python code, and these are dict keys on every transaction step).
    __hash__ = object.__hash__


class TxInput(Enum):
    """What a transaction reacts to, named as in the RFC's figures."""

    REQUEST = "request"  # the request that creates the transaction
    REQUEST_RETRANSMISSION = "request retransmission"
    ACK = "ACK"
    RESPONSE_1XX = "1xx"
    RESPONSE_2XX = "2xx"
    RESPONSE_3XX_6XX = "300-699"
    TU_1XX = "1xx from TU"
    TU_2XX = "2xx from TU"
    TU_3XX_6XX = "300-699 from TU"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_C = "Timer C"  # proxies only (§16.6); no UA table uses it
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"
    TIMER_TRYING = "200 ms"  # §17.2.1: "send 100 if TU won't in 200 ms"
    TRANSPORT_ERROR = "transport error"

    __hash__ = object.__hash__  # as TxState's


#: Inputs that come from our own TU: a missing row for one of these is our bug.
TU_INPUTS: Final = frozenset({TxInput.REQUEST, TxInput.TU_1XX, TxInput.TU_2XX, TxInput.TU_3XX_6XX})


class TxKind(Enum):
    """The four machines of §17."""

    INVITE_CLIENT = "INVITE client"
    NON_INVITE_CLIENT = "non-INVITE client"
    INVITE_SERVER = "INVITE server"
    NON_INVITE_SERVER = "non-INVITE server"

    __hash__ = object.__hash__  # as TxState's
