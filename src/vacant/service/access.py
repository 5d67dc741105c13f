"""Who is asking, and what they may do: API tokens, console logins, roles, failed-login limits.

Credentials, for the REST API and the web console alike:

* ``Authorization: Bearer vacant_…`` — an API token (``vacant token create``). Browsers never
  attach it on their own, so requests carrying it need no CSRF token.
* the session cookie, set by logging in with a user name and password (``vacant user create``)
  or with a token. Its secret is random (32 bytes) and stored hashed with an expiry, so a
  logout, a removed user, a changed password or a revoked token end the session at once, on
  every server of a pool. Writes made with the cookie must carry the session's CSRF token
  (a synchronizer token derived from the cookie's secret: SHA-256 of a label and the secret, so
  it is stored nowhere and tells nothing about the secret).

Roles (Lync RBAC): ``admin`` may do everything; ``voice-admin`` configures numbers, ranges,
announcements, audio files and rules; ``view-only`` reads. Pools, whole-configuration imports,
tokens and users are the admin's.

Failed logins are limited per user name and per source address (:class:`LoginLimiter`), in the
memory of each process, bounded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from vacant.errors import RateLimited, Unauthenticated
from vacant.store import access
from vacant.store.access import Role


class Permission(StrEnum):
    READ = "read"
    #: Numbers, ranges, announcements, audio files, normalisation rules.
    CONFIGURE = "configure"
    #: Pools, whole-configuration imports, tokens, users.
    ADMINISTER = "administer"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.VOICE_ADMIN: frozenset({Permission.READ, Permission.CONFIGURE}),
    Role.VIEW_ONLY: frozenset({Permission.READ}),
}

_CSRF_LABEL = b"vacant csrf token\x00"


def csrf_token(session_secret: str) -> str:
    """The CSRF token of a session (see the module docstring)."""
    digest = hashlib.sha256(_CSRF_LABEL + session_secret.encode("utf-8", "surrogateescape"))
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


def csrf_matches(session_secret: str, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(
        csrf_token(session_secret).encode(), submitted.encode("utf-8", "surrogateescape")
    )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. ``kind`` is ``token``, ``user`` or ``cli``; ``session`` is the cookie's
    secret when the request was authenticated by the session cookie (writes then need the
    CSRF token), else None."""

    kind: str
    name: str
    role: Role
    session: str | None = field(default=None, repr=False)
    expires: datetime | None = None

    @property
    def actor(self) -> str:
        """As the audit log names it: ``token:NAME``, ``user:NAME``."""
        return f"{self.kind}:{self.name}"

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def csrf_token(self) -> str | None:
        return None if self.session is None else csrf_token(self.session)


def from_bearer(s: Session, secret: str, *, now: datetime) -> Principal | None:
    token = access.token_for_secret(s, secret, now=now)
    return None if token is None else Principal("token", token.name, token.role)


def from_session(s: Session, secret: str, *, now: datetime) -> Principal | None:
    found = access.session_for_secret(s, secret, now=now)
    if found is None:
        return None
    return Principal(found.kind, found.name, found.role, secret, found.expires)


# --- failed logins -------------------------------------------------------------------------


class _Failures:
    """Times of recent failures per key; at most ``max_keys`` keys (least recently failed
    dropped first) and ``limit`` times per key: memory stays bounded whatever is tried."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[key]
            return 0.0
        return times[0] + self.window - now if len(times) >= self.limit else 0.0

    def add(self, key: str, now: float) -> None:
        times = self._times.get(key)
        if times is None:
            while len(self._times) >= self.max_keys:
                self._times.popitem(last=False)
            times = self._times[key] = deque(maxlen=self.limit)
        else:
            self._times.move_to_end(key)
        times.append(now)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def __len__(self) -> int:
        return len(self._times)


class LoginLimiter:
    """Refuses logins (:class:`RateLimited`) after ``per_name`` failures for one user name, or
    ``per_source`` from one address, within ``window`` seconds; a success clears the name's
    count. ``now`` is a monotonic clock in seconds, passed in."""

    def __init__(
        self,
        *,
        per_name: int = 5,
        per_source: int = 20,
        window: float = 300.0,
        max_keys: int = 10_000,
    ) -> None:
        self.names = _Failures(per_name, window, max_keys)
        self.sources = _Failures(per_source, window, max_keys)
        self._lock = threading.Lock()  # the API's endpoints run in a thread pool

    def check(self, name: str, source: str, now: float) -> None:
        with self._lock:
            wait = max(self.names.retry_after(name, now), self.sources.retry_after(source, now))
        if wait > 0:
            raise RateLimited(
                f"too many failed logins: try again in {int(wait) + 1} s", retry_after=wait
            )

    def failed(self, name: str, source: str, now: float) -> None:
        with self._lock:
            if name:
                self.names.add(name, now)
            self.sources.add(source, now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self.names.clear(name)


@dataclass(frozen=True, slots=True)
class Login:
    """A session opened: ``secret`` goes into the cookie (and nowhere else)."""

    secret: str
    principal: Principal
    expires: datetime


def login(
    s: Session,
    limiter: LoginLimiter,
    *,
    name: str | None = None,
    password: str | None = None,
    token: str | None = None,
    source: str,
    lifetime: timedelta,
    now: datetime,
    clock: float,
) -> Login:
    """Open a console session with a user name and password, or with an API token.
    :class:`Unauthenticated` (one message, whatever was wrong) or :class:`RateLimited`."""
    key = name or ""
    limiter.check(key, source, clock)
    principal: Principal | None = None
    if token is not None and name is None and password is None:
        found = access.token_for_secret(s, token, now=now)
        if found is not None:
            secret, session = access.create_session(s, token=found.name, lifetime=lifetime, now=now)
            principal = Principal("token", found.name, found.role, secret, session.expires)
    elif name is not None and password is not None and token is None:
        user = access.check_password(s, name, password)
        if user is not None:
            secret, session = access.create_session(s, user=user.name, lifetime=lifetime, now=now)
            principal = Principal("user", user.name, user.role, secret, session.expires)
    else:
        raise Unauthenticated("log in with a name and a password, or with a token")
    if principal is None:
        limiter.failed(key, source, clock)
        raise Unauthenticated("wrong name or password, or a token that does not work")
    limiter.succeeded(key)
    return Login(secret, principal, session.expires)


def logout(s: Session, secret: str) -> None:
    access.end_session(s, secret)
