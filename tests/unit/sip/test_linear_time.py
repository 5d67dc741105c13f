"""The parser stays linear: inputs built to make a backtracking parser go quadratic or worse.

Each input is about as large as a datagram can be (64 KiB). Linear work on it takes
milliseconds; a quadratic path would take many seconds, so a one-second bound is generous on a
busy machine and still catches the regression.
"""

import contextlib
import time
from collections.abc import Callable

import pytest

from vacant.errors import ParseError
from vacant.sip import (
    Limits,
    NameAddr,
    StreamFramer,
    Via,
    parse_message,
    parse_params,
    parse_uri,
    split_commas,
)

N = 60_000
ROOMY = Limits(max_message_size=1 << 20, max_headers=1 << 16, max_body_size=1 << 20)


def _request(field: str) -> bytes:
    return f"OPTIONS sip:a@b.example SIP/2.0\r\n{field}\r\n\r\n".encode()


CASES: dict[str, Callable[[], object]] = {
    "uri user run without @": lambda: parse_uri("sip:" + "a;" * (N // 2) + "!"),
    "uri password run without @": lambda: parse_uri("sip:a:" + "b" * N + ";x"),
    "uri hostname labels then a bad toplabel": lambda: parse_uri("sip:" + "a." * (N // 2) + "1"),
    "uri hostname hyphen runs": lambda: parse_uri("sip:" + "a-" * (N // 2) + "!"),
    "uri params without end": lambda: parse_uri("sip:h" + ";a=b" * (N // 4) + ";="),
    "uri escapes broken at the end": lambda: parse_uri("sip:" + "%41" * (N // 3) + "%4"),
    "absolute uri": lambda: parse_uri("x:" + "%41" * (N // 3) + "%"),
    "via host run": lambda: Via.parse("SIP/2.0/UDP " + "a" * N + ":x"),
    "via transport run without space": lambda: Via.parse("SIP/2.0/" + "U" * N),
    "via params": lambda: Via.parse("SIP/2.0/UDP h" + " ; a = b" * (N // 8) + ";"),
    "quoted display name never closed": lambda: NameAddr.parse('"' + "\\a" * (N // 2)),
    "many quotes": lambda: NameAddr.parse('"' * N + "<sip:a@b>"),
    "many angle brackets": lambda: NameAddr.parse("<" * N),
    "display tokens then junk": lambda: NameAddr.parse("a " * (N // 2) + "@<sip:a@b>"),
    "params quoted never closed": lambda: parse_params(';a="' + "x" * N),
    "commas in quotes": lambda: split_commas('"' + "," * N + '"' + ",a" * 10),
    "commas and brackets": lambda: split_commas("<a>," * (N // 4)),
    "many short fields": lambda: parse_message(_request("X: y\r\n" * (N // 6)), ROOMY),
    "many folded lines": lambda: parse_message(_request("X: y" + "\r\n z" * (N // 4)), ROOMY),
    "long field value": lambda: parse_message(_request("X:" + " " * N + "y"), ROOMY),
    "leading zeros": lambda: parse_message(_request("CSeq: " + "0" * N + "1 OPTIONS"), ROOMY),
    "crlf before start line": lambda: parse_message(b"\r\n" * N),
    "no empty line": lambda: parse_message(b"INVITE " + b"x\r\n" * N),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_adversarial_input_is_parsed_or_refused_in_linear_time(name: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        CASES[name]()
    assert time.perf_counter() - started < 1.0


def test_stream_fed_in_tiny_pieces_never_rescans_the_header_section() -> None:
    framer = StreamFramer(ROOMY)
    data = _request("X: y\r\n" * (N // 6) + "l: 0")
    started = time.perf_counter()
    frames = []
    for at in range(0, len(data), 7):
        framer.feed(data[at : at + 7])
        frames.append(framer.next_frame())
    assert time.perf_counter() - started < 1.0
    assert frames[-1] == data
