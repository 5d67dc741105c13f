"""An ordered, case-insensitive multimap of header fields that keeps each value as received.

Theory of operation: the parser splits the header section into (name, value) pairs once, unfolding
continuation lines (§7.3.1), and hands them over without interpreting a single value. Lookups take
any spelling of a name, long or compact (§7.3.3: ``v`` is ``Via``), and find every field with that
name in order. Typed views (``vacant.sip.fields``) are parsed from these strings only when asked
for, so an odd optional header never fails a whole message.

Values are ``str``: the header section is decoded as UTF-8 with surrogate escapes, so any octets
round-trip exactly through ``serialize()``. Names keep their spelling (``MaX-fOrWaRdS``).
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from vacant.errors import ParseError
from vacant.sip import grammar

# §7.3.3 and the IANA registry of compact forms.
COMPACT_FORMS: Final[dict[str, str]] = {
    "a": "accept-contact",  # RFC 3841
    "b": "referred-by",  # RFC 3892
    "c": "content-type",
    "d": "request-disposition",  # RFC 3841
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",  # RFC 3841
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "o": "event",  # RFC 6665
    "r": "refer-to",  # RFC 3515
    "s": "subject",
    "t": "to",
    "u": "allow-events",  # RFC 6665
    "v": "via",
    "x": "session-expires",  # RFC 4028
    "y": "identity",  # RFC 8224
}

_COMMON_NAMES: Final = (
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "User-Agent",
    "Server",
    "Accept",
    "Expires",
    "Session-Expires",
    "Min-SE",
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Date",
    "Timestamp",
    "Subject",
    "Event",
    "Refer-To",
    "Referred-By",
    "Allow-Events",
    "Warning",
    "Reason",
    "Privacy",
    "P-Asserted-Identity",
    "Diversion",
    "History-Info",
    "Content-Disposition",
    "Content-Encoding",
    "Organization",
    "Call-Info",
    "Alert-Info",
    "Call-Id",
    "Cseq",
)

# Exact spellings seen on the wire, mapped to their key: saves lower() and two lookups per field,
# and the parser need not check that such a name is a token. Never modified (a ``dict``, not a
# ``Mapping``, so that compiled lookups are direct).
KNOWN_SPELLINGS: Final[dict[str, str]] = {
    **{name: name.lower() for name in _COMMON_NAMES},
    **{name.lower(): name.lower() for name in _COMMON_NAMES},
    **COMPACT_FORMS,
    **{letter.upper(): key for letter, key in COMPACT_FORMS.items()},
}

_KNOWN: Final = KNOWN_SPELLINGS
# What ``Headers._repeated`` is when no key repeats (shared, never written to).
_NONE_REPEATED: Final[dict[str, list[int]]] = {}

_COMMA_SPECIAL: Final = re.compile(r'[,"<]')


def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact form expanded (§7.3.3)."""
    key = KNOWN_SPELLINGS.get(name)
    if key is not None:
        return key
    lname = name.lower()
    return COMPACT_FORMS.get(lname, lname)


def split_commas(value: str) -> list[str]:
    """Split a comma-separated field value into its elements (§7.3.1).

    Commas inside a quoted-string or inside ``<...>`` do not split. Elements are stripped of
    surrounding whitespace; an empty element (``a,,b``) stays, as an empty string, for the typed
    view to reject.

    Raises:
        ParseError: a quoted-string or a ``<`` is never closed.
    """
    if '"' not in value:
        if "<" not in value:
            return [part.strip(grammar.WSP) for part in value.split(",")]
        if "," not in value and value.rfind("<") < value.rfind(">"):
            # One element (a Contact, say): no "<" after the last ">", so every "<" is closed.
            return [value.strip(grammar.WSP)]
    parts: list[str] = []
    start = pos = 0
    while (match := _COMMA_SPECIAL.search(value, pos)) is not None:
        char, at = match.group(), match.start()
        if char == ",":
            parts.append(value[start:at].strip(grammar.WSP))
            start = pos = at + 1
        elif char == '"':
            closed = grammar.QUOTED_BODY.match(value, at + 1)
            if closed is None:
                raise ParseError(f"unterminated quoted-string in {value[:80]!r}")
            pos = closed.end()
        else:
            close = value.find(">", at + 1)
            if close < 0:
                raise ParseError(f"unterminated '<' in {value[:80]!r}")
            pos = close + 1
    parts.append(value[start:].strip(grammar.WSP))
    return parts


def check_field(name: str, value: str) -> None:
    """Refuse a header field that would not serialize as one well-formed line.

    Raises:
        ValueError: the name is not a token, or the value holds CR or LF (header injection).
    """
    if name not in KNOWN_SPELLINGS and not grammar.is_token(name):  # known names are tokens
        raise ValueError(f"header name {name!r} is not a token")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} value holds CR or LF")


class Headers:
    """Header fields in order; lookups are case-insensitive and understand compact forms.

    ``revision`` changes on every mutation, so cached typed views can tell they are stale.
    ``views`` is where the message layer caches the typed views it parsed from these fields
    (``Message.top_via``, ...); every mutation empties it.

    Theory of operation: the index from lookup key to first position is built once, on the
    first lookup, by one dict comprehension; only a message that repeats a field name (several
    Via lines, say) also gets the list of every position of each repeated key.
    """

    __slots__ = ("_first", "_keys", "_names", "_repeated", "_values", "revision", "views")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._keys: list[str] = []
        self._names: list[str] = []
        self._values: list[str] = []
        self._first: dict[str, int] | None = None
        self._repeated: dict[str, list[int]] = _NONE_REPEATED
        self.revision = 0
        self.views: dict[str, Any] = {}
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def from_parsed(cls, keys: list[str], names: list[str], values: list[str]) -> "Headers":
        """Adopt lists the parser built (keys from ``header_key``); no checks, no copies."""
        headers = Headers()
        headers._keys, headers._names, headers._values = keys, names, values
        return headers

    # --- reading ---------------------------------------------------------------------------

    def _index(self) -> dict[str, int]:
        """Key -> first position; fills ``_repeated`` (key -> every position) for repeats."""
        keys = self._keys
        first = {key: position for position, key in enumerate(keys)}  # last, unless repeated
        if len(first) != len(keys):
            every: dict[str, list[int]] = {}
            for position, key in enumerate(keys):
                every.setdefault(key, []).append(position)
            repeated = {key: found for key, found in every.items() if len(found) > 1}
            for key, found in repeated.items():
                first[key] = found[0]
            self._repeated = repeated
        self._first = first
        return first

    def _positions(self, name: str) -> list[int]:
        key = _KNOWN.get(name) or header_key(name)
        first = self._first
        if first is None:
            first = self._index()
        position = first.get(key)
        if position is None:
            return []
        return self._repeated.get(key) or [position]

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return zip(self._names, self._values, strict=True)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        first = self._first
        if first is None:
            first = self._index()
        return (_KNOWN.get(name) or header_key(name)) in first

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._keys == other._keys and self._values == other._values

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def get(self, name: str) -> str | None:
        """The value of the first field called ``name``, or ``None``."""
        first = self._first
        if first is None:
            first = self._index()
        position = first.get(_KNOWN.get(name) or header_key(name))
        return None if position is None else self._values[position]

    def single(self, name: str) -> str | None:
        """The value of the one field called ``name``; ``None`` if there is none or more than
        one (``count`` tells which)."""
        first = self._first
        if first is None:
            first = self._index()
        key = _KNOWN.get(name) or header_key(name)
        position = first.get(key)
        if position is None or key in self._repeated:
            return None
        return self._values[position]

    def get_all(self, name: str) -> list[str]:
        """The values of every field called ``name``, in order (one entry per field line)."""
        values = self._values
        return [values[position] for position in self._positions(name)]

    def count(self, name: str) -> int:
        """How many fields are called ``name``."""
        return len(self._positions(name))

    def values(self, name: str) -> list[str]:
        """The elements of a comma-separated list header across all its fields (§7.3.1).

        Only for headers whose grammar is a list (Via, Contact, Route, Require, Allow, ...): a
        Date or an Authorization value has commas of its own.

        Raises:
            ParseError: a quoted-string or ``<`` is unterminated.
        """
        out: list[str] = []
        for value in self.get_all(name):
            out += split_commas(value)
        return out

    def first_value(self, name: str) -> str | None:
        """The first element of a list header, splitting only the first field (cheap top Via).

        Raises:
            ParseError: a quoted-string or ``<`` is unterminated.
        """
        value = self.get(name)
        if value is None:
            return None
        if "," not in value:
            return value
        return split_commas(value)[0]

    def keyed(self) -> Iterator[tuple[str, str, str]]:
        """Every field as (lookup key, name as spelled, value), in order."""
        return zip(self._keys, self._names, self._values, strict=True)

    def items(self) -> list[tuple[str, str]]:
        """Every field as (name as spelled, value), in order."""
        return list(self)

    def replace_first(self, name: str, value: str) -> None:
        """Put ``value`` (a well-formed field value: it is not checked) in place of the value of
        the first field called ``name``, keeping the field's name and position; cached views
        are dropped, as on every change.

        Raises:
            IndexError: there is no field called ``name``.
        """
        self._values[self._positions(name)[0]] = value
        self.views = {}
        self.revision += 1  # the keys are as they were, so the index stays valid

    def copy(self) -> "Headers":
        """An independent copy."""
        return Headers.from_parsed(list(self._keys), list(self._names), list(self._values))

    # --- writing ---------------------------------------------------------------------------

    def _changed(self) -> None:
        self._first = None
        self._repeated = _NONE_REPEATED
        self.views = {}
        self.revision += 1

    def add(self, name: str, value: str) -> None:
        """Append a field.

        Raises:
            ValueError: see ``check_field``.
        """
        check_field(name, value)
        self._keys.append(header_key(name))
        self._names.append(name)
        self._values.append(value)
        self._changed()

    def set(self, name: str, value: str) -> None:
        """Give ``name`` exactly one field with ``value``, where its first field was (or last).

        Raises:
            ValueError: see ``check_field``.
        """
        check_field(name, value)
        positions = self._positions(name)
        if not positions:
            self.add(name, value)
            return
        first = positions[0]
        self._values[first] = value
        for position in reversed(positions[1:]):
            del self._keys[position], self._names[position], self._values[position]
        self._changed()

    def remove(self, name: str) -> int:
        """Delete every field called ``name``; returns how many there were."""
        positions = self._positions(name)
        for position in reversed(positions):
            del self._keys[position], self._names[position], self._values[position]
        if positions:
            self._changed()
        return len(positions)
