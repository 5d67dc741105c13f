"""Cutting SIP messages out of a TCP or TLS byte stream (RFC 3261 §18.3, RFC 5626 §4.4.1).

Theory of operation: the transport feeds whatever octets arrive with ``feed()`` and then calls
``next_frame()`` until it returns ``None``. A frame is the octets of exactly one message, which go
to ``parse_message`` like a datagram would. Between messages:

- a double CRLF is a keep-alive "ping" (RFC 5626 §4.4.1): ``next_frame()`` returns ``PING`` and
  the transport answers with ``PONG`` (one CRLF);
- a lone CRLF (a "pong", or padding before a start line, which RFC 3261 §7.5 says to ignore) is
  skipped.

On a stream, Content-Length is mandatory (§18.3, §20.14): without it, or with a value that is not
a number, there is no way to find the next message. Those errors, and a header section or body
beyond ``Limits``, raise ``ParseError`` and leave the framer failed: every later call raises too,
and the transport closes the connection. ``rejected`` then holds the octets read so far, from which
``reply_to_unparseable`` can still build a 400 or 513 for a request before closing.

The buffer never holds more than one message's limit of unconsumed octets, plus what a single
``feed()`` brought; finding the end of the header section never rescans octets already searched,
so the work is linear in the octets received.
"""

import re
from dataclasses import dataclass
from typing import Final

from vacant.errors import ParseError
from vacant.sip.message import DEFAULT_LIMITS, Limits, request_hint

#: What to send back for a PING (RFC 5626 §4.4.1: "the server responds with a single CRLF").
PONG: Final = b"\r\n"

# Content-Length lines in a header section, long or compact name (§7.3.3), value possibly folded.
_CONTENT_LENGTH: Final = re.compile(
    rb"\r\n(?:content-length|l)[ \t]*:((?:[^\r]|\r\n[ \t])*)", re.IGNORECASE
)
_MAX_LENGTH_DIGITS: Final = 10


@dataclass(frozen=True, slots=True)
class Ping:
    """A double-CRLF keep-alive from the peer (RFC 5626 §4.4.1); answer it with ``PONG``."""


PING: Final = Ping()


class StreamFramer:
    """Splits one connection's byte stream into message frames; one framer per connection."""

    __slots__ = ("_buffer", "_failed", "_frame_end", "_limits", "_pos", "_scan_from", "rejected")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._pos = 0  # start of the octets not yet returned
        self._scan_from = 0  # no header end starts before this offset
        self._frame_end: int | None = None  # known end of the current frame, body included
        self._failed = False
        #: The octets of the message that broke framing, once ``ParseError`` has been raised.
        self.rejected: bytes | None = None

    @property
    def buffered(self) -> int:
        """How many received octets have not been returned in a frame yet."""
        return len(self._buffer) - self._pos

    def feed(self, data: bytes) -> None:
        """Append received octets.

        Raises:
            ParseError: the framer already failed (status hint ``None``): close the connection.
        """
        self._check_usable()
        pos = self._pos
        if pos and pos >= len(self._buffer) // 2:
            # Drop consumed octets only once they are at least half the buffer: each octet is
            # moved a bounded number of times, so compaction stays linear overall.
            del self._buffer[:pos]
            self._pos = 0
            self._scan_from = max(0, self._scan_from - pos)
            if self._frame_end is not None:
                self._frame_end -= pos
        self._buffer += data

    def next_frame(self) -> bytes | Ping | None:
        """The next complete message's octets, ``PING``, or ``None`` when more data is needed.

        Raises:
            ParseError: framing is lost (see the module docstring); the framer stays failed.
        """
        self._check_usable()
        buf, pos = self._buffer, self._pos
        if self._frame_end is None:
            while buf.startswith(b"\r\n", pos):
                after = bytes(buf[pos + 2 : pos + 4])
                if after == b"\r\n":
                    self._advance(pos + 4)
                    return PING
                if after in (b"", b"\r"):
                    self._advance(pos)
                    return None  # too early to tell a ping from a lone CRLF
                pos += 2
            self._advance(pos)
            end = buf.find(b"\r\n\r\n", max(pos, self._scan_from - 3))
            if end < 0:
                self._scan_from = len(buf)
                if len(buf) - pos > self._limits.max_message_size:
                    raise self._fail("header section exceeds the size limit", len(buf), 513)
                return None
            self._frame_end = end + 4 + self._content_length(pos, end)
        if len(buf) < self._frame_end:
            return None
        frame = bytes(buf[pos : self._frame_end])
        self._advance(self._frame_end)
        self._frame_end = None
        return frame

    def _advance(self, pos: int) -> None:
        self._pos = pos
        self._scan_from = max(self._scan_from, pos)

    def _content_length(self, pos: int, end: int) -> int:
        values = _CONTENT_LENGTH.findall(self._buffer, pos, end)
        if len(values) != 1:
            problem = "missing" if not values else "more than one"
            raise self._fail(f"{problem} Content-Length on a stream (§18.3)", end + 4)
        text = bytes(values[0]).replace(b"\r\n", b"").strip(b" \t")
        if not text.isdigit() or len(text.lstrip(b"0")) > _MAX_LENGTH_DIGITS:
            raise self._fail("invalid Content-Length on a stream (§20.14)", end + 4)
        length = int(text)
        if length > self._limits.max_body_size or end + 4 - pos + length > (
            self._limits.max_message_size
        ):
            raise self._fail("message exceeds the size limit", end + 4, 513)
        return length

    def _fail(self, message: str, upto: int, status: int = 400) -> ParseError:
        self._failed = True
        self.rejected = bytes(self._buffer[self._pos : upto])
        hint = request_hint(self.rejected) and status
        return ParseError(message, hint)

    def _check_usable(self) -> None:
        if self._failed:
            raise ParseError("stream framing was lost; close the connection", None)
