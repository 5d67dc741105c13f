"""Session descriptions (RFC 4566): ``parse(bytes)`` and ``SessionDescription.serialize()``.

Theory of operation: ``parse`` splits the description into ``<type>=<value>`` lines (CRLF or a
bare LF), checks the session section's fixed start (``v=0``, ``o=``, ``s=``), and cuts the rest
into media sections at each ``m=`` line. The fields offer/answer needs (o, c, b, t, m) are parsed
into values; every attribute is kept in order as a name and an optional value, and the typed
views (``rtpmap``, ``fmtp``, ``ptime``, direction, ``rtcp``, ``crypto``) parse it on demand, so one
odd attribute the caller never reads cannot fail a description. ``serialize`` writes the fields
back in the order of RFC 4566 §5 with CRLF line ends.

Errors: the parser raises only ``SdpError``, whatever the bytes; its ``status_hint`` is 400 (the
offer is malformed). The views raise ``SdpError`` too when the attribute they read is malformed.
All work is linear in the size of the input, which ``Limits`` bounds.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from vacant.errors import MediaError


class SdpError(MediaError):
    """Bytes that are not an acceptable session description; answer ``status_hint`` (400)."""

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on what the parser accepts.

    Attributes:
        max_size: octets in one description (default 32 KiB, the SIP core's body limit).
        max_lines: lines in one description (default 1024).
        max_media: media descriptions (``m=`` lines) in one description (default 16).
    """

    max_size: int = 32 * 1024
    max_lines: int = 1024
    max_media: int = 16

    def __post_init__(self) -> None:
        if min(self.max_size, self.max_lines, self.max_media) < 1:
            raise ValueError("limits must be positive")


DEFAULT_LIMITS: Final = Limits()

# RFC 4566 §9: token and the characters of a field value (no NUL, CR or LF).
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_DIGITS: Final = re.compile(r"[0-9]{1,20}")
_PORT: Final = re.compile(r"[0-9]{1,5}")
# Fields that appear at most once per section (RFC 4566 §5); b= and a= may repeat. Any type letter
# §5 does not define makes the description unusable (§5: a parser MUST ignore such a description).
_SESSION_ONCE: Final = "iuczk"
_MEDIA_ONCE: Final = "ick"
# An address: no whitespace (an IPv4/IPv6 literal, a name, or a multicast address with /ttl).
_ADDRESS: Final = re.compile(r"[^\s]+")
# RFC 4568 §9.1: crypto-suite = 1*(ALPHA / DIGIT / "_"); tag = 1*9DIGIT.
_SUITE: Final = re.compile(r"[A-Za-z0-9_]+")
_TAG: Final = re.compile(r"[0-9]{1,9}")
# RFC 4568 §6.1: key-salt is base64; lifetime = ["2^"] 1*DIGIT; mki = mki-value ":" mki-length.
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_LIFETIME: Final = re.compile(r"(2\^)?([0-9]{1,20})")
_MKI: Final = re.compile(r"([0-9]{1,20}):([0-9]{1,3})")
# RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
_RTPMAP: Final = re.compile(r"([0-9]{1,3}) ([^/\s]+)/([0-9]{1,10})(?:/([0-9]{1,3}))?")


def _fail(line: int, field: str, rule: str) -> SdpError:
    return SdpError(f"SDP line {line} ({field}=): {rule}")


class Direction(StrEnum):
    """The direction attributes (RFC 4566 §6, RFC 3264 §5.1); ``sendrecv`` when absent."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """The side that wrote this direction sends media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """The side that wrote this direction receives media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, *, send: bool, receive: bool) -> Direction:
        """The direction for a side that sends and/or receives."""
        if send:
            return cls.SENDRECV if receive else cls.SENDONLY
        return cls.RECVONLY if receive else cls.INACTIVE

    def reversed(self) -> Direction:
        """The mirror image: what the other side says (sendonly <-> recvonly)."""
        return Direction.of(send=self.receives, receive=self.sends)


_DIRECTIONS: Final = frozenset(d.value for d in Direction)


@dataclass(frozen=True, slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`` (§5.2).

    The session id and version are digit strings (they may exceed 64 bits).
    """

    username: str
    session_id: str
    version: str
    nettype: str
    addrtype: str
    address: str

    def serialize(self) -> str:
        return " ".join(
            (
                self.username,
                self.session_id,
                self.version,
                self.nettype,
                self.addrtype,
                self.address,
            )
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """``c=<nettype> <addrtype> <connection-address>`` (§5.7): ``IN IP4|IP6 address``."""

    nettype: str
    addrtype: str
    address: str

    def serialize(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"

    @property
    def is_unspecified(self) -> bool:
        """``0.0.0.0`` (or ``::``): the RFC 2543 hold form, send nothing there (RFC 3264 §8.4)."""
        return self.address in ("0.0.0.0", "::")


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (§5.8), the bandwidth in kilobits per second."""

    type: str
    kbps: int

    def serialize(self) -> str:
        return f"{self.type}:{self.kbps}"


@dataclass(frozen=True, slots=True)
class Timing:
    """``t=<start-time> <stop-time>`` (§5.9) and the ``r=`` lines that follow it (§5.10)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Attribute:
    """``a=<name>`` (a flag, ``value`` None) or ``a=<name>:<value>`` (§5.13)."""

    name: str
    value: str | None = None

    def serialize(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]`` (§6)."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None


@dataclass(frozen=True, slots=True)
class Rtcp:
    """``a=rtcp:<port> [<nettype> <addrtype> <connection-address>]`` (RFC 3605 §2.1)."""

    port: int
    connection: Connection | None = None


@dataclass(frozen=True, slots=True)
class KeyParam:
    """One ``inline:<key||salt>[|lifetime][|MKI:length]`` key parameter (RFC 4568 §6.1)."""

    key_salt: bytes
    lifetime: int | None = None
    mki: tuple[int, int] | None = None  # (value, length in octets)


@dataclass(frozen=True, slots=True)
class Crypto:
    """``a=crypto:<tag> <crypto-suite> <key-params> [<session-param>...]`` (RFC 4568 §9.1)."""

    tag: int
    suite: str
    keys: tuple[KeyParam, ...]
    session_params: tuple[str, ...] = ()


def _attribute_values(attributes: tuple[Attribute, ...], name: str) -> tuple[str, ...]:
    return tuple(a.value for a in attributes if a.name == name and a.value is not None)


def _direction(attributes: tuple[Attribute, ...]) -> Direction | None:
    for attribute in attributes:
        if attribute.value is None and attribute.name in _DIRECTIONS:
            return Direction(attribute.name)
    return None


@dataclass(frozen=True, slots=True)
class Media:
    """One media description: the ``m=`` line and the fields under it (§5.14)."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    information: str | None = None
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()

    # --- typed views -------------------------------------------------------------------------

    def values(self, name: str) -> tuple[str, ...]:
        """The values of every ``a=<name>:<value>``, in order."""
        return _attribute_values(self.attributes, name)

    @property
    def rtpmaps(self) -> tuple[RtpMap, ...]:
        """Every ``a=rtpmap`` (§6), in order; ``SdpError`` when one is malformed."""
        return tuple(parse_rtpmap(value) for value in self.values("rtpmap"))

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The ``a=rtpmap`` for ``payload_type``, or None."""
        return next((m for m in self.rtpmaps if m.payload_type == payload_type), None)

    def fmtp(self, payload_type: int) -> str | None:
        """The format parameters of ``a=fmtp:<payload type> <parameters>`` (§6), or None."""
        prefix = f"{payload_type} "
        for value in self.values("fmtp"):
            if value.startswith(prefix):
                return value[len(prefix) :].strip()
        return None

    @property
    def ptime(self) -> int | None:
        """``a=ptime:<milliseconds>`` (§6), or None; ``SdpError`` when it is not a number."""
        values = self.values("ptime")
        if not values:
            return None
        if not re.fullmatch(r"[0-9]{1,5}", values[0]):
            raise SdpError(f"SDP a=ptime: {values[0]!r} is not a number of milliseconds")
        return int(values[0])

    @property
    def direction(self) -> Direction | None:
        """This section's own direction attribute, or None (see ``SessionDescription``)."""
        return _direction(self.attributes)

    @property
    def rtcp(self) -> Rtcp | None:
        """``a=rtcp`` (RFC 3605 §2.1), or None; ``SdpError`` when it is malformed."""
        values = self.values("rtcp")
        return parse_rtcp(values[0]) if values else None

    @property
    def crypto(self) -> tuple[Crypto, ...]:
        """Every ``a=crypto`` (RFC 4568 §9.1), in order; ``SdpError`` when one is malformed."""
        return tuple(parse_crypto(value) for value in self.values("crypto"))

    def serialize_lines(self) -> list[str]:
        """The section's lines in RFC 4566 §5 order: m, i, c, b, k, a."""
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        lines = [f"m={' '.join((self.media, port, self.proto, *self.formats))}"]
        if self.information is not None:
            lines.append(f"i={self.information}")
        if self.connection is not None:
            lines.append(f"c={self.connection.serialize()}")
        lines += [f"b={b.serialize()}" for b in self.bandwidths]
        if self.key is not None:
            lines.append(f"k={self.key}")
        lines += [f"a={a.serialize()}" for a in self.attributes]
        return lines


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole description: the session section's fields and the media sections (§5)."""

    origin: Origin
    name: str = "-"
    connection: Connection | None = None
    timings: tuple[Timing, ...] = (Timing(),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[Media, ...] = ()
    bandwidths: tuple[Bandwidth, ...] = ()
    information: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    zone: str | None = None
    key: str | None = None

    def values(self, name: str) -> tuple[str, ...]:
        """The values of every session-level ``a=<name>:<value>``, in order."""
        return _attribute_values(self.attributes, name)

    @property
    def direction(self) -> Direction | None:
        """The session-level direction attribute, or None."""
        return _direction(self.attributes)

    def direction_of(self, media: Media) -> Direction:
        """A stream's direction: its own attribute, else the session's, else sendrecv (§6)."""
        return media.direction or self.direction or Direction.SENDRECV

    def connection_of(self, media: Media) -> Connection | None:
        """A stream's connection data: its own ``c=``, else the session's (§5.7)."""
        return media.connection or self.connection

    def serialize(self) -> bytes:
        """The description as octets, fields in RFC 4566 §5 order, every line ending in CRLF."""
        lines = ["v=0", f"o={self.origin.serialize()}", f"s={self.name}"]
        if self.information is not None:
            lines.append(f"i={self.information}")
        if self.uri is not None:
            lines.append(f"u={self.uri}")
        lines += [f"e={e}" for e in self.emails]
        lines += [f"p={p}" for p in self.phones]
        if self.connection is not None:
            lines.append(f"c={self.connection.serialize()}")
        lines += [f"b={b.serialize()}" for b in self.bandwidths]
        for timing in self.timings:
            lines.append(f"t={timing.start} {timing.stop}")
            lines += [f"r={r}" for r in timing.repeats]
        if self.zone is not None:
            lines.append(f"z={self.zone}")
        if self.key is not None:
            lines.append(f"k={self.key}")
        lines += [f"a={a.serialize()}" for a in self.attributes]
        for media in self.media:
            lines += media.serialize_lines()
        return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


# --- parsing ---------------------------------------------------------------------------------


def _split_lines(data: bytes, limits: Limits) -> list[tuple[int, str, str]]:
    """``(line number, type letter, value)`` for each line; §5 syntax, CRLF or LF ends."""
    if len(data) > limits.max_size:
        raise SdpError(f"SDP: {len(data)} octets exceed the limit of {limits.max_size}")
    text = data.decode("utf-8", "surrogateescape")
    raw = text.split("\n")
    while raw and raw[-1] in ("", "\r"):  # the final line end, and blank lines after it
        raw.pop()
    if len(raw) > limits.max_lines:
        raise SdpError(f"SDP: {len(raw)} lines exceed the limit of {limits.max_lines}")
    lines = []
    for number, line in enumerate(raw, start=1):
        line = line.removesuffix("\r")
        # §5: <type>=<value>, type one letter, no whitespace either side of "=".
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpError(f"SDP line {number}: {line[:40]!r} is not <type>=<value> (RFC 4566 §5)")
        if "\r" in line or "\0" in line:
            raise _fail(number, line[0], "a value may not hold CR or NUL (RFC 4566 §5)")
        lines.append((number, line[0], line[2:]))
    return lines


def _fields(number: int, letter: str, value: str, count: int) -> list[str]:
    parts = value.rstrip(" ").split(" ")  # a trailing space is a common slip: tolerated
    if len(parts) != count or not all(parts):
        raise _fail(number, letter, f"needs {count} fields separated by one space (RFC 4566 §5)")
    return parts


def _token(number: int, letter: str, what: str, value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise _fail(number, letter, f"{what} {value[:40]!r} is not a token (RFC 4566 §9)")
    return value


def _digits(number: int, letter: str, what: str, value: str) -> str:
    if not _DIGITS.fullmatch(value):
        raise _fail(number, letter, f"{what} {value[:40]!r} is not 1-20 digits (RFC 4566 §9)")
    return value


def _port(number: int, letter: str, value: str) -> int:
    if not _PORT.fullmatch(value) or int(value) > 65535:
        raise _fail(number, letter, f"port {value[:40]!r} is not 0..65535 (RFC 4566 §5.14)")
    return int(value)


def _origin(number: int, value: str) -> Origin:
    user, session_id, version, nettype, addrtype, address = _fields(number, "o", value, 6)
    return Origin(
        username=user,
        session_id=_digits(number, "o", "sess-id", session_id),
        version=_digits(number, "o", "sess-version", version),
        nettype=_token(number, "o", "nettype", nettype),
        addrtype=_token(number, "o", "addrtype", addrtype),
        address=address,
    )


def _connection(number: int, value: str) -> Connection:
    nettype, addrtype, address = _fields(number, "c", value, 3)
    if nettype != "IN" or addrtype not in ("IP4", "IP6"):
        raise _fail(number, "c", "only IN IP4 and IN IP6 are known (RFC 4566 §5.7)")
    return Connection(nettype, addrtype, address)


def _bandwidth(number: int, value: str) -> Bandwidth:
    kind, _, kbps = value.partition(":")
    return Bandwidth(_token(number, "b", "bwtype", kind), int(_digits(number, "b", "bw", kbps)))


def _timing(number: int, value: str) -> Timing:
    start, stop = _fields(number, "t", value, 2)
    return Timing(
        int(_digits(number, "t", "start", start)), int(_digits(number, "t", "stop", stop))
    )


def _media(number: int, value: str) -> Media:
    parts = value.rstrip(" ").split(" ")
    if len(parts) < 3 or not all(parts):
        raise _fail(number, "m", "needs <media> <port> <proto> <fmt>... (RFC 4566 §5.14)")
    media, port_field, proto, *formats = parts
    port, slash, count = port_field.partition("/")
    port_count = None
    if slash:
        if not _PORT.fullmatch(count) or int(count) == 0:
            raise _fail(number, "m", f"number of ports {count!r} is not 1..99999 (§5.14)")
        port_count = int(count)
    if not re.fullmatch(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~/]+", proto):
        raise _fail(number, "m", f"proto {proto[:40]!r} is not token *(/ token) (§5.14)")
    for fmt in formats:
        _token(number, "m", "fmt", fmt)
    return Media(
        media=_token(number, "m", "media", media),
        port=_port(number, "m", port),
        proto=proto,
        formats=tuple(formats),
        port_count=port_count,
    )


def _attribute(number: int, value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    _token(number, "a", "att-field", name)
    return Attribute(name, rest if colon else None)


class _Section:
    """Accumulates one section's fields while parsing."""

    def __init__(self) -> None:
        self.once: dict[str, str] = {}
        self.connection: Connection | None = None
        self.bandwidths: list[Bandwidth] = []
        self.attributes: list[Attribute] = []

    def add(self, number: int, letter: str, value: str, once: str) -> bool:
        """Take a field both sections share; False when ``letter`` is not one of them."""
        if letter in once:
            if letter in self.once or (letter == "c" and self.connection is not None):
                raise _fail(number, letter, "appears twice in one section (RFC 4566 §5)")
            if letter == "c":
                self.connection = _connection(number, value)
            else:
                self.once[letter] = value
        elif letter == "b":
            self.bandwidths.append(_bandwidth(number, value))
        elif letter == "a":
            self.attributes.append(_attribute(number, value))
        else:
            return False
        return True


def parse(data: bytes, limits: Limits = DEFAULT_LIMITS) -> SessionDescription:
    """Parse one session description (RFC 4566 §5); ``SdpError`` (status hint 400) if unusable.

    Accepts CRLF or bare LF line ends. The session section must start ``v=0``, ``o=``, ``s=``;
    ``t=`` may be missing (many agents omit it). Each ``m=`` line starts a media section.
    """
    lines = _split_lines(data, limits)
    if not lines:
        raise SdpError("SDP: empty description")
    expected = ("v", "o", "s")
    for (number, letter, _), want in zip(lines, expected, strict=False):
        if letter != want:
            raise _fail(number, letter, f"this line must be {want}= (RFC 4566 §5)")
    if len(lines) < 3:
        raise SdpError("SDP: a description needs v=, o= and s= lines (RFC 4566 §5)")
    if lines[0][2] != "0":
        raise _fail(1, "v", f"version {lines[0][2][:20]!r} is not 0 (RFC 4566 §5.1)")
    origin = _origin(lines[1][0], lines[1][2])
    name = lines[2][2]
    session = _Section()
    emails: list[str] = []
    phones: list[str] = []
    timings: list[Timing] = []
    media: list[tuple[Media, _Section]] = []
    for number, letter, value in lines[3:]:
        if letter == "m":
            if len(media) == limits.max_media:
                raise _fail(number, "m", f"more than {limits.max_media} media descriptions")
            media.append((_media(number, value), _Section()))
        elif media:
            if not media[-1][1].add(number, letter, value, _MEDIA_ONCE):
                raise _fail(number, letter, "is not a media-level field (RFC 4566 §5)")
        elif session.add(number, letter, value, _SESSION_ONCE):
            pass
        elif letter == "e":
            emails.append(value)
        elif letter == "p":
            phones.append(value)
        elif letter == "t":
            timings.append(_timing(number, value))
        elif letter == "r":
            if not timings:
                raise _fail(number, "r", "must follow a t= line (RFC 4566 §5.10)")
            last = timings[-1]
            timings[-1] = Timing(last.start, last.stop, (*last.repeats, value))
        else:
            raise _fail(number, letter, "unknown or misplaced type letter (RFC 4566 §5)")
    return SessionDescription(
        origin=origin,
        name=name,
        connection=session.connection,
        timings=tuple(timings),
        attributes=tuple(session.attributes),
        media=tuple(
            Media(
                media=m.media,
                port=m.port,
                proto=m.proto,
                formats=m.formats,
                port_count=m.port_count,
                information=section.once.get("i"),
                connection=section.connection,
                bandwidths=tuple(section.bandwidths),
                key=section.once.get("k"),
                attributes=tuple(section.attributes),
            )
            for m, section in media
        ),
        bandwidths=tuple(session.bandwidths),
        information=session.once.get("i"),
        uri=session.once.get("u"),
        emails=tuple(emails),
        phones=tuple(phones),
        zone=session.once.get("z"),
        key=session.once.get("k"),
    )


# --- attribute views -------------------------------------------------------------------------


def parse_rtpmap(value: str) -> RtpMap:
    """``<payload type> <encoding name>/<clock rate>[/<channels>]`` (RFC 4566 §6)."""
    match = _RTPMAP.fullmatch(value.strip())
    if match is None or int(match[1]) > 127:
        raise SdpError(f"SDP a=rtpmap: {value[:60]!r} is not <pt> <name>/<rate>[/<ch>] (§6)")
    channels = None if match[4] is None else int(match[4])
    return RtpMap(int(match[1]), match[2], int(match[3]), channels)


def parse_rtcp(value: str) -> Rtcp:
    """``<port> [<nettype> <addrtype> <connection-address>]`` (RFC 3605 §2.1)."""
    port, _, rest = value.partition(" ")
    if not _PORT.fullmatch(port) or int(port) > 65535:
        raise SdpError(f"SDP a=rtcp: port {port[:20]!r} is not 0..65535 (RFC 3605 §2.1)")
    if not rest:
        return Rtcp(int(port))
    parts = rest.split(" ")
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6") or not parts[2]:
        raise SdpError(f"SDP a=rtcp: {rest[:60]!r} is not IN IP4|IP6 <address> (RFC 3605 §2.1)")
    return Rtcp(int(port), Connection(*parts))


def _key_param(param: str) -> KeyParam:
    """``inline:<key-salt>["|" lifetime]["|" mki]`` (RFC 4568 §6.1)."""
    method, colon, info = param.partition(":")
    if method != "inline" or not colon:
        raise SdpError(f"SDP a=crypto: key method {method[:20]!r} is not inline (RFC 4568 §6.1)")
    key_salt, *rest = info.split("|")
    if not _BASE64.fullmatch(key_salt) or len(key_salt) % 4:
        raise SdpError("SDP a=crypto: the key is not base64 (RFC 4568 §6.1)")
    lifetime: int | None = None
    mki: tuple[int, int] | None = None
    for part in rest:
        if (match := _MKI.fullmatch(part)) and mki is None:
            mki = (int(match[1]), int(match[2]))
            if not 1 <= mki[1] <= 128:
                raise SdpError("SDP a=crypto: the MKI length is not 1..128 (RFC 4568 §6.1)")
        elif (match := _LIFETIME.fullmatch(part)) and lifetime is None and mki is None:
            exponent = int(match[2])
            if match[1] and exponent > 64:
                raise SdpError("SDP a=crypto: the key lifetime exceeds 2^64 (RFC 4568 §6.1)")
            lifetime = 2**exponent if match[1] else exponent
        else:
            raise SdpError(f"SDP a=crypto: {part[:30]!r} is not a lifetime or MKI (§6.1)")
    return KeyParam(binascii.a2b_base64(key_salt), lifetime, mki)


def parse_crypto(value: str) -> Crypto:
    """``<tag> <crypto-suite> <key-params> *(<session-param>)`` (RFC 4568 §9.1)."""
    parts = value.split()
    if len(parts) < 3:
        raise SdpError("SDP a=crypto: needs <tag> <crypto-suite> <key-params> (RFC 4568 §9.1)")
    tag, suite, keys, *session_params = parts
    if not _TAG.fullmatch(tag):
        raise SdpError(f"SDP a=crypto: tag {tag[:20]!r} is not 1-9 digits (RFC 4568 §9.1)")
    if not _SUITE.fullmatch(suite):
        raise SdpError(f"SDP a=crypto: suite {suite[:40]!r} is not a suite name (RFC 4568 §9.1)")
    return Crypto(
        int(tag), suite, tuple(_key_param(p) for p in keys.split(";")), tuple(session_params)
    )
