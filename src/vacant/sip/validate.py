"""Server-side checks of a parsed request (RFC 3261 §8.2): which response to refuse it with.

``validate_request`` runs these checks in order and stops at the first failure:

1. 400: Via, From, To, Call-ID or CSeq missing, repeated or malformed, or Max-Forwards repeated
   or malformed (§8.1.1, §20; RFC 4475 §3.1.2.1, §3.1.2.4, §3.1.2.6, §3.1.2.14, §3.3.1, §3.3.8).
2. 400: the top Via branch is only the magic cookie ``z9hG4bK`` (§8.1.1.7; RFC 4475 §3.2.1).
3. 501 with Allow: a method nobody defines (§21.5.2); 405 with Allow: a method defined
   (``KNOWN_METHODS``) but not ours (§8.2.1).
4. 400: the CSeq method differs from the request's (§8.1.1.5; RFC 4475 §3.1.2.17).
5. 416: a Request-URI scheme not in ``Capabilities.schemes`` (§8.2.2.1; RFC 4475 §3.3.2);
   400: a Request-URI with URI headers (§19.1.1 Table 1; RFC 4475 §3.1.2.11).
6. 483: Max-Forwards 0 on anything but OPTIONS (§16.3 step 2; §11; RFC 4475 §3.3.11).
7. 420 with Unsupported: Require names an option tag we lack (§8.2.2.3; RFC 4475 §3.3.5).
8. 400: a malformed Contact on a request that sets a target or binds (§8.1.1.8, §20.10; RFC 4475
   §3.1.2.13); a REGISTER whose To is not a SIP/SIPS URI (§10.2; RFC 4475 §3.3.4).
9. 400: a body without Content-Type (§20.15); 415 with Accept or Accept-Encoding: a body type or
   encoding we do not handle (§8.2.3; RFC 4475 §3.3.6).
10. 406 with Accept and Warning 399: an INVITE whose Accept excludes every type we can answer
    with (§21.4.7; RFC 4475 §3.3.15).

An ACK is never answered (§17.1.1.3): a rejection of an ACK means "discard it".
Merged requests (482), unknown dialogs (481) and CANCEL matching belong to the transaction and
dialog layers, which can trust the fields checked here.

``validate_response`` tells a UAC core which responses to discard (§8.1.3.3, RFC 4475 §3.1.2.5 and
§3.3.10).
"""

from dataclasses import dataclass
from typing import Final

from vacant.errors import ParseError
from vacant.sip import grammar
from vacant.sip.fields import MAGIC_COOKIE
from vacant.sip.message import Request, Response
from vacant.sip.status import StatusCode
from vacant.sip.uri import SipUri

#: Methods defined by RFC 3261 and the extensions in common use (RFC 3262, 3265/6665, 3311, 3428,
#: 3515, 3903, 6086): a method outside this set is answered 501, one inside it but not ours 405.
KNOWN_METHODS: Final = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)

# Requests whose Contact sets or refreshes a remote target (§12.1, §12.2) or binds (§10).
_CONTACT_METHODS: Final = frozenset(
    {"INVITE", "REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "UPDATE"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What this user agent server accepts.

    Attributes:
        methods: methods we process; others get 405 (known) or 501 (unknown).
        extensions: option tags we support (e.g. ``"timer"``); any other in Require gets 420.
        schemes: Request-URI schemes we serve; others get 416.
        content_types: body types we understand (and send); others get 415.
    """

    # vacant answers calls and, after a REFER, receives the NOTIFYs of its implicit subscription.
    methods: frozenset[str] = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "NOTIFY"})
    extensions: frozenset[str] = frozenset()
    schemes: frozenset[str] = frozenset({"sip", "sips", "tel"})
    content_types: frozenset[str] = frozenset({"application/sdp"})

    @property
    def allow(self) -> str:
        """The Allow header value (§20.5): our methods, in a stable order."""
        return ", ".join(sorted(self.methods))

    @property
    def accept(self) -> str:
        """The Accept header value (§20.1): the body types we understand."""
        return ", ".join(sorted(self.content_types))


DEFAULT_CAPABILITIES: Final = Capabilities()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """Why a request is refused: the status, a detail for logs, and headers the answer needs."""

    status: StatusCode
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


def validate_request(
    request: Request, capabilities: Capabilities = DEFAULT_CAPABILITIES
) -> Rejection | None:
    """Check ``request`` as a UAS must before acting on it; ``None`` means acceptable.

    Builds every typed view it checks, so the transaction and dialog layers can read
    ``top_via``, ``cseq``, ``call_id``, ``from_`` and ``to`` afterwards without failing.
    """
    caps = capabilities
    method = request.method
    # §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in every request;
    # Max-Forwards may be absent from an RFC 2543 request (RFC 4475 §3.4.1).
    try:
        if not request.vias:
            raise ParseError("missing Via header field")
        _ = (request.call_id, request.cseq, request.from_, request.to, request.max_forwards)
    except ParseError as exc:
        return Rejection(status=StatusCode.BAD_REQUEST, detail=str(exc))
    # §8.1.1.7: a branch starts with the magic cookie and goes on with a part unique to the
    # transaction; the cookie alone identifies nothing. RFC 4475 §3.2.1 lets us refuse it (400)
    # rather than fall back to RFC 2543 matching, so the transaction layer never sees one.
    if request.top_via.branch == MAGIC_COOKIE:
        return Rejection(status=StatusCode.BAD_REQUEST, detail="branch is only the magic cookie")

    # §8.2.1: a method we do not support gets 405 with Allow; §21.5.2: one nobody knows, 501.
    if method not in caps.methods:
        status = (
            StatusCode.METHOD_NOT_ALLOWED if method in KNOWN_METHODS else StatusCode.NOT_IMPLEMENTED
        )
        return Rejection(status=status, detail=f"method {method}", headers=(("Allow", caps.allow),))

    # §8.1.1.5: "The method MUST match that of the request" (RFC 4475 §3.1.2.17).
    if request.cseq.method != method:
        return Rejection(
            status=StatusCode.BAD_REQUEST,
            detail=f"CSeq method {request.cseq.method} differs from {method}",
        )

    # §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject
    # the request with a 416 (Unsupported URI Scheme) response."
    uri = request.uri
    if uri.scheme not in caps.schemes:
        return Rejection(status=StatusCode.UNSUPPORTED_URI_SCHEME, detail=f"scheme {uri.scheme}")
    # §19.1.1 Table 1: URI headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
    if isinstance(uri, SipUri) and uri.headers:
        return Rejection(status=StatusCode.BAD_REQUEST, detail="headers in the Request-URI")

    # §16.3 step 2 (and §11): no hops left is 483, except that OPTIONS may be answered.
    if request.max_forwards == 0 and method != "OPTIONS":
        return Rejection(status=StatusCode.TOO_MANY_HOPS, detail="Max-Forwards is 0")

    # §8.2.2.3: every option tag in Require must be supported, else 420 listing the unknown
    # ones in Unsupported. Require in ACK and CANCEL MUST be ignored.
    if method not in ("ACK", "CANCEL"):
        rejection = _check_require(request, caps)
        if rejection is not None:
            return rejection

    rejection = _check_target(request, caps)
    if rejection is not None:
        return rejection
    return _check_body(request, caps)


def _check_require(request: Request, caps: Capabilities) -> Rejection | None:
    try:
        tags = [tag for tag in request.headers.values("require") if tag]
    except ParseError as exc:
        return Rejection(status=StatusCode.BAD_REQUEST, detail=str(exc))
    if not tags:
        return None
    if not all(grammar.is_token(tag) for tag in tags):
        return Rejection(status=StatusCode.BAD_REQUEST, detail="Require holds a non-token")
    supported = {tag.lower() for tag in caps.extensions}  # tokens compare case-insensitively
    unsupported = [tag for tag in tags if tag.lower() not in supported]
    if not unsupported:
        return None
    return Rejection(
        status=StatusCode.BAD_EXTENSION,
        detail=f"unsupported extensions {unsupported}",
        headers=(("Unsupported", ", ".join(unsupported)),),
    )


def _check_target(request: Request, caps: Capabilities) -> Rejection | None:
    method = request.method
    if method not in _CONTACT_METHODS:
        return None
    # §8.1.1.8: the Contact of a request that can set up a dialog is the remote target; a
    # REGISTER may carry "*" to remove every binding (§10.2.2).
    if not (method == "REGISTER" and request.headers.get("contact") == "*"):
        try:
            _ = request.contacts
        except ParseError as exc:
            return Rejection(status=StatusCode.BAD_REQUEST, detail=str(exc))
    # §10.2: the To of a REGISTER is the address-of-record, a SIP or SIPS URI; RFC 4475 §3.3.4
    # has a registrar answer 400 to any other.
    if method == "REGISTER" and not isinstance(request.to.uri, SipUri):
        return Rejection(status=StatusCode.BAD_REQUEST, detail="REGISTER To is not a SIP URI")
    return None


def _check_body(request: Request, caps: Capabilities) -> Rejection | None:
    try:
        media_type = request.content_type
        encodings = [e.lower() for e in request.headers.values("content-encoding") if e]
    except ParseError as exc:
        return Rejection(status=StatusCode.BAD_REQUEST, detail=str(exc))
    if request.body:
        # §20.15: "The Content-Type header field MUST be present if the body is not empty."
        if media_type is None:
            return Rejection(status=StatusCode.BAD_REQUEST, detail="body without Content-Type")
        # §8.2.3: a body we cannot process is refused with 415, listing what we accept.
        if media_type not in caps.content_types:
            return Rejection(
                status=StatusCode.UNSUPPORTED_MEDIA_TYPE,
                detail=f"body type {media_type}",
                headers=(("Accept", caps.accept),),
            )
        if any(encoding != "identity" for encoding in encodings):
            return Rejection(
                status=StatusCode.UNSUPPORTED_MEDIA_TYPE,
                detail=f"content encodings {encodings}",
                headers=(("Accept-Encoding", "identity"),),
            )
    if request.method == "INVITE" and request.has("accept"):
        return _check_accept(request, caps)
    return None


def _check_accept(request: Request, caps: Capabilities) -> Rejection | None:
    # §20.1: an empty Accept means no format is acceptable. An INVITE's answer carries a
    # session description, so one of our types must be acceptable (RFC 4475 §3.3.15: 406,
    # with a Warning 399).
    try:
        ranges = request.headers.values("accept")
    except ParseError as exc:
        return Rejection(status=StatusCode.BAD_REQUEST, detail=str(exc))
    for text in ranges:
        match = grammar.MEDIA_RANGE.match(text)
        if match is None:
            continue
        kind, sub = match.group(1).lower(), match.group(2).lower()
        for ours in caps.content_types:
            our_kind, _, our_sub = ours.partition("/")
            if kind in ("*", our_kind) and sub in ("*", our_sub):
                return None
    return Rejection(
        status=StatusCode.NOT_ACCEPTABLE,
        detail="Accept excludes every type we answer with",
        headers=(
            ("Accept", caps.accept),
            ("Warning", f'399 vacant "Only {caps.accept} can be sent"'),
        ),
    )


def validate_response(response: Response) -> str | None:
    """Why a UAC core should discard ``response``, or ``None`` to process it.

    Discards a response whose Via, CSeq, Call-ID, From or To is missing or malformed (RFC 4475
    §3.1.2.5: overlarge CSeq), and one with more than one Via value (§8.1.3.3: it was not meant
    for us; RFC 4475 §3.3.10).
    """
    try:
        vias = response.vias
        _ = (response.cseq, response.call_id, response.from_, response.to)
    except ParseError as exc:
        return str(exc)
    if len(vias) != 1:
        return f"{len(vias)} Via values (§8.1.3.3)"
    return None
