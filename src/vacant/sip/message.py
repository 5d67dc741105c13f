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
    CSeq,
    NameAddr,
    Via,
    parse_call_id,
    parse_content_length,
    parse_max_forwards,
    parse_media_type,
)
from vacant.sip.headers import KNOWN_SPELLINGS, Headers, header_key
from vacant.sip.status import reason_phrase
from vacant.sip.uri import Uri, parse_uri

T = TypeVar("T")

# Methods known to be tokens, so that the Request-Line check skips the pattern for them.
_COMMON_METHODS: Final = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "NOTIFY"})
# Marks a view not cached yet, where ``None`` is a value (Max-Forwards, Content-Type).
_MISSING: Final = object()

SIP_VERSION: Final = "SIP/2.0"
# Method SP: what a Request-Line starts with (the method is a token, §25.1).
_REQUEST_START: Final = re.compile(f"[{grammar.TOKEN_CHARS}]+ ".encode())
_BARE_CR_LF: Final = "bare CR or LF in the header section (§7)"


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
    one, or malformed (status hint 400 for a request, ``None`` for a response). Views are cached
    in ``headers.views``, which every change to the headers empties.
    """

    __slots__ = ("body", "headers")

    #: The status to answer a malformed request with; ``None`` for responses (never answered).
    status_hint: int | None = 400

    def __init__(
        self, headers: Headers | Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.body = body

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
    # Each property reads the cache (one dict lookup) and builds the view on a miss.

    def _hinted(self, exc: ParseError) -> ParseError:
        """``exc`` if it carries this message's status hint, else a copy that does (as if
        raised ``from exc``)."""
        if exc.status_hint == self.status_hint:
            return exc
        error = ParseError(str(exc), self.status_hint)
        error.__cause__ = exc
        return error

    def _single(self, name: str) -> str:
        value = self.headers.single(name)
        if value is None:
            problem = "more than one" if self.headers.count(name) else "missing"
            raise ParseError(f"{problem} {name} header field", self.status_hint)
        return value

    @property
    def top_via(self) -> Via:
        """The first Via value: where responses go, and the transaction's branch (§17)."""
        views = self.headers.views
        via: Via | None = views.get("top_via")
        if via is None:
            try:
                value = self.headers.first_value("via")
                if value is None:
                    raise ParseError("missing Via header field")
                via = views["top_via"] = Via.parse(value)
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return via

    @property
    def vias(self) -> tuple[Via, ...]:
        """Every Via value, in order (a response copies them all, §8.2.6.2)."""
        views = self.headers.views
        vias: tuple[Via, ...] | None = views.get("vias")
        if vias is None:
            try:
                vias = views["vias"] = self._vias()
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return vias

    def _vias(self) -> tuple[Via, ...]:
        values = self.headers.get_all("via")
        if len(values) == 1 and _plain_list_element(values[0]):
            # One via-parm, exactly the text ``top_via`` parses: parse it once.
            return (self.top_via,)
        return tuple(Via.parse(v) for v in self.headers.values("via"))

    @property
    def call_id(self) -> str:
        """The Call-ID (§8.1.1.4)."""
        views = self.headers.views
        call_id: str | None = views.get("call_id")
        if call_id is None:
            try:
                call_id = views["call_id"] = parse_call_id(self._single("call-id"))
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return call_id

    @property
    def cseq(self) -> CSeq:
        """The CSeq: sequence number and method (§8.1.1.5)."""
        views = self.headers.views
        cseq: CSeq | None = views.get("cseq")
        if cseq is None:
            try:
                cseq = views["cseq"] = CSeq.parse(self._single("cseq"))
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return cseq

    @property
    def from_(self) -> NameAddr:
        """The From field (§8.1.1.3); its tag is half of the dialog id."""
        views = self.headers.views
        from_: NameAddr | None = views.get("from")
        if from_ is None:
            try:
                from_ = views["from"] = NameAddr.parse(self._single("from"))
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return from_

    @property
    def to(self) -> NameAddr:
        """The To field (§8.1.1.2)."""
        views = self.headers.views
        to: NameAddr | None = views.get("to")
        if to is None:
            try:
                to = views["to"] = NameAddr.parse(self._single("to"))
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return to

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (§8.1.1.6), ``None`` when absent (an RFC 2543 peer, RFC 4475 §3.4.1)."""
        views = self.headers.views
        hops = views.get("max_forwards", _MISSING)
        if hops is _MISSING:
            try:
                hops = views["max_forwards"] = (
                    parse_max_forwards(self._single("max-forwards"))
                    if "max-forwards" in self.headers
                    else None
                )
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return cast("int | None", hops)

    @property
    def content_type(self) -> str | None:
        """The body's media type (``type/subtype``, lower case), ``None`` without Content-Type."""
        views = self.headers.views
        media_type = views.get("content_type", _MISSING)
        if media_type is _MISSING:
            try:
                media_type = views["content_type"] = (
                    parse_media_type(self._single("content-type"))
                    if "content-type" in self.headers
                    else None
                )
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return cast("str | None", media_type)

    @property
    def contacts(self) -> tuple[NameAddr, ...]:
        """The Contact values (§8.1.1.8). A REGISTER's ``Contact: *`` is not a NameAddr: check
        ``headers.get("contact") == "*"`` first."""
        views = self.headers.views
        contacts: tuple[NameAddr, ...] | None = views.get("contacts")
        if contacts is None:
            try:
                contacts = views["contacts"] = self._name_addrs("contact")
            except ParseError as exc:
                raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return contacts

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        """The Route values, in order (§20.34)."""
        return self._memo("routes", lambda: self._name_addrs("route"))

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        """The Record-Route values, in order (§20.30)."""
        return self._memo("record_routes", lambda: self._name_addrs("record-route"))

    def _memo(self, key: str, build: Callable[[], T]) -> T:
        views = self.headers.views
        if key in views:
            return cast(T, views[key])
        try:
            value = views[key] = build()
        except ParseError as exc:
            raise self._hinted(exc)  # noqa: B904  (``_hinted`` sets the cause)
        return value

    def _name_addrs(self, name: str) -> tuple[NameAddr, ...]:
        return tuple(NameAddr.parse(value) for value in self.headers.values(name))

    def has(self, name: str) -> bool:
        """Whether a header field called ``name`` is present."""
        return name in self.headers


def _plain_list_element(value: str) -> bool:
    """Whether ``split_commas`` returns ``value`` unchanged, as the one element: no comma, no
    surrounding whitespace. (A quote or "<" without a comma splits nothing; unclosed, it fails
    the Via's own parse first.) A search for one character, where a regex took three times as
    long."""
    wsp = grammar.WSP
    return value != "" and "," not in value and value[0] not in wsp and value[-1] not in wsp


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
        if method not in _COMMON_METHODS and not grammar.is_token(method):
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
    status_hint: int | None = None

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
    start = skip_leading_crlf(data) if data.startswith(b"\r\n") else 0
    is_response = data[start : start + 4].upper() == b"SIP/"
    hint = None if is_response else request_hint(data, start)
    if len(data) > limits.max_message_size:
        raise ParseError("message exceeds the size limit", 513 if hint else None)
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise ParseError("no empty line ends the header section (§7)", hint)
    head = data[start:end].decode("utf-8", "surrogateescape")
    # §7: lines end in CRLF; a CR or LF alone is an error. The plain split below cuts the fields
    # at LFs that each follow a CR (one per field, counting the start line's), so every LF is in
    # a CRLF and the CRs are as many as the fields; any other split counts them all here.
    crs = head.count("\r")
    eol = head.find("\r\n")
    first = head if eol < 0 else head[:eol]
    fields_at = len(head) if eol < 0 else eol + 2
    headers = None if "\n" in first else _parse_plain_fields(head, fields_at, limits)
    if headers is None:
        if head.count("\n") != crs or head.count("\r\n") != crs:
            raise ParseError(_BARE_CR_LF, hint)
        headers = _parse_any_fields(head[fields_at:], hint, limits)
    elif len(headers) != crs:
        raise ParseError(_BARE_CR_LF, hint)
    body_at = end + 4
    text = headers.single("content-length")
    if text is None:
        if headers.count("content-length"):
            raise ParseError("more than one Content-Length (RFC 4475 §3.3.9)", hint)
        body = data[body_at:]
    else:
        if len(text) < 10 and text.isdigit() and text.isascii():
            length = int(text)  # at most 9 digits: within parse_content_length's bound
        else:
            try:
                length = parse_content_length(text)
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


def _parse_plain_fields(head: str, start: int, limits: Limits) -> Headers | None:
    """Split the header section (``head`` from ``start``, after the start line) into fields if
    every line is plain (below); ``None`` if not."""
    end = len(head)
    if start >= end:
        return Headers.from_parsed([], [], [])
    # The common case, in one pass: every name a known spelling (so a token, and no line starts
    # with SP or HTAB, so nothing is folded), every line with a colon, few fields. Each field is
    # cut straight from ``head``: its name and its value without the WSP around it, and nothing
    # else (no line, no partition, no strip: two strs per field where that made five). A plain
    # loop: compiled, it spends half the time of comprehensions zipped into columns.
    known = KNOWN_SPELLINGS
    most = limits.max_headers
    keys: list[str] = []
    names: list[str] = []
    values: list[str] = []
    while True:
        lf = head.find("\n", start)  # one character: found by memchr, where CRLF is not
        if lf < 0:
            stop = end
        elif head[lf - 1] == "\r":
            stop = lf - 1
        else:
            return None  # a bare LF: the other split refuses it
        colon = head.find(":", start, stop)
        if colon < 0 or len(keys) == most:
            return None
        name = head[start:colon]
        key = known.get(name)
        if key is None:
            return None
        first, last = colon + 1, stop
        while first < last and (head[first] == " " or head[first] == "\t"):
            first += 1
        while last > first and (head[last - 1] == " " or head[last - 1] == "\t"):
            last -= 1
        keys.append(key)
        names.append(name)
        values.append(head[first:last])
        if lf < 0:
            return Headers.from_parsed(keys, names, values)
        start = lf + 1


def _parse_any_fields(text: str, hint: int | None, limits: Limits) -> Headers:
    """The fields of ``text`` when ``_parse_plain_fields`` declines: folded lines, unusual
    names, errors."""
    wsp = grammar.WSP
    if "\r\n " in text or "\r\n\t" in text or text[0] in wsp:
        lines = _unfold(text.split("\r\n"), hint)
    else:
        lines = text.split("\r\n")
    if len(lines) > limits.max_headers:
        raise ParseError("too many header fields", 513 if hint else None)
    spelled, colons, raw = zip(*[line.partition(":") for line in lines], strict=True)
    if "" in colons:
        bad = next(line for line, colon in zip(lines, colons, strict=True) if not colon)
        raise ParseError(f"header line without a colon: {bad[:80]!r}", hint)
    names = list(spelled)
    keys = list(map(KNOWN_SPELLINGS.get, names))
    values = [value.strip(wsp) for value in raw]
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
    if method not in _COMMON_METHODS and grammar.METHOD.fullmatch(method) is None:
        raise ParseError(f"method is not a token: {method[:80]!r}", hint)
    if version != SIP_VERSION and version.upper() != SIP_VERSION:
        if grammar.SIP_VERSION.fullmatch(version):
            # §7.1 and §21.5.6: 505 Version Not Supported (RFC 4475 §3.1.2.16).
            raise ParseError(f"SIP version {version} is not supported", 505)
        raise ParseError(f"malformed SIP-Version: {version[:80]!r}", hint)
    uri = parse_uri(target)
    return Request(method, uri, headers, body)


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
    return Response(int(code), reason, headers, body)
