"""``/api/v1/session``: logging in to the console (a session cookie), who is logged in, and
logging out. Logging in is the one write open to anyone; failed attempts are limited per user
name and per source address."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vacant.api.deps import (
    DB,
    State,
    Who,
    clear_session_cookie,
    guard,
    monotonic,
    set_session_cookie,
    utc_now,
)
from vacant.api.schemas import LoginIn, SessionOut
from vacant.service import access
from vacant.service.access import Permission

#: Open to anonymous requests: logging in.
public = APIRouter(prefix="/session", tags=["session"])
#: Anyone logged in, whatever the role, may see who they are and log out.
router = APIRouter(
    prefix="/session",
    tags=["session"],
    dependencies=[guard(read=Permission.READ, write=Permission.READ)],
)


@public.post("", responses={401: {}, 429: {}})
def log_in(body: LoginIn, request: Request, response: Response, state: State, s: DB) -> SessionOut:
    """Log in with ``name`` and ``password``, or with ``token``: sets the session cookie
    (HttpOnly, SameSite=Strict, Secure but on plain-HTTP loopback) and returns the CSRF token
    that every write made with the cookie must send as ``X-CSRF-Token``."""
    login = access.login(
        s,
        state.limiter,
        name=body.name,
        password=body.password,
        token=body.token,
        source=request.client.host if request.client else "unknown",
        lifetime=state.settings.session_lifetime,
        now=utc_now(),
        clock=monotonic(),
    )
    set_session_cookie(request, response, state.settings, login.secret)
    response.headers["Cache-Control"] = "no-store"
    return SessionOut.of(login.principal)


@router.get("")
def who_am_i(who: Who) -> SessionOut:
    return SessionOut.of(who)


@router.delete("", status_code=204)
def log_out(who: Who, request: Request, state: State, s: DB) -> Response:
    response = Response(status_code=204)
    if who.session is not None:
        access.logout(s, who.session)
        clear_session_cookie(request, response, state.settings)
    return response
