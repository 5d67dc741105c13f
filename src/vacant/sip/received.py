"""Where a request's responses go: ``received`` and ``rport`` stamped into its top Via (§18.2.1,
RFC 3581 §4) and the destination §18.2.2 names (the connection for TCP/TLS, else the source
address, with the rport port or the sent-by port).
"""

import ipaddress
from typing import Final

from vacant.sip.events import Address
from vacant.sip.fields import Via
from vacant.sip.headers import split_commas
from vacant.sip.message import Request
from vacant.sip.uri import is_address

#: §18.2.2: "using the port indicated in the sent-by value, or using port 5060 if none".
DEFAULT_PORT: Final = 5060
# The typed views that depend on the Via fields (``Message.top_via``, ``Message.vias``).
_VIA_VIEWS: Final = frozenset({"top_via", "vias"})
# RFC 3261 §25.1 port = 1*DIGIT; a 16-bit number.
_MAX_PORT: Final = 65535


def stamp_received(request: Request, via: Via, source: Address, reliable: bool) -> Address:
    """Add ``received`` and fill ``rport`` in the top Via (§18.2.1, RFC 3581 §4); return
    where responses go (§18.2.2, RFC 3581 §4)."""
    rport = via.rport_requested
    if rport or not _same_host(via.host, source.host):
        # RFC 3581 §4: with rport, received is added "even if it is identical" to sent-by.
        host = source.host
        params = via.params.replace("received", host)
        valid = is_address(host)
        if rport:
            rport_text = str(source.port)
            params = params.replace("rport", rport_text)
            valid = valid and len(rport_text) <= 5 and rport_text.isdigit()
            valid = valid and int(rport_text) <= _MAX_PORT
        # A parsed Via with a valid received and rport renders to text that parses back to
        # the same value, so the new top Via need not be parsed again.
        _replace_top_via(request, via.with_params(params), reparse=not valid)
    if reliable:
        # §18.2.2: "the response MUST be sent using the existing connection".
        return source
    maddr = via.maddr
    port = via.port or DEFAULT_PORT
    if maddr is not None:
        return Address(maddr, port, source.transport)
    if rport or port == source.port:
        return source  # RFC 3581 §4: back to the source address and port (or the same)
    return Address(source.host, port, source.transport)


def _same_host(sent_by: str, source: str) -> bool:
    """Whether the sent-by host is the packet's source address (§18.2.1)."""
    if sent_by == source:
        return True
    try:
        return ipaddress.ip_address(sent_by) == ipaddress.ip_address(source)
    except ValueError:
        return False  # a domain name: always gets "received"


def _replace_top_via(request: Request, via: Via, *, reparse: bool) -> None:
    """Put ``via`` in place of the first Via value, leaving every other field as it was. The
    views of the other fields stay cached; unless ``reparse``, ``via`` becomes ``top_via``."""
    headers = request.headers
    old = headers.get("via") or ""
    rest = split_commas(old)[1:] if "," in old else []
    kept = headers.views
    headers.replace_first("via", ", ".join([str(via), *rest]))
    views = headers.views
    for name, view in kept.items():
        if name not in _VIA_VIEWS:
            views[name] = view
    if not reparse:
        views["top_via"] = via
