"""What the routes depend on: settings, a database session per request, who is asking, and the
guard every router carries (role and CSRF checks, in one place).

The store is synchronous SQLAlchemy, so the endpoints and these dependencies are plain ``def``:
FastAPI runs them in its thread pool and the event loop that carries SIP never waits on the
database. The session is committed when the endpoint returns, before the response is sent
(``scope="function"``), so a response never reports a change that was not kept.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from vacant.errors import Forbidden, Unauthenticated
from vacant.routing.model import DEFAULT_MAX_FILE_SIZE
from vacant.service.access import LoginLimiter, Permission, Principal, csrf_matches, from_bearer
from vacant.service.access import from_session as principal_from_session
from vacant.service.admin import Admin
from vacant.service.app import Application
from vacant.store.engine import session_scope

#: The session cookie: ``__Host-`` (Secure, Path=/, no Domain: no subdomain can set or read
#: it) when it is Secure; the plain name over plain HTTP (see ``ApiSettings.secure_cookies``).
SECURE_COOKIE = "__Host-vacant_session"
PLAIN_COOKIE = "vacant_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Room for multipart boundaries and part headers around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The HTTP side's knobs (``vacant serve`` passes the defaults)."""

    #: Mark the session cookie Secure. None: Secure unless the request came over plain HTTP to
    #: a loopback listener (``--http 127.0.0.1:8080``, the default), where browsers would not
    #: send a Secure cookie back; anywhere else, plain HTTP gets a cookie the browser keeps
    #: to HTTPS, so logging in needs TLS (in front, or False here to allow it anyway).
    secure_cookies: bool | None = None
    session_lifetime: timedelta = timedelta(hours=8)
    #: Largest JSON request body.
    max_body: int = 1024 * 1024
    #: Largest audio file (as ``vacant announcement import-file --max-size``).
    max_upload: int = DEFAULT_MAX_FILE_SIZE
    #: Largest CSV of numbers or configuration document.
    max_import: int = 64 * 1024 * 1024
    #: Failed logins allowed per user name and per source address within the window.
    login_failures_per_name: int = 5
    login_failures_per_source: int = 20
    login_window: float = 300.0


@dataclass(slots=True)
class ApiState:
    """What the app keeps between requests (``api.state.vacant``)."""

    app: Application
    settings: ApiSettings
    limiter: LoginLimiter = field(init=False)
    #: The web console's staged range changes, per session (or token): lost on restart, as
    #: changes a Lync admin had not committed.
    staged: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.limiter = LoginLimiter(
            per_name=s.login_failures_per_name,
            per_source=s.login_failures_per_source,
            window=s.login_window,
        )


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.vacant
    return state


State = Annotated[ApiState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    with session_scope(state.app.engine) as session:
        yield session


DB = Annotated[Session, Depends(get_db, scope="function")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


# --- cookies -------------------------------------------------------------------------------


def cookie_secure(request: Request, settings: ApiSettings) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    if request.url.scheme == "https":
        return True
    server = request.scope.get("server")
    try:
        return not (server and ipaddress.ip_address(server[0]).is_loopback)
    except ValueError:
        return True


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else PLAIN_COOKIE


def session_cookie(request: Request, settings: ApiSettings) -> str | None:
    return request.cookies.get(cookie_name(cookie_secure(request, settings)))


def set_session_cookie(
    request: Request, response: Response, settings: ApiSettings, secret: str
) -> None:
    secure = cookie_secure(request, settings)
    response.set_cookie(
        cookie_name(secure),
        secret,
        max_age=int(settings.session_lifetime.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(request: Request, response: Response, settings: ApiSettings) -> None:
    secure = cookie_secure(request, settings)
    response.delete_cookie(
        cookie_name(secure), path="/", secure=secure, httponly=True, samesite="strict"
    )


# --- who is asking -------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`vacant token create`): `Authorization: Bearer vacant_...`",
)


def get_principal(
    request: Request,
    state: State,
    s: DB,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The bearer token's principal, else the session cookie's; :class:`Unauthenticated`."""
    now = utc_now()
    if credentials is not None:
        found = from_bearer(s, credentials.credentials.strip(), now=now)
        if found is None:
            raise Unauthenticated("the token does not work (unknown or revoked)")
        return found
    if request.headers.get("authorization"):
        raise Unauthenticated("send Authorization: Bearer <token>")
    secret = session_cookie(request, state.settings)
    if secret:
        found = principal_from_session(s, secret, now=now)
        if found is not None:
            return found
        raise Unauthenticated("the session has ended: log in again")
    raise Unauthenticated("log in, or send Authorization: Bearer <token>")


Who = Annotated[Principal, Depends(get_principal)]

_NEEDS = {
    Permission.READ: "read",
    Permission.CONFIGURE: "change numbers, ranges, announcements, files or rules",
    Permission.ADMINISTER: "administer (pools, configuration imports, tokens, users)",
}


def guard(
    read: Permission = Permission.READ, write: Permission = Permission.CONFIGURE
) -> DependsParam:
    """The dependency every protected router carries: a reading method (GET, HEAD) needs
    ``read``, any other ``write``; a write authenticated by the session cookie also needs the
    session's CSRF token in the ``X-CSRF-Token`` header."""

    def check(request: Request, who: Who) -> None:
        unsafe = request.method not in SAFE_METHODS
        need = write if unsafe else read
        if not who.may(need):
            raise Forbidden(f"role {who.role} may not {_NEEDS[need]}")
        if (
            unsafe
            and who.session is not None
            and not csrf_matches(who.session, request.headers.get(CSRF_HEADER))
        ):
            raise Forbidden(f"a write with the session cookie needs its {CSRF_HEADER} header")

    dependency: DependsParam = Depends(check)
    return dependency


def get_admin(s: DB, who: Who) -> Admin:
    return Admin(s, who.actor)


AdminDep = Annotated[Admin, Depends(get_admin)]
