"""``--sip`` and ``--http`` specifications (IPv6 references as in RFC 5118 §4)."""

from __future__ import annotations

import pytest

from vacant.errors import ConfigError
from vacant.transport.listeners import ListenSpec, parse_http, parse_listen


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("udp:0.0.0.0:5060", ListenSpec("udp", "0.0.0.0", 5060)),
        ("TCP:127.0.0.1", ListenSpec("tcp", "127.0.0.1", 5060)),
        ("tls:127.0.0.1", ListenSpec("tls", "127.0.0.1", 5061)),
        ("udp:[::1]:5070", ListenSpec("udp", "::1", 5070)),
        ("udp:[::1]", ListenSpec("udp", "::1", 5060)),
    ],
)
def test_listener_specs_parse(spec: str, expected: ListenSpec) -> None:
    assert parse_listen(spec) == expected


def test_listener_prints_ipv6_in_brackets() -> None:
    assert str(ListenSpec("udp", "::1", 5060)) == "udp:[::1]:5060"


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("sctp:1.2.3.4:5060", "udp:, tcp: or tls:"),
        ("5060", "udp:, tcp: or tls:"),
        ("udp:example.com:5060", "not an IP address"),
        ("udp:[::1:5060", "[::1]:5060"),
        ("udp:[::1]5060", "[::1]:5060"),
        ("udp:1.2.3.4:99999", "0 to 65535"),
        ("udp:1.2.3.4:x", "0 to 65535"),
    ],
)
def test_bad_listener_specs_name_the_rule(spec: str, rule: str) -> None:
    with pytest.raises(ConfigError, match=rule.replace("[", r"\[").replace("]", r"\]")):
        parse_listen(spec)


def test_http_spec() -> None:
    assert parse_http("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_http("[::1]:8080") == ("::1", 8080)
