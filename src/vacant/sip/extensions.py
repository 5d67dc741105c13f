"""Fields of the SIP extensions an announcement call uses, parsed on demand.

- Session timers (RFC 4028): ``Session-Expires`` (§4: ``delta-seconds *(;se-params)``, with
  ``refresher=uac|uas``) and ``Min-SE`` (§5: ``delta-seconds *(;generic-param)``).
- Option tags of ``Supported`` / ``Require`` (RFC 3261 §20.37, §20.32), compared case-insensitively.
- ``Event`` (RFC 6665 §8.2.1): the event package and its ``id`` parameter; a REFER's implicit
  subscription is ``refer`` with ``id`` = the REFER's CSeq number (RFC 3515 §2.4.6).
- ``Subscription-State`` (RFC 6665 §8.2.3): the state, ``active``, ``pending`` or ``terminated``.
- The status line of a ``message/sipfrag`` body (RFC 3420 §2; RFC 3515 §2.4.5: the NOTIFYs of a
  REFER carry the status line of the referred request's responses).

Every parser raises ``ParseError`` (status hint 400) on a value that breaks its grammar, and
bounds what it reads.
"""

from dataclasses import dataclass
from typing import Final, Literal

from vacant.errors import ParseError
from vacant.sip import grammar
from vacant.sip.fields import parse_params
from vacant.sip.message import Message

#: RFC 4028 §4: delta-seconds is 1*DIGIT; we read at most 10 digits (2**32 - 1 fits).
_MAX_DIGITS: Final = 10
#: RFC 3420 §2: what we read of a sipfrag body to find its start line.
_MAX_SIPFRAG: Final = 1024

Refresher = Literal["uac", "uas"]


def _delta_seconds(text: str, what: str) -> int:
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        raise ParseError(f"{what}: delta-seconds must be 1 to {_MAX_DIGITS} digits: {text!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class SessionExpires:
    """RFC 4028 §4: the session interval in seconds and who refreshes (``None``: not said)."""

    interval: int
    refresher: Refresher | None = None

    @classmethod
    def parse(cls, text: str) -> "SessionExpires":
        """Parse a Session-Expires value.

        Raises:
            ParseError: not ``delta-seconds *(;se-params)``, or a refresher other than
                ``uac``/``uas`` (§4: ``refresher-param = "refresher" EQUAL ("uas" / "uac")``).
        """
        head, semi, rest = text.strip(grammar.WSP).partition(";")
        interval = _delta_seconds(head.strip(grammar.WSP), "Session-Expires")
        params = parse_params(";" + rest) if semi else parse_params("")
        refresher: Refresher | None = None
        value = params.get("refresher")
        if value is not None:
            match value.lower():
                case "uac":
                    refresher = "uac"
                case "uas":
                    refresher = "uas"
                case _:
                    raise ParseError(f"Session-Expires: refresher must be uac or uas: {value!r}")
        return cls(interval, refresher)

    def __str__(self) -> str:
        if self.refresher is None:
            return str(self.interval)
        return f"{self.interval};refresher={self.refresher}"


def parse_min_se(text: str) -> int:
    """RFC 4028 §5: the Min-SE value in seconds (its generic parameters are ignored).

    Raises:
        ParseError: not ``delta-seconds *(;generic-param)``.
    """
    return _delta_seconds(text.partition(";")[0].strip(grammar.WSP), "Min-SE")


def option_tags(message: Message, name: str) -> frozenset[str]:
    """The option tags of every ``name`` field (Supported, Require), lower-cased (§7.3.1,
    §20.37: option tags compare case-insensitively); ``k`` is Supported's compact form.

    Raises:
        ParseError: the list is malformed (an unterminated quote).
    """
    return frozenset(tag.lower() for tag in message.headers.values(name) if tag)


@dataclass(frozen=True, slots=True)
class EventHeader:
    """RFC 6665 §8.2.1: ``Event: package[.template] *(;param)``; ``id`` is the ``id`` param."""

    package: str
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> "EventHeader":
        """Parse an Event value; the package name is lower-cased (§8.2.1: tokens compare
        case-insensitively).

        Raises:
            ParseError: the event type is not a token.
        """
        head, semi, rest = text.strip(grammar.WSP).partition(";")
        package = head.strip(grammar.WSP)
        if not grammar.is_token(package):
            raise ParseError(f"Event: the event type must be a token: {package!r}")
        params = parse_params(";" + rest) if semi else parse_params("")
        return cls(package.lower(), params.get("id"))


def subscription_state(text: str) -> str:
    """RFC 6665 §8.2.3: the substate of a Subscription-State value, lower-cased.

    Raises:
        ParseError: the substate is not a token.
    """
    state = text.partition(";")[0].strip(grammar.WSP)
    if not grammar.is_token(state):
        raise ParseError(f"Subscription-State: the state must be a token: {state!r}")
    return state.lower()


def sipfrag_status(body: bytes) -> int:
    """The status code of a ``message/sipfrag`` body whose start line is a status line
    (RFC 3420 §2; RFC 3515 §2.4.5), e.g. ``SIP/2.0 200 OK`` → 200.

    Raises:
        ParseError: the body does not start with ``SIP/2.0 3DIGIT`` (100..699).
    """
    line = body[:_MAX_SIPFRAG].split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    version, _, rest = line.partition(" ")
    code = rest.partition(" ")[0]
    if version.upper() != "SIP/2.0" or len(code) != 3 or not code.isdigit():
        raise ParseError(f"message/sipfrag: not a status line: {line[:80]!r}")
    status = int(code)
    if not 100 <= status <= 699:
        raise ParseError(f"message/sipfrag: status {status} outside 100..699")
    return status
