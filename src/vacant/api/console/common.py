"""What every console page shares: who is asking (a session or a token; none redirects to
``/login``), the write check (a role that may configure, and the session's CSRF token in the
form's ``csrf`` field), and rendering a template in the console's layout.

Whoever is asking is also kept on the request (``request.state.who``), so an error page of the
same request (``vacant.api.console.pages.error_page``) shows the layout logged in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from vacant.api.deps import State, get_principal, utc_now
from vacant.errors import Forbidden, Unauthenticated
from vacant.service import access
from vacant.service.access import Permission, Principal, csrf_matches
from vacant.store.engine import session_scope

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
#: The console's forms: the range form has nine fields, the announcement form thirteen and one
#: file.
FORM_LIMITS = {"max_files": 1, "max_fields": 16, "max_part_size": 64 * 1024}


class LoginRequired(Exception):
    """No session: the page redirects to the login page."""


def bearer_principal(request: Request, state: State) -> Principal:
    """As the API: a bearer token, else the session cookie; no session redirects to /login.

    In a transaction of its own, ended before the page runs: a page that writes opens its own,
    and on SQLite a writing transaction must not wait for one its own request holds open."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    with session_scope(state.app.engine) as s:
        if header and scheme.lower() == "bearer" and secret.strip():
            found = access.from_bearer(s, secret.strip(), now=utc_now())
            if found is None:
                raise Unauthenticated("the token does not work (unknown or revoked)")
        elif header:
            raise Unauthenticated("send Authorization: Bearer <token>")
        else:
            try:
                found = get_principal(request, state, s, None)
            except Unauthenticated as exc:
                raise LoginRequired from exc
    request.state.who = found  # for an error page of this request (error_page)
    return found


Viewer = Annotated[Principal, Depends(bearer_principal)]


async def writer(request: Request, who: Viewer) -> Principal:
    """A write: the role must configure, and a session must send its CSRF token as ``csrf``."""
    if not who.may(Permission.CONFIGURE):
        raise Forbidden(f"role {who.role} may not change the configuration")
    if who.session is not None:
        form = await request.form(**FORM_LIMITS)
        submitted = form.get("csrf")
        if not csrf_matches(who.session, submitted if isinstance(submitted, str) else None):
            raise Forbidden("the form's CSRF token is missing or wrong: reload the page")
    return who


Writer = Annotated[Principal, Depends(writer)]


NAV = [
    ("/ranges", "Unassigned numbers"),
    ("/announcements", "Announcements"),
    ("/test", "Test number"),
    ("/calls", "Calls"),
    ("/statistics", "Statistics"),
    ("/pools", "Pools"),
    ("/audit", "Audit"),
]


def render(
    request: Request, template: str, who: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    context.update(
        who=who,
        nav=NAV,
        path=request.url.path,
        csrf=who.csrf_token if who is not None else None,
        can_write=who is not None and who.may(Permission.CONFIGURE),
    )
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
