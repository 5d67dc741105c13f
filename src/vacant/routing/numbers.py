"""Telephone numbers: the range-bound rule, dialled-number parsing and normalisation rules.

Numbers are strings, never integers: leading zeros and length carry meaning. A number is kept as
its digit string (with a leading ``+`` for a global number, RFC 3966 §5.1.4) and an optional
extension (RFC 3966 §5.1.5 ``;ext=``).

Ordering of numbers inside a range follows Lync's practice of comparing the digits as numbers:
because a bound never has a leading zero (Lync's rule below), comparing *as numbers* is the same as
comparing the length first, then the digits. :func:`order_key` gives that key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vacant.errors import InvalidNumber

#: Lync's published rule for a range bound (New-CsUnassignedNumber, NumberRangeStart/End),
#: anchored to the whole string: optional ``tel:``, optional ``+``, 1 to 18 digits not starting
#: with 0, optional ``;ext=`` with 1 to 10 digits not starting with 0.
RANGE_BOUND_RULE = r"(tel:)?(\+)?[1-9]\d{0,17}(;ext=[1-9]\d{0,9})?"
_RANGE_BOUND = re.compile(r"(?:tel:)?(\+?)([1-9][0-9]{0,17})(?:;ext=([1-9][0-9]{0,9}))?")

#: RFC 3966 §3 visual-separator = "-" / "." / "(" / ")"; a space is accepted too in plain strings
#: typed by people (never inside a URI).
_VISUAL_SEPARATORS = str.maketrans("", "", "-.() ")
_DIALLED = re.compile(r"(\+?)([0-9]{1,32})")
#: Whether a dialled number is already in canonical form (``+`` and digits, or digits), as most
#: Request-URIs give it after the SBC: then it is what :func:`parse_dialled` would read from it.
is_canonical = re.compile(r"\+?[0-9]{1,32}").fullmatch
_EXT = re.compile(r"[0-9]{1,16}")
_SIP_SCHEMES = ("sip:", "sips:")
MAX_INPUT = 512


@dataclass(frozen=True, slots=True, order=False)
class Number:
    """A telephone number: ``digits`` (with a leading ``+`` when global) and an extension."""

    digits: str
    ext: str | None = None

    @property
    def is_global(self) -> bool:
        return self.digits.startswith("+")

    @property
    def subscriber(self) -> str:
        """The digits without the ``+``."""
        return self.digits.removeprefix("+")

    def __str__(self) -> str:
        """The number as written in rules and patterns: ``+14255551234`` or ``+1425...;ext=12``."""
        return self.digits if self.ext is None else f"{self.digits};ext={self.ext}"

    @property
    def uri(self) -> str:
        """The tel: URI (RFC 3966), the form stored for range bounds and assigned numbers."""
        return f"tel:{self}"


def order_key(number: Number) -> tuple[int, str]:
    """The key that orders numbers of one family (same ``+`` and extension) as numbers."""
    subscriber = number.subscriber
    return (len(subscriber), subscriber)


def family(number: Number) -> tuple[bool, str | None]:
    """Numbers comparable with each other: same global/local kind and the same extension."""
    return (number.is_global, number.ext)


def parse_bound(value: str, field: str = "number") -> Number:
    """Validate a range bound or an assigned number with Lync's rule (full match).

    ``tel:`` is optional and added when omitted (the stored form is :attr:`Number.uri`).
    """
    text = value.strip()
    match = _RANGE_BOUND.fullmatch(text) if len(text) <= MAX_INPUT else None
    if match is None:
        raise InvalidNumber(
            field,
            f"{value[:40]!r} does not match {RANGE_BOUND_RULE} (optional tel: and +, then 1 to 18"
            " digits not starting with 0, then an optional ;ext= of 1 to 10 digits not starting"
            " with 0)",
        )
    plus, digits, ext = match.groups()
    return Number(plus + digits, ext)


def parse_dialled(value: str) -> Number:
    """Parse the number a caller dialled, from a Request-URI or a string typed by a person.

    Accepts ``tel:`` URIs (RFC 3966: visual separators, ``;ext=``, other parameters ignored),
    ``sip:``/``sips:`` URIs whose user part is a telephone number (``;user=phone`` or not,
    RFC 3261 §19.1.6), and plain strings such as ``+1 (425) 555-1234``. Raises
    :class:`InvalidNumber` when no number can be read.
    """
    if len(value) > MAX_INPUT:
        raise InvalidNumber("number", f"longer than {MAX_INPUT} characters")
    text = value.strip()
    lowered = text[:5].lower()
    params: list[str] = []
    if lowered.startswith("tel:"):
        number, *params = text[4:].split(";")
    elif lowered.startswith(_SIP_SCHEMES):
        rest = text.split(":", 1)[1]
        user, at, _host = rest.partition("@")
        if not at:
            raise InvalidNumber("number", f"{value[:40]!r} has no user part to read a number from")
        # The user part may carry telephone-subscriber parameters (RFC 3261 §19.1.6).
        number, *params = _unescape(user).split(";")
    else:
        number, *params = text.split(";")
    ext = None
    for param in params:
        name, _, pvalue = param.partition("=")
        if name.strip().lower() == "ext":
            ext = pvalue.translate(_VISUAL_SEPARATORS)
            if not _EXT.fullmatch(ext):
                raise InvalidNumber("number", f"extension {pvalue[:20]!r} is not 1 to 16 digits")
    match = _DIALLED.fullmatch(number.translate(_VISUAL_SEPARATORS))
    if match is None:
        raise InvalidNumber(
            "number", f"{value[:40]!r} is not a telephone number (optional +, 1 to 32 digits)"
        )
    return Number(match.group(1) + match.group(2), ext)


def _unescape(user: str) -> str:
    """Undo %-escaping in a SIP URI user part (RFC 3261 §19.1.2), e.g. ``%2B`` for ``+``."""
    if "%" not in user:
        return user
    parts = user.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        try:
            out.append(chr(int(part[:2], 16)) + part[2:])
        except ValueError:
            raise InvalidNumber("number", f"bad %-escape in {user[:40]!r}") from None
    return "".join(out)


def compile_pattern(pattern: str, field: str = "pattern") -> re.Pattern[str]:
    """Compile a number pattern (Teams style): full-match semantics; never matches empty.

    A pattern is matched against the whole number as :class:`Number` prints it, e.g.
    ``+14255551234`` or ``+14255551234;ext=12``; ``^`` and ``$`` are allowed but not needed.
    """
    if not pattern or len(pattern) > MAX_INPUT:
        raise InvalidNumber(field, f"must be 1 to {MAX_INPUT} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidNumber(field, f"is not a valid regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise InvalidNumber(field, f"{pattern!r} matches the empty string")
    return compiled


_DOLLAR_GROUP = re.compile(r"\$(\d+)")


def compile_translation(pattern: re.Pattern[str], translation: str) -> str:
    """Turn a Lync translation (``+1425555$1``) into a :meth:`re.Match.expand` template.

    Every ``$n`` must name a group of the pattern; a literal ``\\`` is kept literal.
    """
    if not translation or len(translation) > MAX_INPUT:
        raise InvalidNumber("translation", f"must be 1 to {MAX_INPUT} characters")
    for ref in _DOLLAR_GROUP.findall(translation):
        if int(ref) > pattern.groups:
            raise InvalidNumber(
                "translation", f"${ref} refers to a group the pattern does not have"
            )
    template = translation.replace("\\", "\\\\")
    return _DOLLAR_GROUP.sub(lambda m: f"\\g<{m.group(1)}>", template)
