"""``vacant serve``'s media options: --rtp-ports, --media-address and its default."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from vacant.cli.commands.serve import _media_address, _port_range
from vacant.errors import ConfigError
from vacant.service.app import Application, ServeOptions
from vacant.transport.listeners import ListenSpec


@pytest.mark.parametrize(
    ("text", "ports"), [("20000-29999", (20000, 29999)), ("1024-1025", (1024, 1025))]
)
def test_rtp_ports_range(text: str, ports: tuple[int, int]) -> None:
    assert _port_range(text) == ports


@pytest.mark.parametrize(
    "text", ["20000", "a-b", "29999-20000", "80-90", "20000-70000", "20001-20002", "-1-5"]
)
def test_rtp_ports_must_hold_an_even_odd_pair_within_1024_65535(text: str) -> None:
    with pytest.raises(ConfigError, match="--rtp-ports"):
        _port_range(text)


def test_media_address_must_be_an_ip_literal() -> None:
    assert _media_address(None) is None
    assert _media_address("192.0.2.10") == "192.0.2.10"
    assert _media_address("[::1]") == "::1"
    with pytest.raises(ConfigError, match="--media-address"):
        _media_address("media.example.com")


@pytest.mark.parametrize(
    ("sip", "given", "expected"),
    [
        ((ListenSpec("udp", "192.0.2.5", 5060),), None, "192.0.2.5"),
        ((ListenSpec("udp", "0.0.0.0", 5060),), None, "127.0.0.1"),
        ((ListenSpec("udp", "::", 5060),), None, "127.0.0.1"),
        ((ListenSpec("udp", "0.0.0.0", 5060),), "198.51.100.7", "198.51.100.7"),
    ],
)
def test_media_address_defaults_to_the_sip_host_unless_wildcard(
    sip: tuple[ListenSpec, ...], given: str | None, expected: str
) -> None:
    engine = create_engine("sqlite://")
    try:
        options = ServeOptions(sip=sip, media_address=given)
        app = Application(engine, options, report=lambda _: None)
        assert app.media_address == expected
    finally:
        engine.dispose()
