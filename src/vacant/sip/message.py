"""SIP requests and responses: ``parse_message(bytes)`` and ``serialize()``.

Theory of operation: ``parse_message`` handles one datagram (RFC 3261 §18.3) or one frame that
``StreamFramer`` cut from a stream. It checks the start line, splits the header section into
fields once (unfolding continuation lines, §7.3.1), frames the body by Content-Length and stops.
No header value is interpreted beyond Content-Length; the typed views (``top_via``, ``cseq``,
``from_``, ...) parse their field the first time they are read and cache the result until the
headers change. ``vacant.sip.validate`` decides whether a request is acceptable.

Errors: the parser raises only ``ParseError``, whatever the bytes. Its ``status_hint`` is the
status to answer a request with (400, 505, 513), or ``None`` when the bytes are a response or not
recognisably a request: those are dropped. All work is linear in the size of the input, which
``Limits`` bounds.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar, cast

from vacant.errors import ParseError
from vacant.sip import grammar
from vacant.sip.fields import (
    ContentLength,
    CSeq,
    MaxForwards,
    NameAddr,
    Via,
    parse_call_id,
    parse_media_type,
)
from vacant.sip.headers import KNOWN_SPELLINGS, Headers, header_key
from vacant.sip.status import reason_phrase
from vacant.sip.uri import Uri, parse_uri

T = TypeVar("T")

SIP_VERSION: Final = "SIP/2.0"
# Method SP: what a Request-Line starts with (the method is a token, §25.1).
_REQUEST_START: Final = re.compile(f"[{grammar.TOKEN_CHARS}]+ ".encode())


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on what the parser accepts; anything larger is refused before it costs more.

    Attributes:
        max_message_size: octets in one message, header section and body (default 64 KiB).
        max_headers: header fields (after unfolding) in one message (default 100).
        max_body_size: octets in one body (default 32 KiB).
    """

    max_message_size: int = 64 * 1024
    max_headers: int = 100
    max_body_size: int = 32 * 1024

    def __post_init__(self) -> None:
        if min(self.max_message_size, self.max_headers, self.max_body_size) < 1:
            raise ValueError("limits must be positive")


DEFAULT_LIMITS: Final = Limits()


class Message:
    """What requests and responses share: header fields, a body, and typed views of the fields.

    A view raises ``ParseError`` when its header is missing, repeated where the grammar allows
    one, or malformed (status hint 400 for a request, ``None`` for a response).
    """

    __slots__ = ("_owner", "_revision", "_views", "body", "headers")

    #: The status to answer a malformed request with; ``None`` for responses (never answered).
    status_hint: int | None = 400

    def __init__(
        self, headers: Headers | Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body
        self._views: dict[str, object] = {}
        self._owner: Headers | None = None
        self._revision = -1

    def _start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        """The message as octets: the start line, every field in order, the empty line, the body.

        Content-Length always states the body's length: the first such field gets the value,
        later ones are dropped, and one is appended when there is none (§18.3, §20.14).
        """
        body = self.body
        lines = [self._start_line()]
        length_written = False
        for key, name, value in self.headers.keyed():
            if key == "content-length":
                if length_written:
                    continue
                value = str(len(body))
                length_written = True
            lines.append(f"{name}: {value}")
        if not length_written:
            lines.append(f"Content-Length: {len(body)}")
        lines += ("", "")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + body

    # --- typed views ---------------------------------------------------------------------------

    def _memo(self, key: str, build: Callable[[], T]) -> T:
        headers = self.headers
        if self._owner is not headers or self._revision != headers.revision:
            self._views = {}
            self._owner, self._revision = headers, headers.revision
        try:
            return cast(T, self._views[key])
        except KeyError:
            pass
        try:
            value = build()
        except ParseError as exc:
            if exc.status_hint == self.status_hint:
                raise
            raise ParseError(str(exc), self.status_hint) from exc
        self._views[key] = value
        return value

    def _single(self, name: str) -> str:
        values = self.headers.get_all(name)
        if len(values) != 1:
            problem = "missing" if not values else "more than one"
            raise ParseError(f"{problem} {name} header field", self.status_hint)
        return values[0]

    @property
    def top_via(self) -> Via:
        """The first Via value: where responses go, and the transaction's branch (§17)."""

        def build() -> Via:
            value = self.headers.first_value("via")
            if value is None:
                raise ParseError("missing Via header field")
            return Via.parse(value)

        return self._memo("top_via", build)

    @property
    def vias(self) -> tuple[Via, ...]:
        """Every Via value, in order (a response copies them all, §8.2.6.2)."""
        return self._memo("vias", lambda: tuple(Via.parse(v) for v in self.headers.values("via")))

    @property
    def call_id(self) -> str:
        """The Call-ID (§8.1.1.4)."""
        return self._memo("call_id", lambda: parse_call_id(self._single("call-id")))

    @property
    def cseq(self) -> CSeq:
        """The CSeq: sequence number and method (§8.1.1.5)."""
        return self._memo("cseq", lambda: CSeq.parse(self._single("cseq")))

    @property
    def from_(self) -> NameAddr:
        """The From field (§8.1.1.3); its tag is half of the dialog id."""
        return self._memo("from", lambda: NameAddr.parse(self._single("from")))

    @property
    def to(self) -> NameAddr:
        """The To field (§8.1.1.2)."""
        return self._memo("to", lambda: NameAddr.parse(self._single("to")))

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (§8.1.1.6), ``None`` when absent (an RFC 2543 peer, RFC 4475 §3.4.1)."""

        def build() -> int | None:
            if not self.has("max-forwards"):
                return None
            return MaxForwards.parse(self._single("max-forwards"))

        return self._memo("max_forwards", build)

    @property
    def content_type(self) -> str | None:
        """The body's media type (``type/subtype``, lower case), ``None`` without Content-Type."""

        def build() -> str | None:
            if not self.has("content-type"):
                return None
            return parse_media_type(self._single("content-type"))

        return self._memo("content_type", build)

    @property
    def contacts(self) -> tuple[NameAddr, ...]:
        """The Contact values (§8.1.1.8). A REGISTER's ``Contact: *`` is not a NameAddr: check
        ``headers.get("contact") == "*"`` first."""
        return self._memo("contacts", lambda: self._name_addrs("contact"))

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        """The Route values, in order (§20.34)."""
        return self._memo("routes", lambda: self._name_addrs("route"))

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        """The Record-Route values, in order (§20.30)."""
        return self._memo("record_routes", lambda: self._name_addrs("record-route"))

    def _name_addrs(self, name: str) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(value) for value in self.headers.values(name))

    def has(self, name: str) -> bool:
        """Whether a header field called ``name`` is present."""
        return name in self.headers


class Request(Message):
    """A SIP request: method, Request-URI, header fields, body."""

    __slots__ = ("method", "uri")

    def __init__(
        self,
        method: str,
        uri: Uri,
        headers: Headers | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        if not grammar.is_token(method):
            raise ValueError(f"method {method!r} is not a token")
        super().__init__(headers, body)
        self.method = method
        self.uri = uri

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return (self.method, self.uri, self.headers, self.body) == (
            other.method,
            other.uri,
            other.headers,
            other.body,
        )

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} ({len(self.headers)} headers)>"


class Response(Message):
    """A SIP response: status code, reason phrase, header fields, body."""

    __slots__ = ("reason", "status")
    status_hint = None

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        phrase = reason_phrase(status) if reason is None else reason
        if grammar.CTL.search(phrase):
            raise ValueError("a reason phrase cannot hold control characters")
        super().__init__(headers, body)
        self.status = status
        self.reason = phrase

    def _start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (self.status, self.reason, self.headers, self.body) == (
            other.status,
            other.reason,
            other.headers,
            other.body,
        )

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} ({len(self.headers)} headers)>"


def skip_leading_crlf(data: bytes, pos: int = 0) -> int:
    """The offset of the first octet after any CRLFs at ``pos`` (§7.5: ignore them)."""
    while data.startswith(b"\r\n", pos):
        pos += 2
    return pos


def request_hint(data: bytes, pos: int = 0) -> int | None:
    """400 if ``data`` at ``pos`` starts like a request line (a method token and SP), else None."""
    return 400 if _REQUEST_START.match(data, pos) else None


def parse_message(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Request | Response:
    """Parse one SIP message carried in one datagram or one stream frame.

    Content-Length frames the body: octets after it are discarded, and a body shorter than it is
    an error (§18.3). Without Content-Length the body is the rest of the datagram (§18.3).

    Raises:
        ParseError: for any input that is not an acceptable message; see the module docstring for
            ``status_hint``. No other exception escapes, whatever ``data`` holds.
    """
    start = skip_leading_crlf(data)
    is_response = data[start : start + 4].upper() == b"SIP/"
    hint = None if is_response else request_hint(data, start)
    if len(data) > limits.max_message_size:
        raise ParseError("message exceeds the size limit", 513 if hint else None)
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise ParseError("no empty line ends the header section (§7)", hint)
    head = data[start:end].decode("utf-8", "surrogateescape")
    crlf = head.count("\r\n")
    if head.count("\r") != crlf or head.count("\n") != crlf:
        raise ParseError("bare CR or LF in the header section (§7)", hint)
    first, _, fields = head.partition("\r\n")
    headers = _parse_fields(fields, hint, limits)
    body_at = end + 4
    lengths = headers.get_all("content-length")
    if not lengths:
        body = data[body_at:]
    elif len(lengths) > 1:
        raise ParseError("more than one Content-Length (RFC 4475 §3.3.9)", hint)
    else:
        try:
            length = ContentLength.parse(lengths[0])
        except ParseError as exc:
            raise ParseError(str(exc), hint) from exc
        if length > limits.max_body_size:
            raise ParseError("Content-Length exceeds the body size limit", 513 if hint else None)
        if body_at + length > len(data):
            raise ParseError("body shorter than Content-Length (§18.3)", hint)
        body = data[body_at : body_at + length]
    if len(body) > limits.max_body_size:
        raise ParseError("body exceeds the size limit", 513 if hint else None)
    if is_response:
        return _parse_status_line(first, headers, body)
    return _parse_request_line(first, headers, body, hint)


def _parse_fields(text: str, hint: int | None, limits: Limits) -> Headers:
    """Split the header section (after the start line) into fields, unfolding (§7.3.1)."""
    if not text:
        return Headers.from_parsed([], [], [])
    wsp = grammar.WSP
    if "\r\n " in text or "\r\n\t" in text or text[0] in wsp:
        lines = _unfold(text.split("\r\n"), hint)
    else:
        lines = text.split("\r\n")
    if len(lines) > limits.max_headers:
        raise ParseError("too many header fields", 513 if hint else None)
    # The common case runs as comprehensions; only unusual names take the loop below.
    split = [line.partition(":") for line in lines]
    if "" in [colon for _, colon, _ in split]:
        bad = next(line for line, (_, colon, _) in zip(lines, split, strict=True) if not colon)
        raise ParseError(f"header line without a colon: {bad[:80]!r}", hint)
    names = [name for name, _, _ in split]
    keys = [KNOWN_SPELLINGS.get(name) for name in names]
    values = [value.strip(wsp) for _, _, value in split]
    if None in keys:
        for position, key in enumerate(keys):
            if key is None:
                # HCOLON = *( SP / HTAB ) ":" SWS
                name = names[position].rstrip(wsp)
                if grammar.HEADER_NAME.fullmatch(name) is None:
                    raise ParseError(f"header name is not a token: {name[:80]!r}", hint)
                names[position], keys[position] = name, header_key(name)
    return Headers.from_parsed(cast(list[str], keys), names, values)


def _unfold(lines: list[str], hint: int | None) -> list[str]:
    """Join continuation lines to the field they continue (§7.3.1).

    "A header field can be extended over multiple lines by preceding each extra line with at
    least one SP or horizontal tab"; the LWS that joined them may be replaced by a single SP.
    """
    wsp = grammar.WSP
    fields: list[list[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise ParseError("continuation line before any header field (§7.3.1)", hint)
            piece = line.strip(wsp)
            if piece:
                fields[-1].append(piece)
        else:
            fields.append([line.rstrip(wsp)])
    return [parts[0] if len(parts) == 1 else " ".join(parts) for parts in fields]


def _parse_request_line(line: str, headers: Headers, body: bytes, hint: int | None) -> Request:
    # Request-Line = Method SP Request-URI SP SIP-Version CRLF, with exactly one SP between
    # elements (RFC 4475 §3.1.2.8-§3.1.2.10 show what extra SP looks like).
    parts = line.split(" ")
    if len(parts) != 3:
        raise ParseError(f"malformed Request-Line: {line[:80]!r}", hint)
    method, target, version = parts
    if grammar.METHOD.fullmatch(method) is None:
        raise ParseError(f"method is not a token: {method[:80]!r}", hint)
    if version != SIP_VERSION and version.upper() != SIP_VERSION:
        if grammar.SIP_VERSION.fullmatch(version):
            # §7.1 and §21.5.6: 505 Version Not Supported (RFC 4475 §3.1.2.16).
            raise ParseError(f"SIP version {version} is not supported", 505)
        raise ParseError(f"malformed SIP-Version: {version[:80]!r}", hint)
    uri = parse_uri(target)
    request = Request.__new__(Request)
    Message.__init__(request, headers, body)
    request.method = method
    request.uri = uri
    return request


def _parse_status_line(line: str, headers: Headers, body: bytes) -> Response:
    # Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF; responses are never
    # answered, so every failure here drops the message (hint None).
    version, _, rest = line.partition(" ")
    code, sp, reason = rest.partition(" ")
    if version.upper() != SIP_VERSION:
        raise ParseError(f"unsupported SIP version in Status-Line: {version[:80]!r}", None)
    if not sp or grammar.STATUS_CODE.fullmatch(code) is None:
        raise ParseError(f"malformed Status-Code: {code[:80]!r}", None)
    if grammar.CTL.search(reason):
        raise ParseError("control character in Reason-Phrase", None)
    response = Response.__new__(Response)
    Message.__init__(response, headers, body)
    response.status = int(code)
    response.reason = reason
    return response
