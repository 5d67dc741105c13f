"""The web console's pages: log in, the unassigned number table with staged changes (Lync's
Commit all / Discard), test a number, the audit log, announcements, calls and pools.

Every page needs a session (or a token): without one it redirects to ``/login``. Every form is a
POST carrying the session's CSRF token in the hidden ``csrf`` field; a write by a role that may
not configure is refused (403) whatever the page showed. Staged range changes are kept on the
server, per session, and **Commit all** applies them in one transaction through
:class:`~vacant.service.admin.Admin` (all or nothing).

A console request that is refused (403), names a missing object (404) or fails otherwise gets
:func:`error_page`, in the console's layout (``vacant.api.errors`` asks it first for every
error); a form's own problems (422, 409) are shown inline on the form.

What every page shares (who is asking, the write check, rendering) is in
:mod:`vacant.api.console.common`; the Announcements pages in
:mod:`vacant.api.console.announcements`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from vacant.api import errors
from vacant.api.console import announcements
from vacant.api.console.common import (
    FORM_LIMITS,
    HERE,
    NAV,
    LoginRequired,
    Viewer,
    Writer,
    render,
    see,
)
from vacant.api.deps import (
    DB,
    State,
    clear_session_cookie,
    monotonic,
    set_session_cookie,
    utc_now,
)
from vacant.errors import (
    Forbidden,
    RateLimited,
    StoreError,
    Unauthenticated,
    ValidationError,
)
from vacant.routing.policy import decision_to_json
from vacant.service import access
from vacant.service.access import Permission, Principal, csrf_matches
from vacant.service.admin import Admin
from vacant.service.announce import Outcome
from vacant.service.imports import parse_since
from vacant.service.lookup import route as decide
from vacant.store import repository as repo
from vacant.store.audit import list_audit
from vacant.store.calls import CallRecord, list_calls
from vacant.store.engine import session_scope

STATIC = HERE / "static"
STATIC_FILES = {"console.css": "text/css"}
#: Headers on every response: no framing, nothing but this origin's resources.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
#: Console routes open to anonymous requests.
PUBLIC = frozenset({("GET", "/login"), ("POST", "/login"), ("GET", "/static/{name}")})


async def _any_session(request: Request, who: Viewer) -> Principal:
    """Logging out: any role, with the CSRF token."""
    if who.session is not None:
        form = await request.form(**FORM_LIMITS)
        submitted = form.get("csrf")
        if not csrf_matches(who.session, submitted if isinstance(submitted, str) else None):
            raise Forbidden("the form's CSRF token is missing or wrong: reload the page")
    return who


public = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False)


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- logging in ------------------------------------------------------------------------------


@public.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        (STATIC / name).read_bytes(),
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "max-age=3600"},
    )


@public.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@public.post("/login")
def log_in(
    request: Request,
    state: State,
    s: DB,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
) -> Response:
    if not (name and password) and not token:
        error = "name: is required, with the password (or give an API token)"
        return render(request, "login.html", None, status=422, error=error, name=name)
    try:
        login = access.login(
            s,
            state.limiter,
            name=name or None,
            password=password or None,
            token=token or None,
            source=request.client.host if request.client else "unknown",
            lifetime=state.settings.session_lifetime,
            now=utc_now(),
            clock=monotonic(),
        )
    except (Unauthenticated, RateLimited, ValidationError) as exc:
        status = {RateLimited: 429, ValidationError: 422}.get(type(exc), 401)
        return render(request, "login.html", None, status=status, error=str(exc), name=name)
    response = see("/ranges")
    set_session_cookie(request, response, state.settings, login.secret)
    return response


@router.post("/logout")
def log_out(
    request: Request, state: State, who: Annotated[Principal, Depends(_any_session)]
) -> Response:
    response = see("/login")
    state.staged.pop(who.session or who.actor, None)
    if who.session is not None:
        with session_scope(state.app.engine) as s:
            access.logout(s, who.session)
        clear_session_cookie(request, response, state.settings)
    return response


@router.get("/")
def home(who: Viewer) -> Response:
    return see("/ranges")


# --- the unassigned number table, with staged changes ----------------------------------------

RANGE_FIELDS = ("start", "end", "pattern", "announcement", "auto_attendant", "priority")


def _staged(state: State, who: Principal) -> list[dict[str, Any]]:
    return state.staged.setdefault(who.session or who.actor, [])


def _announcement_names(s: Session) -> dict[Any, str]:
    return {a.id: f"{a.pool}/{a.name}" for a in repo.list_announcements(s)}


def _rows(s: Session, staged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table as it will be after Commit all: committed rows, then the staged changes."""
    names = _announcement_names(s)
    rows: list[dict[str, Any]] = []
    for r in repo.list_ranges(s):
        rows.append(
            {
                "name": r.name,
                "state": "committed",
                "start": _text(r.start),
                "end": _text(r.end),
                "pattern": _text(r.pattern),
                "announcement": names.get(r.announcement_id, "") if r.announcement_id else "",
                "auto_attendant": _text(r.auto_attendant),
                "priority": str(r.priority),
            }
        )
    for op in staged:
        found = next((row for row in rows if row["name"] == op["name"]), None)
        if op["op"] == "add":
            row = {"name": op["name"], "state": "pending: new"}
            row.update({k: op.get(k) or "" for k in RANGE_FIELDS})
            rows.append(row)
        elif found is None:
            continue
        elif op["op"] == "update":
            found.update({k: op.get(k) or "" for k in RANGE_FIELDS})
            found["state"] = "pending: edit"
        elif op["op"] == "remove":
            found["state"] = "pending: delete"
        elif op["op"] in ("up", "down"):
            i = rows.index(found)
            j = i - 1 if op["op"] == "up" else i + 1
            if 0 <= j < len(rows):
                # The ranges passed swap their keys of order (priority) with the moved one.
                rows[i]["priority"], rows[j]["priority"] = rows[j]["priority"], rows[i]["priority"]
                rows[i], rows[j] = rows[j], rows[i]
            if found["state"] == "committed":
                found["state"] = "pending: move"
    return rows


@router.get("/ranges")
def ranges_page(
    request: Request,
    who: Viewer,
    state: State,
    s: DB,
    search: str = "",
    selected: str = "",
) -> HTMLResponse:
    staged = _staged(state, who)
    rows = _rows(s, staged)
    if search:
        rows = [r for r in rows if search.lower() in r["name"].lower()]
    return render(
        request,
        "ranges.html",
        who,
        rows=rows,
        staged=staged,
        search=search,
        selected=selected,
        errors=[],
    )


def _range_form(
    request: Request, who: Principal, s: Session, values: dict[str, str], editing: bool
) -> HTMLResponse:
    return render(
        request,
        "range_form.html",
        who,
        values=values,
        editing=editing,
        announcements=sorted(_announcement_names(s).values()),
    )


@router.get("/ranges/new")
def new_range(request: Request, who: Viewer, s: DB) -> HTMLResponse:
    return _range_form(request, who, s, {}, editing=False)


@router.get("/ranges/edit")
def edit_range(request: Request, who: Viewer, state: State, s: DB, name: str) -> HTMLResponse:
    row = next((r for r in _rows(s, _staged(state, who)) if r["name"] == name), None)
    if row is None:
        return see("/ranges")  # type: ignore[return-value]
    return _range_form(request, who, s, row, editing=True)


@router.post("/ranges/stage")
def stage_range(
    who: Writer,
    state: State,
    op: Annotated[str, Form()] = "add",
    name: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    pattern: Annotated[str, Form()] = "",
    announcement: Annotated[str, Form()] = "",
    auto_attendant: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
) -> Response:
    """Stage a new range or an edit (nothing is saved until Commit all)."""
    change = {
        "op": "update" if op == "update" else "add",
        "name": name.strip(),
        "start": start.strip(),
        "end": end.strip(),
        "pattern": pattern.strip(),
        "announcement": announcement.strip(),
        "auto_attendant": auto_attendant.strip(),
        "priority": priority.strip(),
    }
    _staged(state, who).append(change)
    return see(f"/ranges?selected={quote(change['name'], safe='')}")


@router.post("/ranges/selection")
def on_selection(
    who: Writer,
    state: State,
    action: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Edit, Delete, Move up or Move down the selected range."""
    if not name:
        return see("/ranges")
    if action == "edit":
        return see(f"/ranges/edit?name={quote(name, safe='')}")
    if action in ("remove", "up", "down"):
        _staged(state, who).append({"op": action, "name": name})
    return see(f"/ranges?selected={quote(name, safe='')}")


def _apply(admin: Admin, op: dict[str, Any]) -> None:
    name = op["name"]
    if op["op"] == "remove":
        admin.remove_range(name)
        return
    if op["op"] in ("up", "down"):
        admin.move_range(name, up=op["op"] == "up", down=op["op"] == "down")
        return
    ann = op.get("announcement") or None
    target = None
    if ann is not None:
        pool, _, ann_name = ann.partition("/")
        target = (pool, ann_name)
    start, end = op.get("start") or None, op.get("end") or None
    pattern = op.get("pattern") or None
    auto_attendant = op.get("auto_attendant") or None
    raw_priority = op.get("priority") or ""
    try:
        priority = int(raw_priority) if raw_priority else None
    except ValueError:
        raise ValidationError("priority", "must be a whole number") from None
    if op["op"] == "add":
        admin.add_range(
            name,
            start=start,
            end=end,
            pattern=pattern,
            announcement=target,
            auto_attendant=auto_attendant,
            priority=priority,
        )
        return
    # An edit sets numbers or a pattern, an announcement or an auto attendant (as the CLI).
    admin.update_range(
        name,
        start=repo.UNSET if pattern else start,
        end=repo.UNSET if pattern else end,
        pattern=pattern if pattern else repo.UNSET,
        announcement=target if target else repo.UNSET,
        auto_attendant=repo.UNSET if target else auto_attendant,
        priority=repo.UNSET if priority is None else priority,
    )


@router.post("/ranges/commit")
def commit_all(request: Request, who: Writer, state: State) -> Response:
    """Apply every staged change in one transaction: all of them, or none."""
    staged = _staged(state, who)
    errors: list[dict[str, str]] = []
    try:
        with session_scope(state.app.engine) as s:
            admin = Admin(s, who.actor)
            for index, op in enumerate(staged, 1):
                try:
                    _apply(admin, op)
                except ValidationError as exc:
                    errors.append(
                        {
                            "change": f"{index}. {op['op']} {op['name']}",
                            "field": exc.field,
                            "rule": exc.rule,
                        }
                    )
                    raise
                except StoreError as exc:
                    errors.append(
                        {
                            "change": f"{index}. {op['op']} {op['name']}",
                            "field": "name",
                            "rule": str(exc),
                        }
                    )
                    raise
    except (ValidationError, StoreError):
        with session_scope(state.app.engine) as s:
            rows = _rows(s, staged)
        return render(
            request,
            "ranges.html",
            who,
            status=422,
            rows=rows,
            staged=staged,
            search="",
            selected="",
            errors=errors,
        )
    staged.clear()
    return see("/ranges")


@router.post("/ranges/discard")
def discard_all(who: Writer, state: State) -> Response:
    _staged(state, who).clear()
    return see("/ranges")


# --- test a number ---------------------------------------------------------------------------


@router.get("/test")
def try_a_number(request: Request, who: Viewer, s: DB, number: str = "") -> HTMLResponse:
    result: dict[str, object] | None = None
    error = None
    if number:
        try:
            result = decision_to_json(decide(s, number))
        except ValidationError as exc:
            error = str(exc)
    return render(request, "test.html", who, number=number, result=result, error=error)


# --- audit, calls, pools ---------------------------------------------------------------------


@router.get("/audit")
def audit_page(request: Request, who: Viewer, s: DB, action: str = "") -> HTMLResponse:
    entries = list_audit(
        s,
        action=action or None,
        hide=() if who.may(Permission.ADMINISTER) else ("token", "user"),
        limit=200,
    )
    return render(request, "audit.html", who, entries=entries, action=action)


#: The calls page shows the newest this many records.
CALLS_SHOWN = 500
DECISIONS = ("assigned", "announcement", "auto-attendant", "busy", "not-found")
OUTCOMES = tuple(o.value for o in Outcome)


def _find_calls(
    s: Session, since: str, number: str, decision: str, outcome: str
) -> list[CallRecord]:
    """The calls page's records, newest first (ValidationError for a filter that is not one)."""
    if decision and decision not in DECISIONS:
        raise ValidationError("decision", f"must be one of {', '.join(DECISIONS)}")
    if outcome and outcome not in OUTCOMES:
        raise ValidationError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    if outcome and decision not in ("", "announcement"):
        return []  # only announcement calls have an outcome
    return list_calls(
        s,
        since=parse_since(since, datetime.now(UTC)) if since else None,
        number=number or None,
        decision="announcement" if outcome else decision or None,
        outcome=outcome or None,
        limit=CALLS_SHOWN,
    )


@router.get("/calls")
def calls_page(
    request: Request,
    who: Viewer,
    s: DB,
    since: str = "",
    number: str = "",
    decision: str = "",
    outcome: str = "",
) -> HTMLResponse:
    """The call records, newest first, by time, number, decision and (announcement calls)
    outcome, with the seconds of prompt played and the transfer target."""
    error = None
    records: list[Any] = []
    try:
        records = _find_calls(s, since, number, decision, outcome)
    except ValidationError as exc:
        error = str(exc)
    return render(
        request,
        "calls.html",
        who,
        records=records,
        since=since,
        number=number,
        decision=decision,
        outcome=outcome,
        decisions=DECISIONS,
        outcomes=OUTCOMES,
        error=error,
    )


@router.get("/pools")
def pools_page(request: Request, who: Viewer, s: DB) -> HTMLResponse:
    """Every pool: backup, automatic failover, state, instances and their health, and which
    pool answers its ranges now (``vacant pool status``)."""
    from vacant.service.pools import pool_status

    return render(request, "pools.html", who, pools=pool_status(s))


# --- statistics ------------------------------------------------------------------------------

#: Colours of the ranges in the calls-per-day chart (cycled).
PALETTE = ("#2b5797", "#e3a21a", "#00a300", "#b91d47", "#7e3878", "#1e7145", "#603cba", "#da532c")
STATS_DAYS = 14
STATS_CALLS = 100_000


def _as_int(number: object) -> tuple[int, int] | None:
    digits = str(number).lstrip("+")
    return (len(digits), int(digits)) if digits.isdigit() else None


def _by_range(record: CallRecord) -> str | None:
    """Calls to unassigned numbers, by range."""
    return None if record.decision == "assigned" else record.range_name or "(no range)"


def _by_outcome(record: CallRecord) -> str | None:
    """Announcement calls, by outcome."""
    return record.outcome if record.decision == "announcement" else None


def _calls_per_day(
    records: list[CallRecord], today: datetime, group: Callable[[CallRecord], str | None]
) -> dict[str, Any]:
    """Stacked bars: the calls ``group`` names per name per day, as SVG geometry."""
    days = [(today.date().toordinal() - i) for i in range(STATS_DAYS - 1, -1, -1)]
    counts: dict[tuple[int, str], int] = {}
    names: list[str] = []
    for r in records:
        key = group(r)
        if key is None:
            continue
        if key not in names:
            names.append(key)
        day = r.started.date().toordinal()
        counts[(day, key)] = counts.get((day, key), 0) + 1
    totals = [sum(counts.get((d, n), 0) for n in names) for d in days]
    top = max(totals, default=0) or 1
    width, height, left, bottom = 720, 240, 40, 30
    bar = (width - left) / len(days)
    bars = []
    for i, day in enumerate(days):
        y = float(height - bottom)
        for j, n in enumerate(names):
            c = counts.get((day, n), 0)
            if c:
                h = c / top * (height - bottom - 10)
                y -= h
                bars.append(
                    {
                        "x": left + i * bar + 2,
                        "y": y,
                        "w": bar - 4,
                        "h": h,
                        "fill": PALETTE[j % len(PALETTE)],
                        "title": f"{n}: {c}",
                    }
                )
    labels = [
        {"x": left + i * bar + bar / 2, "text": datetime.fromordinal(day).strftime("%m-%d")}
        for i, day in enumerate(days)
    ]
    legend = [{"name": n, "fill": PALETTE[j % len(PALETTE)]} for j, n in enumerate(names)]
    return {
        "width": width,
        "height": height,
        "bottom": height - bottom,
        "left": left,
        "top": top,
        "bars": bars,
        "labels": labels,
        "legend": legend,
    }


@router.get("/statistics")
def statistics_page(request: Request, who: Viewer, s: DB) -> HTMLResponse:
    """Lync admins' report: calls per range per day, the 20 most-called unassigned numbers,
    and per range its size, assigned and free numbers; and announcement calls per outcome per
    day."""
    now = datetime.now(UTC)
    since = datetime.fromordinal(now.date().toordinal() - STATS_DAYS + 1).replace(tzinfo=UTC)
    records = list_calls(s, since=since, limit=STATS_CALLS)
    called: dict[str, int] = {}
    for call in records:
        if call.decision != "assigned":
            number = call.normalised or call.dialled
            called[number] = called.get(number, 0) + 1
    most = sorted(called.items(), key=lambda item: (-item[1], item[0]))[:20]
    most_top = max((c for _, c in most), default=1)
    assigned = [n for n in (_as_int(a.number) for a in repo.list_numbers(s)) if n is not None]
    inventory: list[dict[str, object]] = []
    for r in repo.list_ranges(s):
        start, end = _as_int(r.start), _as_int(r.end)
        if start is None or end is None or start[0] != end[0]:
            inventory.append(
                {"name": r.name, "size": None, "assigned": None, "free": None, "pattern": r.pattern}
            )
            continue
        size = end[1] - start[1] + 1
        used = sum(1 for n in assigned if n[0] == start[0] and start[1] <= n[1] <= end[1])
        inventory.append(
            {"name": r.name, "size": size, "assigned": used, "free": size - used, "pattern": None}
        )
    return render(
        request,
        "statistics.html",
        who,
        chart=_calls_per_day(records, now, _by_range),
        outcomes=_calls_per_day(records, now, _by_outcome),
        most=[{"number": n, "calls": c, "w": c / most_top * 400} for n, c in most],
        inventory=inventory,
        days=STATS_DAYS,
    )


# --- error pages -----------------------------------------------------------------------------

#: The error page's heading per status (others: the status phrase).
ERROR_TITLES = {
    401: "Not logged in",
    403: "Refused",
    404: "Not found",
    409: "Conflict",
    422: "Not valid",
    429: "Too many attempts",
    503: "Unavailable",
}
#: Headers of an error that the page keeps.
ERROR_HEADERS = ("Allow", "Retry-After")
#: Paths that are never the console's, even when no route matches them.
NOT_CONSOLE = ("/api/", "/metrics", "/healthz")


def is_console(request: Request, endpoints: frozenset[Callable[..., Any]]) -> bool:
    """Whether ``request`` is the console's: a route of its routers, or (no route matched) a
    browser's request for a page outside the API."""
    endpoint = request.scope.get("endpoint")
    if endpoint is not None:
        return endpoint in endpoints
    return not request.url.path.startswith(NOT_CONSOLE) and "text/html" in request.headers.get(
        "accept", ""
    )


def error_page(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None
) -> HTMLResponse:
    """A refused or failed console request as a page in the console's layout: what was asked
    (method and path), the status and why (the same detail the API gives in JSON)."""
    who = getattr(request.state, "who", None)
    section = "/" + request.url.path.split("/")[1]
    response = render(
        request,
        "error.html",
        who if isinstance(who, Principal) else None,
        status=status,
        title=ERROR_TITLES.get(status) or HTTPStatus(status).phrase,
        status_code=status,
        phrase=HTTPStatus(status).phrase,
        refused=f"{request.method} {request.url.path}",
        detail=detail,
        back=next(((href, label) for href, label in NAV if href == section), NAV[0]),
    )
    for name in ERROR_HEADERS:
        if headers and name in headers:
            response.headers[name] = headers[name]
    return response


# --- wiring ----------------------------------------------------------------------------------


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, add_headers)


def install(api: FastAPI, max_upload: int) -> None:
    """Add the console's routes, its login redirect, its error pages and the security headers
    to ``api``."""

    async def login_required(_request: Request, _exc: Exception) -> Response:
        return see("/login")

    routers = (public, router, announcements.router)
    endpoints = frozenset(
        route.endpoint for r in routers for route in r.routes if isinstance(route, APIRoute)
    )

    def page_for(
        request: Request, status: int, detail: str, headers: Mapping[str, str] | None
    ) -> Response | None:
        if status < 400 or not is_console(request, endpoints):
            return None
        return error_page(request, status, detail, headers)

    api.add_exception_handler(LoginRequired, login_required)
    errors.use_error_page(api, page_for)
    api.include_router(public)
    for pages in (router, announcements.router):
        api.include_router(
            pages,
            max_body_size=max_upload + 64 * 1024,
            form_limits=FORM_LIMITS,  # type: ignore[arg-type]
        )
    api.add_middleware(SecurityHeaders)
