"""Shared helpers for the SIP message-layer tests.

Helpers are handed out by fixtures rather than imported, so the tests work whether or not the
test folders above this one become packages.
"""

import random
from collections.abc import Iterable
from types import SimpleNamespace

import pytest

CRLF = "\r\n"

BASE_REQUEST_FIELDS: tuple[tuple[str, str], ...] = (
    ("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds"),
    ("Max-Forwards", "70"),
    ("To", "<sip:+15551234567@vacant.example.com>"),
    ("From", '"Alice" <sip:alice@pbx.example.com>;tag=1928301774'),
    ("Call-ID", "a84b4c76e66710@pc33.example.com"),
    ("CSeq", "314159 INVITE"),
    ("Contact", "<sip:alice@192.0.2.10:5060>"),
)


def request_bytes(
    method: str = "INVITE",
    uri: str = "sip:+15551234567@vacant.example.com",
    fields: Iterable[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    replace: dict[str, str | None] | None = None,
    extra: Iterable[tuple[str, str]] = (),
    content_length: bool = True,
) -> bytes:
    """A request on the wire: BASE_REQUEST_FIELDS (CSeq method following ``method``), with
    ``replace`` overriding or (``None``) removing fields by name, then ``extra``, then
    Content-Length."""
    base = (
        list(fields)
        if fields is not None
        else [
            (name, f"314159 {method}" if name == "CSeq" else value)
            for name, value in BASE_REQUEST_FIELDS
        ]
    )
    replace = replace or {}
    lines = [f"{method} {uri} SIP/2.0"]
    for name, value in base:
        if name in replace:
            new = replace[name]
            if new is not None:
                lines.append(f"{name}: {new}")
        else:
            lines.append(f"{name}: {value}")
    lines += [f"{name}: {value}" for name, value in extra]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    return (CRLF.join(lines) + CRLF + CRLF).encode() + body


def response_bytes(
    status: int = 200,
    reason: str = "OK",
    *,
    vias: Iterable[str] = ("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",),
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """A response on the wire, with one Via by default."""
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in vias]
    lines += [
        "To: <sip:+15551234567@vacant.example.com>;tag=a6c85cf",
        'From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774',
        "Call-ID: a84b4c76e66710@pc33.example.com",
        "CSeq: 314159 INVITE",
    ]
    lines += [f"{name}: {value}" for name, value in extra]
    lines.append(f"Content-Length: {len(body)}")
    return (CRLF.join(lines) + CRLF + CRLF).encode() + body


@pytest.fixture
def rng() -> random.Random:
    """A seeded random source: tags and branches come out the same on every run."""
    return random.Random(4475)


@pytest.fixture(scope="session")
def wire() -> SimpleNamespace:
    """The wire-message builders: ``wire.request(...)``, ``wire.response(...)``."""
    return SimpleNamespace(request=request_bytes, response=response_bytes)
