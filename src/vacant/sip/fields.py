"""Typed views of header field values, parsed on demand from the strings ``Headers`` keeps.

Every ``parse`` takes one field value (one element of a list header) and raises only
``ParseError``; every view is a frozen value whose ``str()`` is a canonical rendering that
parses back to an equal value. Messages cache the views they hand out (``Message.top_via``, ...).
"""

from dataclasses import dataclass
from typing import Final

from vacant.errors import ParseError
from vacant.sip import grammar
from vacant.sip.uri import (
    EMPTY_PARAMS,
    KEPT_TEXT_MAX,
    Params,
    SipUri,
    Uri,
    format_host,
    is_address,
    keep,
    parse_host,
    parse_port,
    parse_uri,
)

# RFC 3261 §8.1.1.7: a branch that starts with this was made by an RFC 3261 element.
MAGIC_COOKIE: Final = "z9hG4bK"
_MAX_CSEQ: Final = 2**32 - 1  # §8.1.1.5: "expressible as a 32-bit unsigned integer"
_MAX_HOPS: Final = 255  # §20.22: "an integer in the range 0-255"
# Content-Type values as calls carry them, and what ``parse_media_type`` makes of them.
_MEDIA_TYPES: Final[dict[str, str]] = {
    text: text.lower()
    for text in ("application/sdp", "application/SDP", "message/sipfrag", "text/plain")
}


def _fail(what: str, text: str) -> ParseError:
    return ParseError(f"invalid {what}: {text[:80]!r}")


def parse_params(text: str, pos: int = 0) -> Params:
    """``*( SEMI generic-param )`` from ``pos`` to the end of ``text`` (§25.1).

    Whitespace may surround ";" and "=" (SEMI, EQUAL); a quoted-string value keeps its quotes.

    Raises:
        ParseError: anything but parameters (and trailing whitespace) follows ``pos``.
    """
    end = len(text)
    if pos >= end:
        return EMPTY_PARAMS
    if grammar.PLAIN_PARAMS.fullmatch(text, pos) is not None:
        return _plain_params(text[pos:])
    items: list[tuple[str, str | None]] = []
    while pos < end:
        match = grammar.GENERIC_PARAM.match(text, pos)
        if match is None:
            if text[pos:].strip(grammar.WSP):
                raise _fail("parameters", text[pos:])
            break
        value = match.group(2)
        pos = match.end()
        if value is None and pos > match.end(1):  # '=' then an opening DQUOTE
            closed = grammar.QUOTED_BODY.match(text, pos)
            if closed is None:
                raise _fail("quoted parameter value", text[pos - 1 :])
            value = text[pos - 1 : closed.end()]
            pos = closed.end()
        items.append((match.group(1), value))
    return Params(tuple(items))


def _plain_params(text: str) -> Params:
    """Parameters from text that ``grammar.PLAIN_PARAMS`` matched: no whitespace, no
    quoted-string, so every ";" starts a parameter and every "=" its value."""
    if not text:
        return EMPTY_PARAMS
    if text.find(";", 1) < 0:  # one parameter (a tag, say)
        name, eq, value = text[1:].partition("=")
        items: tuple[tuple[str, str | None], ...] = ((name, value if eq else None),)
    else:
        pairs = [part.partition("=") for part in text[1:].split(";")]
        items = tuple([(name, value if eq else None) for name, eq, value in pairs])
    params = Params(items=items)
    return params


def format_params(params: Params) -> str:
    """Header parameters as ``;name=value`` text (values are written as stored)."""
    return "".join([f";{n}" if v is None else f";{n}={v}" for n, v in params.items])


def _digits(text: str, limit: int, what: str) -> int:
    """``1*DIGIT`` no larger than ``limit``, without ever converting a huge digit string."""
    if len(text) < 10 and text.isdigit() and text.isascii():
        value = int(text)  # at most 9 digits: no huge conversion
        if value <= limit:
            return value
    if grammar.DIGITS.fullmatch(text) is None:
        raise _fail(what, text)
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(limit)) or int(significant) > limit:
        raise _fail(what, text)
    return int(significant)


@dataclass(slots=True, init=False, unsafe_hash=True)
class Via:
    """One ``via-parm`` (§20.42): sent-protocol, sent-by and parameters.

    ``host`` has no IPv6 brackets; ``transport`` is upper-cased (transport names are tokens, and
    tokens compare case-insensitively, §7.3.1).
    """

    transport: Final[str]
    host: Final[str]
    port: Final[int | None]
    params: Final[Params]
    protocol: Final[str]

    def __init__(
        self,
        *,
        transport: str,
        host: str,
        port: int | None = None,
        params: Params = EMPTY_PARAMS,
        protocol: str = "SIP/2.0",
    ) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self.params = params
        self.protocol = protocol

    @classmethod
    def parse(cls, text: str) -> "Via":
        """Parse one via-parm, checking the parameters RFC 3261 and RFC 3581 give meaning to.

        A peer's Vias differ from call to call in the branch alone (§8.1.1.7), so a value is
        kept by its text without the branch's value, its shape (``_VIA_SHAPES``), and one of
        the same shape is the kept one with its own branch: with no quoted-string in the text,
        every ";" starts a parameter, and a branch of letters, digits, "-" and "." parses as
        itself wherever it stands, so the rest parses as it did.

        Raises:
            ParseError: not a via-parm, or a malformed branch, received, rport, maddr or ttl.
        """
        at = text.find(_BRANCH)
        if at < 0 or '"' in text:
            return _parse_via(text)
        start = at + len(_BRANCH)
        end = text.find(";", start)
        if end < 0:
            end = len(text)
        branch = text[start:end]
        if not grammar.is_plain_token(branch):
            return _parse_via(text)
        shape = text[:start] + text[end:]
        seen = _VIA_SHAPES.get(shape)
        if seen is not None:
            via, index = seen
            return via._with_item(index, ("branch", branch))
        via = _parse_via(text)
        # Kept only if the parameter cut out is the branch the Via reports: the first one called
        # "branch" in any case, spelt "branch".
        items = via.params.items
        index = next(i for i, (key, _) in enumerate(items) if key.lower() == "branch")
        if items[index] == ("branch", branch):
            keep(_VIA_SHAPES, _KEPT_MAX, shape, (via, index))
        return via

    def _with_item(self, index: int, item: tuple[str, str | None]) -> "Via":
        """A copy with parameter ``index`` replaced by ``item``."""
        items = self.params.items
        params = Params((*items[:index], item, *items[index + 1 :]))
        return Via(transport=self.transport, host=self.host, port=self.port, params=params,
                   protocol=self.protocol)  # fmt: skip

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return (
            f"{self.protocol}/{self.transport} {format_host(self.host)}{port}"
            f"{format_params(self.params)}"
        )

    @property
    def branch(self) -> str | None:
        """The branch parameter (§8.1.1.7), the transaction id in RFC 3261 matching."""
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        """(host, port) of sent-by; port ``None`` means the transport's default (§18.2.2)."""
        return self.host, self.port

    @property
    def received(self) -> str | None:
        """The received parameter without any IPv6 brackets (§18.2.1, RFC 5118 §4.5)."""
        value = self.params.get("received")
        if value is not None and value.startswith("["):
            return value[1:-1]
        return value

    @property
    def rport(self) -> int | None:
        """The rport value a server filled in (RFC 3581 §4), else ``None``."""
        value = self.params.get("rport")
        return int(value) if value is not None else None

    @property
    def rport_requested(self) -> bool:
        """Whether the client asked for rport (the parameter present without a value)."""
        for key, value in self.params.items:  # the first rport decides, as get() does
            if key == "rport" or key.lower() == "rport":
                return value is None
        return False

    def with_params(self, params: Params) -> "Via":
        """A copy with ``params`` (the endpoint's received and rport, §18.2.1, RFC 3581 §4)."""
        via = Via(
            transport=self.transport,
            host=self.host,
            port=self.port,
            params=params,
            protocol=self.protocol,
        )
        return via

    @property
    def maddr(self) -> str | None:
        """The maddr parameter, unbracketed (§18.2.2)."""
        value = self.params.get("maddr")
        return parse_host(value) if value is not None else None

    @property
    def ttl(self) -> int | None:
        """The ttl parameter (§20.42)."""
        value = self.params.get("ttl")
        return int(value) if value is not None else None


def _parse_via(text: str) -> Via:
    """``Via.parse`` without the kept shapes."""
    plain = grammar.PLAIN_VIA.fullmatch(text)
    if plain is not None:
        transport, host_text, port_text, params_text = plain.groups()
        protocol, params_at = "SIP/2.0", -1
    else:
        match = grammar.VIA_HEAD.match(text)
        if match is None:
            raise _fail("Via", text)
        name, version, transport, host_text, port_text = match.groups()
        transport = transport.upper()
        protocol, params_at, params_text = f"{name.upper()}/{version}", match.end(), ""
    host = parse_host(host_text)  # sent-by first: the error names the first fault
    port = parse_port(port_text) if port_text is not None else None
    params = _plain_params(params_text) if params_at < 0 else parse_params(text, params_at)
    for key, value in params.items:
        _check_via_param(key if key.islower() else key.lower(), value, text)
    return Via(transport=transport, host=host, port=port, params=params, protocol=protocol)


def _check_via_param(key: str, value: str | None, text: str) -> None:
    match key:
        case "branch":  # via-branch = "branch" EQUAL token
            if value is None or not grammar.is_token(value):
                raise _fail("Via branch", text)
        case "received":  # via-received = "received" EQUAL (IPv4address / IPv6address)
            bare = value[1:-1] if value is not None and value.startswith("[") else value
            if bare is None or not is_address(bare):
                raise _fail("Via received", text)
        case "rport":  # RFC 3581: response-port = "rport" [EQUAL 1*DIGIT]
            if value is not None:
                parse_port(value)
        case "maddr":  # via-maddr = "maddr" EQUAL host
            if value is None:
                raise _fail("Via maddr", text)
            parse_host(value)
        case "ttl":  # via-ttl = "ttl" EQUAL ttl ; ttl = 1*3DIGIT ; 0 to 255
            if value is None or len(value) > 3:
                raise _fail("Via ttl", text)
            _digits(value, 255, "Via ttl")


@dataclass(slots=True, init=False, unsafe_hash=True)
class NameAddr:
    """From, To, Contact, Route, Record-Route, Refer-To values: name-addr or addr-spec + params.

    ``display_name`` is unquoted and unescaped, ``None`` when absent. ``params`` are the header
    parameters (``tag``, ``expires``, ``q``, ...), not the URI's.
    """

    uri: Final[Uri]
    display_name: Final[str | None]
    params: Final[Params]

    def __init__(
        self, *, uri: Uri, display_name: str | None = None, params: Params = EMPTY_PARAMS
    ) -> None:
        self.uri = uri
        self.display_name = display_name
        self.params = params

    @classmethod
    def parse(cls, text: str) -> "NameAddr":
        """Parse ``( name-addr / addr-spec ) *( SEMI generic-param )`` (§20.10, §20.20, §20.39).

        For an addr-spec written without ``<>``, parameters after it belong to the header field,
        and the URI may not contain ";", "," or "?" (§20.10; RFC 4475 §3.1.2.13, §3.3.12).

        A value without a tag is kept (``_NAME_ADDRS``) and handed out again for the same text:
        a peer's Contact, the To of a number dialled again. A tagged one (a From, a To inside a
        dialog) is new at every call: when its text ends in a tag of letters, digits, "-" and
        "." after the text of a kept value, it is that value with the tag added (a parameter
        after all the others, which parse as they did alone), and the text before the tag is
        parsed and kept for the next one.

        Raises:
            ParseError: a broken quoted-string, spaces inside ``<>`` (RFC 4475 §3.1.2.14), a
                display name that is neither tokens nor quoted (§3.1.2.15), or a bad URI.
        """
        name_addr = _NAME_ADDRS.get(text)
        if name_addr is not None:
            return name_addr
        at = text.rfind(_TAG)
        tag = text[at + len(_TAG) :] if at > 0 else ""
        untagged_text = text[:at] if grammar.is_plain_token(tag) else None
        if untagged_text is not None:
            untagged = _NAME_ADDRS.get(untagged_text)
            if untagged is not None:
                params = Params((*untagged.params.items, ("tag", tag)))
                return NameAddr(uri=untagged.uri, display_name=untagged.display_name,
                                params=params)  # fmt: skip
        name_addr = _parse_name_addr(text)
        if name_addr.tag is None:
            keep(_NAME_ADDRS, _KEPT_MAX, text, name_addr)
        elif untagged_text is not None and len(untagged_text) <= KEPT_TEXT_MAX:
            # It parses: the same text without its last parameter.
            untagged = _parse_name_addr(untagged_text)
            if untagged.tag is None:
                keep(_NAME_ADDRS, _KEPT_MAX, untagged_text, untagged)
        return name_addr

    def __str__(self) -> str:
        name = "" if self.display_name is None else grammar.quote(self.display_name) + " "
        return f"{name}<{self.uri}>{format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        """The tag parameter (§19.3): the dialog id's local or remote part."""
        return self.params.get("tag")

    def with_tag(self, tag: str) -> "NameAddr":
        """A copy with ``tag`` set."""
        return NameAddr(
            uri=self.uri, display_name=self.display_name, params=self.params.replace("tag", tag)
        )

    @property
    def sip_uri(self) -> SipUri | None:
        """The URI if it is a SIP or SIPS URI, else ``None``."""
        return self.uri if isinstance(self.uri, SipUri) else None


#: Parsed values seen lately, by their text (``NameAddr`` without a tag, ``CSeq``): immutable,
#: so one object serves every message that carries the same text. Each is cleared when full,
#: as ``vacant.sip.uri`` does with the URIs it parsed.
_NAME_ADDRS: Final[dict[str, NameAddr]] = {}
_CSEQS: Final[dict[str, "CSeq"]] = {}
#: ``Via.parse``'s kept values, by their text without the branch's value: (Via, the branch's
#: place among its parameters).
_VIA_SHAPES: Final[dict[str, tuple[Via, int]]] = {}
_BRANCH: Final = ";branch="
_TAG: Final = ";tag="
_KEPT_MAX: Final = 2048


def _parse_name_addr(text: str) -> NameAddr:
    """``NameAddr.parse`` without the kept values."""
    plain = grammar.PLAIN_NAME_ADDR.fullmatch(text)
    if plain is not None:
        display, uri_text, params_text = plain.groups()
        return NameAddr(
            uri=parse_uri(uri_text), display_name=display, params=_plain_params(params_text)
        )
    text = text.strip(grammar.WSP)
    display = None
    if text.startswith('"'):
        closed = grammar.QUOTED_BODY.match(text, 1)
        if closed is None:
            raise _fail("display name", text)
        display = grammar.unquote(text[1 : closed.end() - 1])
        open_at = text.find("<", closed.end())
        if open_at < 0 or text[closed.end() : open_at].strip(grammar.WSP):
            raise _fail("name-addr", text)
    else:
        open_at = text.find("<")
        if open_at < 0:
            uri_text, _, _ = text.partition(";")
            uri_text = uri_text.rstrip(grammar.WSP)
            if "?" in uri_text:
                raise _fail("addr-spec (needs <> around a URI with headers)", text)
            return NameAddr(uri=parse_uri(uri_text), params=parse_params(text, len(uri_text)))
        tokens = text[:open_at].rstrip(grammar.WSP)
        if tokens:
            if grammar.DISPLAY_TOKENS.fullmatch(tokens) is None:
                raise _fail("display name", text)
            display = tokens
    close_at = text.find(">", open_at)
    if close_at < 0:
        raise _fail("name-addr", text)
    uri = parse_uri(text[open_at + 1 : close_at])
    return NameAddr(uri=uri, display_name=display, params=parse_params(text, close_at + 1))


@dataclass(slots=True, init=False, unsafe_hash=True)
class CSeq:
    """The CSeq value (§20.16): sequence number and method."""

    number: Final[int]
    method: Final[str]

    def __init__(self, number: int, method: str) -> None:
        self.number = number
        self.method = method

    @classmethod
    def parse(cls, text: str) -> "CSeq":
        """Parse ``1*DIGIT LWS Method``; the number must fit in 32 bits (§8.1.1.5).

        Raises:
            ParseError: malformed, or a number above 2**32-1 (RFC 4475 §3.1.2.4).
        """
        cseq = _CSEQS.get(text)
        if cseq is None:
            match = grammar.CSEQ.fullmatch(text)
            if match is None:
                raise _fail("CSeq", text)
            number, method = match.groups()
            cseq = CSeq(number=_digits(number, _MAX_CSEQ, "CSeq number"), method=method)
            keep(_CSEQS, _KEPT_MAX, text, cseq)
        return cseq

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_max_forwards(text: str) -> int:
    """Parse a Max-Forwards value (§20.22): ``1*DIGIT`` in 0..255 (leading zeros allowed,
    RFC 4475 §3.1.1.1).

    Raises:
        ParseError: not digits, or above 255 (RFC 4475 §3.1.2.4).
    """
    return _digits(text, _MAX_HOPS, "Max-Forwards")


def parse_content_length(text: str) -> int:
    """Parse a Content-Length value (§20.14): ``1*DIGIT``, never negative (RFC 4475 §3.1.2.3);
    at most 10 significant digits are read.

    Raises:
        ParseError: not digits, or absurdly large (more than 2**32-1).
    """
    return _digits(text, _MAX_CSEQ, "Content-Length")


def parse_call_id(text: str) -> str:
    """Check a Call-ID (§25.1 ``callid = word [ "@" word ]``) and return it.

    Raises:
        ParseError: empty or not a callid.
    """
    if grammar.CALLID.fullmatch(text) is None:
        raise _fail("Call-ID", text)
    return text


def parse_media_type(text: str) -> str:
    """The ``type/subtype`` of a Content-Type value (§20.15), lower-cased, parameters dropped.

    Raises:
        ParseError: not ``token "/" token``, or a malformed parameter.
    """
    known = _MEDIA_TYPES.get(text)
    if known is not None:
        return known
    match = grammar.MEDIA_RANGE.match(text)
    if match is None or "*" in match.groups():
        raise _fail("media type", text)
    parse_params(text, match.end())
    return f"{match.group(1)}/{match.group(2)}".lower()
