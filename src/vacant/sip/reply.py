"""Building the response to a request (RFC 3261 §8.2.6), parsed or not, and the ACK for a
non-2xx response (§17.1.1.3).

``make_response`` answers a parsed request. ``reply_to_unparseable`` answers the octets of a
request that ``parse_message`` refused with a status hint: it reads what it can of the header
section, tolerating the line that broke the parser, and returns ``None`` when the fields a response
needs are not there (then the request is dropped). Neither ever answers an ACK (§17.1.1.3) or a
response.
"""

import random
from collections.abc import Iterable
from typing import Final

from vacant.errors import ParseError
from vacant.sip import grammar
from vacant.sip.fields import NameAddr, Via
from vacant.sip.headers import Headers
from vacant.sip.message import DEFAULT_LIMITS, Limits, Request, Response, skip_leading_crlf
from vacant.sip.status import StatusCode

# The fields §8.2.6.2 copies from request to response, as (key, name written).
_COPIED: Final = (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq"))


def new_tag(rng: random.Random) -> str:
    """A fresh tag (§19.3: globally unique, at least 32 random bits): 64 bits in hex."""
    return rng.getrandbits(64).to_bytes(8, "big").hex()  # as f"{...:016x}", in half the time


def make_response(
    request: Request,
    status: int,
    rng: random.Random,
    *,
    to_tag: str | None = None,
    reason: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """The response to ``request`` with ``status``, built as §8.2.6 says.

    Copies every Via value in order, From, To, Call-ID and CSeq (§8.2.6.2), and Timestamp into a
    100 (§8.2.6.1). If To has no tag, one is added to every response but 100 Trying: ``to_tag``
    when given (all responses of one dialog must share it), else a new one from ``rng``.
    ``headers`` are appended, then Content-Length.

    Works on requests ``validate_request`` refused too: a field that is missing is not invented
    (a client matches the response by the top Via branch and the CSeq method, §17.1.3), and a To
    that does not parse is copied without a tag.

    Raises:
        ValueError: ``status`` is outside 100..699, or an extra header is not a valid field.
    """
    try:
        has_tag: bool | None = request.to.tag is not None
    except ParseError:
        has_tag = None
    return _respond(request.headers, status, rng, has_tag, to_tag, reason, headers, body)


def _respond(
    source: Headers,
    status: int,
    rng: random.Random,
    has_tag: bool | None,
    to_tag: str | None,
    reason: str | None,
    extra: Iterable[tuple[str, str]],
    body: bytes,
) -> Response:
    out = Headers()
    for via in source.get_all("via"):
        out.add("Via", via)
    for key, name in _COPIED:
        value = source.get(key)
        if value is None:
            continue
        if key == "to" and has_tag is False and status != StatusCode.TRYING:
            # §8.2.6.2: "the UAS MUST add a tag to the To header field in the response (with
            # the exception of the 100 (Trying) response, in which a tag MAY be present)."
            value = f"{value};tag={to_tag if to_tag is not None else new_tag(rng)}"
        out.add(name, value)
    timestamp = source.get("timestamp")
    if status == StatusCode.TRYING and timestamp is not None:
        out.add("Timestamp", timestamp)
    for name, value in extra:
        out.add(name, value)
    out.add("Content-Length", str(len(body)))
    return Response(status, reason, out, body)


def reply_to_unparseable(
    data: bytes,
    status: int,
    rng: random.Random,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Response | None:
    """The ``status`` response to request octets the parser refused, or ``None`` to drop them.

    Reads at most ``limits.max_message_size`` octets and ``limits.max_headers`` fields, skipping
    lines that are not fields. Needs Via, From, To, Call-ID and CSeq, and a top Via that parses
    (the response is routed by it, §18.2.2) and CSeq (the client matches by branch and CSeq
    method, §17.1.3); copies every field §8.2.6.2 names that is present, raw. A To tag is added
    when To parses and has none; a To that does not parse is copied as it is.
    """
    data = data[: limits.max_message_size]
    start = skip_leading_crlf(data)
    end = data.find(b"\r\n\r\n", start)
    head = data[start : end if end >= 0 else len(data)].decode("utf-8", "surrogateescape")
    first, _, rest = head.partition("\r\n")
    if first[:4].upper() == "SIP/" or first.partition(" ")[0] == "ACK":
        return None
    source = _tolerant_fields(rest, limits.max_headers)
    if "via" not in source or "cseq" not in source:
        return None
    try:
        top = source.first_value("via")
        Via.parse(top or "")
    except ParseError:
        return None
    try:
        has_tag: bool | None = NameAddr.parse(source.get("to") or "").tag is not None
    except ParseError:
        has_tag = None
    return _respond(source, status, rng, has_tag, None, None, (), b"")


def _tolerant_fields(text: str, max_headers: int) -> Headers:
    """Header fields from ``text``, unfolded, skipping every line that is not a good field."""
    fields: list[list[str]] = []
    for line in text.split("\r\n"):
        if "\r" in line or "\n" in line:
            continue
        if line[:1] in (" ", "\t"):
            if fields:
                fields[-1].append(line.strip(grammar.WSP))
            continue
        if len(fields) >= max_headers:
            break
        name, colon, value = line.partition(":")
        name = name.rstrip(grammar.WSP)
        if colon and grammar.is_token(name):
            fields.append([name, value.strip(grammar.WSP)])
    headers = Headers()
    for name, *parts in fields:
        headers.add(name, " ".join(part for part in parts if part))
    return headers


def build_ack(invite: Request, response: Response) -> bytes:
    """The ACK for a 300-699 response to ``invite`` (§17.1.1.3).

    Request-URI, Call-ID, From and the CSeq number are the INVITE's, To is the response's (with
    its tag), the single Via is the INVITE's top Via, and Route is copied from the INVITE.
    """
    headers = invite.headers
    lines = [f"ACK {invite.uri} SIP/2.0", f"Via: {headers.first_value('via')}"]
    lines += [f"Route: {route}" for route in headers.get_all("route")]
    lines += [
        "Max-Forwards: 70",
        f"From: {headers.get('from')}",
        f"To: {response.headers.get('to')}",
        f"Call-ID: {headers.get('call-id')}",
        f"CSeq: {invite.cseq.number} ACK",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")
