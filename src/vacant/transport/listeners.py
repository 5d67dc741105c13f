"""Listener specifications: ``udp:HOST:PORT``, ``tcp:HOST:PORT``, ``tls:HOST:PORT``.

IPv6 hosts are written in brackets, as in a SIP URI (RFC 3261 §19.1.1, RFC 5118 §4):
``udp:[::1]:5060``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import cast, get_args

from vacant.errors import ConfigError
from vacant.sip.events import Transport

DEFAULT_PORTS: dict[Transport, int] = {"udp": 5060, "tcp": 5060, "tls": 5061}


@dataclass(frozen=True, slots=True)
class ListenSpec:
    transport: Transport
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}:{host}:{self.port}"


def parse_listen(spec: str) -> ListenSpec:
    """Parse ``TRANSPORT:HOST[:PORT]``; raises :class:`ConfigError` naming what is wrong."""
    transport, sep, rest = spec.partition(":")
    transport = transport.lower()
    if not sep or transport not in get_args(Transport):
        raise ConfigError(f"--sip {spec!r}: must start with udp:, tcp: or tls:")
    if rest.startswith("["):
        host, bracket, after = rest[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ConfigError(f"--sip {spec!r}: an IPv6 host is written [::1]:5060")
        port_text = after[1:]
    else:
        host, _, port_text = rest.partition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"--sip {spec!r}: {host!r} is not an IP address") from None
    kind = cast(Transport, transport)
    port = DEFAULT_PORTS[kind] if not port_text else _port(port_text, spec)
    return ListenSpec(kind, str(address), port)


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ConfigError(f"--sip {spec!r}: port must be 0 to 65535")
    return int(text)


def parse_http(spec: str) -> tuple[str, int]:
    """Parse ``HOST:PORT`` for ``--http`` (IPv6 in brackets)."""
    parsed = parse_listen(f"tcp:{spec}")
    return parsed.host, parsed.port
