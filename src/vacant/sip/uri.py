"""SIP, SIPS and tel URIs: parse, render, and the %-escaping rules of RFC 3261 §19.1 / §25.1.

Components are stored *unescaped* (``%41`` becomes ``A``; ``%00`` a NUL; octets that are not UTF-8
survive as surrogate escapes), and ``str()`` escapes exactly the characters each component's
grammar cannot carry, so ``SipUri.parse(str(uri)) == uri`` for every value. A parameter without a
value (``;lr``) has the value ``None``.

Hosts are stored without the brackets of an IPv6 reference: ``sip:[2001:db8::1]:5070`` has host
``2001:db8::1`` and port 5070, and ``str()`` puts the brackets back.
"""

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, TypeVar
from urllib.parse import quote, unquote

from vacant.errors import ParseError
from vacant.sip import grammar

# Characters each component may carry unescaped (besides ALPHA / DIGIT / "-" "." "_" "~",
# which urllib.parse.quote never escapes): unreserved's mark plus the component's extras.
_MARK: Final = "!*'()"
_USER_SAFE: Final = _MARK + "&=+$,;?/"  # user-unreserved (§25.1)
_PASSWORD_SAFE: Final = _MARK + "&=+$,"  # password (§25.1)
_PARAM_SAFE: Final = _MARK + "[]/:&+$"  # param-unreserved (§25.1, RFC 3966 §3)
_HEADER_SAFE: Final = _MARK + "[]/?:+$"  # hnv-unreserved (§25.1)
_MAX_PORT: Final = 65535


# What each safe set leaves unescaped, as a pattern: text that matches needs no quote() call.
_UNESCAPED: Final = {
    safe: re.compile(f"[A-Za-z0-9_.~{re.escape('-' + safe)}]*")
    for safe in (_USER_SAFE, _PASSWORD_SAFE, _PARAM_SAFE, _HEADER_SAFE)
}


def _escape(text: str, safe: str) -> str:
    if _UNESCAPED[safe].fullmatch(text) is not None:
        return text  # nothing to escape (urllib.parse.quote would return it unchanged)
    return quote(text, safe=safe, encoding="utf-8", errors="surrogateescape")


def _unescape(text: str) -> str:
    # Only called on text a grammar pattern accepted, so every "%" starts a valid escape.
    if "%" not in text:
        return text
    return unquote(text, encoding="utf-8", errors="surrogateescape")


def _unescape_optional(text: str | None) -> str | None:
    return None if text is None else _unescape(text)


def _fail(what: str, text: str) -> ParseError:
    return ParseError(f"invalid {what}: {text[:80]!r}")


@dataclass(slots=True, init=False, unsafe_hash=True)
class Params:
    """Ordered ``;name[=value]`` parameters; names compare case-insensitively (§7.3.1).

    Values are kept as they appear (a quoted-string keeps its quotes); ``None`` marks a parameter
    written without ``=``.
    """

    items: Final[tuple[tuple[str, str | None], ...]]

    def __init__(self, items: tuple[tuple[str, str | None], ...] = ()) -> None:
        self.items = items

    def get(self, name: str) -> str | None:
        """The value of the first parameter called ``name`` (``None`` if absent or valueless)."""
        for key, value in self.items:
            if _same_name(key, name):
                return value
        return None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        for key, _ in self.items:  # noqa: SIM110  (any() over a generator is slower)
            if _same_name(key, name):
                return True
        return False

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def replace(self, name: str, value: str | None) -> "Params":
        """A copy with ``name`` set to ``value`` (replacing every earlier occurrence in place)."""
        out: list[tuple[str, str | None]] = []
        done = False
        for key, old in self.items:
            if not _same_name(key, name):
                out.append((key, old))
            elif not done:
                out.append((key, value))
                done = True
        if not done:
            out.append((name, value))
        return Params(tuple(out))

    def remove(self, name: str) -> "Params":
        """A copy without any parameter called ``name``."""
        return Params(tuple(item for item in self.items if not _same_name(item[0], name)))


def _same_name(key: str, name: str) -> bool:
    """Whether parameter names ``key`` and ``name`` are the same, case aside (§7.3.1). The
    names asked for are written as the RFC writes them, and so are nearly all received: only
    names of the same length are lowered (a parameter looked up costs no new str). Lowering
    keeps a name's length but for one character (U+0130, which lowers to two, neither ASCII),
    so no name we ask for is missed."""
    return key == name or (len(key) == len(name) and key.lower() == name.lower())


#: Parameters of a value that has none.
EMPTY_PARAMS: Final = Params()


def parse_host(text: str) -> str:
    """Check a ``host`` (§25.1: hostname / IPv4address / IPv6reference) and return it unbracketed.

    Hosts repeat (a server hears from few peers): the last ``_HOSTS_MAX`` good ones are kept.

    Raises:
        ParseError: the text is not a host.
    """
    host = _HOSTS.get(text)
    if host is None:
        host = _parse_host(text)
        keep(_HOSTS, _HOSTS_MAX, text, host)
    return host


def _parse_host(text: str) -> str:
    if text.startswith("["):
        if not text.endswith("]") or not is_ipv6(text[1:-1]):
            raise _fail("IPv6 reference", text)
        return text[1:-1]
    if is_ipv4(text):
        return text
    if grammar.HOSTNAME.fullmatch(text) is None:
        raise _fail("host", text)
    # toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum: the last label starts with a letter,
    # which also keeps an out-of-range dotted quad such as 256.1.1.1 from passing as a name.
    top = text.rstrip(".").rpartition(".")[2]
    if not top[0].isalpha():
        raise _fail("host", text)
    return text


def is_ipv4(text: str) -> bool:
    """Whether ``text`` is an IPv4address (§25.1) with every octet at most 255."""
    return grammar.IPV4.fullmatch(text) is not None


def is_address(text: str) -> bool:
    """Whether ``text`` is an IPv4address or an IPv6address (§25.1; no brackets): what
    ``received`` holds (§18.2.1). Packets come from few addresses: the answers for the last
    ``_HOSTS_MAX`` texts are kept (matching an IPv4address costs the regex engine some 3,000
    instructions)."""
    known = _ADDRESSES.get(text)
    if known is None:
        known = is_ipv4(text) or is_ipv6(text)
        keep(_ADDRESSES, _HOSTS_MAX, text, known)
    return known


def is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6address.

    Accepts RFC 4291's forms, and also the form with three colons before an embedded IPv4 address
    (``2001:db8:::192.0.2.1``) that RFC 3261's ABNF produces: RFC 5118 §4.10 says an implementation
    must tolerate both.
    """
    if grammar.IPV6_CHARS.fullmatch(text) is None:
        return False
    head, sep, tail = text.partition(":::")
    if sep:
        if ":" in tail or "." not in tail:
            return False
        text = f"{head}::{tail}"
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def format_host(host: str) -> str:
    """``host`` as it is written in a URI or Via: IPv6 addresses get their brackets (§19.1.1)."""
    return f"[{host}]" if ":" in host else host


def parse_port(text: str) -> int:
    """A ``port`` (§25.1, 1*DIGIT) that fits in 16 bits.

    Raises:
        ParseError: not digits, or above 65535.
    """
    # str.isdigit() on ASCII text is exactly 1*DIGIT, and cheaper than grammar.DIGITS.
    if len(text) > 5 or not text.isascii() or not text.isdigit() or int(text) > _MAX_PORT:
        raise _fail("port", text)
    return int(text)


def _tel_params(text: str) -> Params:
    """RFC 3966 ``*par``: ``*( ";" pname [ "=" pvalue ] )``, escapes resolved, after a ";"."""
    items: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if grammar.TEL_PNAME.fullmatch(name) is None or (
            eq and grammar.PARAMCHARS.fullmatch(value) is None
        ):
            raise _fail("URI parameter", part)
        items.append((_unescape(name), _unescape(value) if eq else None))
    return Params(tuple(items))


def _format_params(params: Params) -> str:
    return "".join(
        f";{_escape(name, _PARAM_SAFE)}"
        if value is None
        else f";{_escape(name, _PARAM_SAFE)}={_escape(value, _PARAM_SAFE)}"
        for name, value in params
    )


@dataclass(slots=True, init=False, unsafe_hash=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI (RFC 3261 §19.1), every component unescaped.

    Its text is made once, at the first ``str()``: a URI ``parse_uri`` has seen lately is the
    same object (``_PARSED``), so a caller's From URI, or a number dialled again, is rendered
    once for every call record that names it.
    """

    scheme: Final[str]
    user: Final[str | None]
    password: Final[str | None]
    host: Final[str]
    port: Final[int | None]
    params: Final[Params]
    headers: Final[tuple[tuple[str, str], ...]]
    _text: str | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __init__(
        self,
        *,
        scheme: str = "sip",
        user: str | None = None,
        password: str | None = None,
        host: str,
        port: int | None = None,
        params: Params = EMPTY_PARAMS,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params = params
        self.headers = headers
        self._text = None

    @classmethod
    def parse(cls, text: str) -> "SipUri":
        """Parse ``SIP-URI`` / ``SIPS-URI`` (§25.1); the scheme is case-insensitive.

        Raises:
            ParseError: the text is not a SIP or SIPS URI.
        """
        scheme = text[:5].lower()
        if scheme.startswith("sip:"):
            scheme, pos = "sip", 4
        elif scheme == "sips:":
            scheme, pos = "sips", 5
        else:
            raise _fail("SIP URI", text)
        match = grammar.SIP_URI_REST.fullmatch(text, pos)
        if match is None:
            raise _fail("SIP URI", text)
        user, password, host_text, port_text, params_text, headers_text = match.groups()
        host = parse_host(host_text)
        port = parse_port(port_text) if port_text is not None else None
        params: list[tuple[str, str | None]] = []
        if params_text:
            for part in params_text.split(";")[1:]:
                name, eq, value = part.partition("=")
                params.append((name, value if eq else None))
        headers: list[tuple[str, str]] = []
        if headers_text is not None:
            for part in headers_text.split("&"):
                name, _, value = part.partition("=")
                headers.append((name, value))
        if "%" in text:
            user, password = _unescape_optional(user), _unescape_optional(password)
            params = [(_unescape(n), _unescape_optional(v)) for n, v in params]
            headers = [(_unescape(n), _unescape(v)) for n, v in headers]
        uri = SipUri(
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=port,
            params=Params(tuple(params)) if params else EMPTY_PARAMS,
            headers=tuple(headers),
        )
        return uri

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self._render()
        return text

    def _render(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(_escape(self.user, _USER_SAFE))
            if self.password is not None:
                parts += [":", _escape(self.password, _PASSWORD_SAFE)]
            parts.append("@")
        parts.append(format_host(self.host))
        if self.port is not None:
            parts.append(f":{self.port}")
        parts.append(_format_params(self.params))
        if self.headers:
            parts.append("?")
            parts.append(
                "&".join(
                    f"{_escape(n, _HEADER_SAFE)}={_escape(v, _HEADER_SAFE)}"
                    for n, v in self.headers
                )
            )
        return "".join(parts)

    @property
    def transport(self) -> str | None:
        """The ``transport`` URI parameter, lower-cased (§19.1.1)."""
        value = self.params.get("transport")
        return value.lower() if value is not None else None

    @property
    def lr(self) -> bool:
        """Whether the URI carries the ``lr`` (loose routing) parameter (§19.1.1)."""
        return "lr" in self.params


@dataclass(slots=True, init=False, unsafe_hash=True)
class TelUri:
    """A ``tel:`` URI (RFC 3966): the number as written, visual separators and all, and params.

    ``;ext=``, ``;isub=`` and ``;phone-context=`` are ordinary parameters here; the properties
    below read them.
    """

    number: Final[str]
    params: Final[Params]

    def __init__(self, *, number: str, params: Params = EMPTY_PARAMS) -> None:
        self.number = number
        self.params = params

    @classmethod
    def parse(cls, text: str) -> "TelUri":
        """Parse ``telephoneURI`` (RFC 3966 §3); the scheme is case-insensitive.

        A local number without ``phone-context`` is accepted, though RFC 3966 §5.1.5 requires
        senders to add one: the routing layer normalises it with its own plan.

        Raises:
            ParseError: the text is not a tel URI.
        """
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "tel":
            raise _fail("tel URI", text)
        number, semi, params_text = rest.partition(";")
        pattern = grammar.TEL_GLOBAL if number.startswith("+") else grammar.TEL_LOCAL
        if pattern.fullmatch(number) is None:
            raise _fail("tel URI number", text)
        params = _tel_params(params_text) if semi else EMPTY_PARAMS
        return TelUri(number=number, params=params)

    def __str__(self) -> str:
        return f"tel:{self.number}{_format_params(self.params)}"

    @property
    def scheme(self) -> str:
        """Always ``"tel"``; every URI type has a ``scheme``."""
        return "tel"

    @property
    def is_global(self) -> bool:
        """Whether the number is a global number (starts with "+", RFC 3966 §5.1.4)."""
        return self.number.startswith("+")

    @property
    def ext(self) -> str | None:
        """The ``ext`` parameter (RFC 3966 §5.1.1)."""
        return self.params.get("ext")

    @property
    def phone_context(self) -> str | None:
        """The ``phone-context`` parameter (RFC 3966 §5.1.5)."""
        return self.params.get("phone-context")


@dataclass(slots=True, init=False, unsafe_hash=True)
class AbsoluteUri:
    """Any other URI (``absoluteURI`` of §25.1), kept as scheme and the text after the colon."""

    scheme: Final[str]
    opaque: Final[str]

    def __init__(self, *, scheme: str, opaque: str) -> None:
        self.scheme = scheme
        self.opaque = opaque

    @classmethod
    def parse(cls, text: str) -> "AbsoluteUri":
        """Parse ``absoluteURI``: a scheme, ":", then uric characters only.

        Raises:
            ParseError: the text is not an absolute URI.
        """
        scheme, colon, rest = text.partition(":")
        if not colon or grammar.SCHEME.fullmatch(scheme) is None or not rest:
            raise _fail("URI", text)
        if grammar.URIC.fullmatch(rest) is None:
            raise _fail("URI", text)
        return AbsoluteUri(scheme=scheme.lower(), opaque=rest)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


Uri = SipUri | TelUri | AbsoluteUri


#: Parsed URIs by text. A call's Request-URI comes again in its To and its ACK, a peer's Contact
#: and From URIs in every call, so most URIs are parsed once; URIs are immutable, so one value
#: can be shared. Bounded: emptied when full, and long texts are never kept.
_PARSED: Final[dict[str, Uri]] = {}
_PARSED_MAX: Final = 2048
#: The longest text a bounded cache of parsed values keeps (``keep``; ``vacant.sip.fields`` too).
KEPT_TEXT_MAX: Final = 256
#: Hosts ``parse_host`` accepted lately, unbracketed (cleared when full, as ``_PARSED``).
_HOSTS: Final[dict[str, str]] = {}
_HOSTS_MAX: Final = 1024
#: ``is_address``'s answers (cleared when full, as ``_HOSTS``).
_ADDRESSES: Final[dict[str, bool]] = {}
_V = TypeVar("_V")


def parse_uri(text: str) -> Uri:
    """Parse a Request-URI or addr-spec: a SIP/SIPS URI, a tel URI, or any absolute URI.

    Raises:
        ParseError: the text is not a URI (status hint 400).
    """
    uri = _PARSED.get(text)
    if uri is not None:
        return uri
    scheme = text[:5].lower()
    if scheme.startswith(("sip:", "sips:")):
        uri = SipUri.parse(text)
    elif scheme.startswith("tel:"):
        uri = TelUri.parse(text)
    else:
        uri = AbsoluteUri.parse(text)
    keep(_PARSED, _PARSED_MAX, text, uri)
    return uri


def keep(cache: dict[str, _V], most: int, text: str, value: _V) -> None:
    """Remember ``value`` for ``text`` in ``cache``, bounded: emptied when it holds ``most``,
    and a text longer than ``KEPT_TEXT_MAX`` is never kept."""
    if len(text) <= KEPT_TEXT_MAX:
        if len(cache) >= most:
            cache.clear()
        cache[text] = value
