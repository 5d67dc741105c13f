"""Fuzz harness for the SIP message layer (atheris / libFuzzer).

The contract, as h11's: whatever the octets, ``parse_message`` returns a message or raises
``ParseError``, and nothing else escapes any public entry point that a received message reaches
(typed views, ``validate_request``/``validate_response``, ``make_response``,
``reply_to_unparseable``, ``StreamFramer``). On top of that, what we send must parse: a parsed
message re-serialized parses back to the same octets, and every response we build parses.

Run from the repository root (atheris is not a project dependency; see docs/sip.md, "Fuzzing"):

    .venv/bin/pip install atheris
    mkdir -p /tmp/sip-corpus
    .venv/bin/python fuzz/fuzz_message.py -runs=5000000 -seed=1 -print_final_stats=1 \
        /tmp/sip-corpus tests/unit/sip/fixtures/rfc4475 tests/unit/sip/fixtures/rfc5118

The first directory receives new inputs; the fixture folders only seed it. libFuzzer's ``-jobs``
re-executes ``argv[0]``, which fails for a script, so for two cores start two processes with
different ``-seed`` values sharing the corpus directory.
"""

import random
import sys
from contextlib import suppress

import atheris

with atheris.instrument_imports():
    from vacant.errors import ParseError
    from vacant.sip import (
        Limits,
        Message,
        Ping,
        Request,
        StreamFramer,
        make_response,
        parse_message,
        reply_to_unparseable,
        validate_request,
        validate_response,
    )

# Re-serialized messages may grow (escapes, Content-Length): re-parse them with room to spare.
ROOMY = Limits(max_message_size=1 << 22, max_headers=1 << 16, max_body_size=1 << 22)
VIEWS = (
    "top_via",
    "vias",
    "call_id",
    "cseq",
    "from_",
    "to",
    "max_forwards",
    "content_type",
    "contacts",
    "routes",
    "record_routes",
)


def _round_trip(message: Message) -> None:
    wire = message.serialize()
    again = parse_message(wire, ROOMY)
    if again.serialize() != wire:
        raise AssertionError(f"serialize(parse(serialize(m))) != serialize(m): {wire!r}")


def _exercise(message: Message, rng: random.Random) -> None:
    for view in VIEWS:
        with suppress(ParseError):
            getattr(message, view)
    if isinstance(message, Request):
        rejection = validate_request(message)
        if rejection is None:
            reply = make_response(message, 200, rng)
        else:
            reply = make_response(message, rejection.status, rng, headers=rejection.headers)
        _round_trip(reply)
    else:
        validate_response(message)
    _round_trip(message)


def _frame(data: bytes, split: int) -> None:
    framer = StreamFramer()
    try:
        for chunk in (data[:split], data[split:]):
            framer.feed(chunk)
            while (frame := framer.next_frame()) is not None:
                if isinstance(frame, Ping):
                    continue
                with suppress(ParseError):
                    parse_message(frame)
    except ParseError:
        pass


def test_one_input(data: bytes) -> None:
    rng = random.Random(len(data))
    try:
        message = parse_message(data)
    except ParseError as exc:
        if exc.status_hint is not None:
            reply = reply_to_unparseable(data, exc.status_hint, rng)
            if reply is not None:
                _round_trip(reply)
    else:
        _exercise(message, rng)
    _frame(data, len(data) // 3)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
