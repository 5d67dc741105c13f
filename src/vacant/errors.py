"""The one tree of vacant's exceptions.

::

    VacantError
    ├── SipError ── ParseError(status_hint)        the peer sent bytes we cannot accept
    │           └── LocalProtocolError             we misused the SIP core (a bug of ours)
    ├── MediaError                                   prompts, SDP, RTP
    ├── ValidationError(field) (also ValueError)     a configuration field that breaks a rule
    │   └── InvalidNumber                            a number or pattern that breaks a rule
    ├── StoreError ── NotFound · Conflict            the store refused or found nothing
    ├── ConfigError                                  process settings that cannot work
    └── AccessError                                  who is asking may not (API and console)
        ├── Unauthenticated                          no credentials, or ones that do not work
        ├── Forbidden                                a role, or a CSRF token, that does not allow it
        └── RateLimited(retry_after)                 too many failed logins: try again later

Outcomes (a timeout, a rejected REFER) are events, not exceptions. Errors are translated where
layers meet, once: the CLI maps them to exit codes, the API to HTTP statuses
(``vacant.api.errors``).
"""

from __future__ import annotations


class VacantError(Exception):
    """Root of every error vacant raises on purpose."""


class SipError(VacantError):
    """A SIP protocol problem."""


class ParseError(SipError):
    """Bytes that are not an acceptable SIP message.

    ``status_hint`` is the response status to send when the message can still be answered
    (RFC 3261 §8.2), or ``None`` when it cannot and must be dropped.
    """

    def __init__(self, message: str, status_hint: int | None = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint


class LocalProtocolError(SipError):
    """We misused the SIP core: a bug in our own code, never the peer's fault (h11's name)."""


class MediaError(VacantError):
    """A media problem: an unusable prompt, SDP or RTP."""


class ValidationError(VacantError, ValueError):
    """A configuration field breaks a rule. ``field`` names it; the message states the rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = message


class InvalidNumber(ValidationError):
    """A telephone number or number pattern breaks a rule."""


class StoreError(VacantError):
    """The store could not do what was asked."""


class NotFound(StoreError):
    """The object asked for does not exist."""


class Conflict(StoreError):
    """The change would break a uniqueness or reference rule."""


class ConfigError(VacantError):
    """Process settings (a database URL, a listen address) that cannot work."""


class AccessError(VacantError):
    """A request the API or the console refuses because of who is asking."""


class Unauthenticated(AccessError):
    """No credentials, or credentials that do not work (HTTP 401)."""


class Forbidden(AccessError):
    """Authenticated, but the role (or a missing CSRF token) does not allow it (HTTP 403)."""


class RateLimited(AccessError):
    """Too many failed logins; ``retry_after`` is in seconds (HTTP 429)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
