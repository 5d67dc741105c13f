"""vacant's errors as HTTP responses, in one place (DESIGN.md §8: translated where layers meet).

======================================  ======  ============================================
error                                   status  body
======================================  ======  ============================================
ValidationError, InvalidNumber          422     ``{"field", "rule", "detail": "field: rule"}``
a request that does not fit the schema  422     the same, from the first problem found
NotFound                                404     ``{"detail"}``
Conflict (and other StoreErrors)        409     ``{"detail"}``
Unauthenticated                         401     ``{"detail"}``, ``WWW-Authenticate: Bearer``
Forbidden                               403     ``{"detail"}``
RateLimited                             429     ``{"detail"}``, ``Retry-After``
the database unreachable                503     ``{"detail"}`` (the cause is logged)
an HTTPException (no such route, ...)   its     ``{"detail"}`` (FastAPI's own answer)
======================================  ======  ============================================

The ``detail`` of a 422, 404 or 409 is the message the CLI prints after ``error:``: both come
from the same validation code.

A request of the web console gets the same status and detail as an HTML page in the console's
layout instead of JSON: the console registers its page with :func:`use_error_page`, and every
handler here asks it first (``vacant.api.console.pages.error_page`` decides which requests are
the console's). The API keeps JSON.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from vacant.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    StoreError,
    Unauthenticated,
    ValidationError,
)

log = logging.getLogger(__name__)

_WHERE = {"body", "query", "path", "header", "cookie"}

#: Renders an error as a page when ``request`` is one it serves (status, detail, headers);
#: None lets the API answer JSON.
ErrorPage = Callable[[Request, int, str, Mapping[str, str] | None], Response | None]


def use_error_page(api: FastAPI, page: ErrorPage) -> None:
    """Answer the errors of the requests ``page`` recognises with its page (the web console's)."""
    api.state.error_page = page


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def _page(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None
) -> Response | None:
    page: ErrorPage | None = getattr(request.app.state, "error_page", None)
    return None if page is None else page(request, status, detail, headers)


def _answer(request: Request, status: int, detail: str, **extra: Any) -> Response:
    """The error page when the request is the console's, else :func:`problem`."""
    html = _page(request, status, detail, extra.get("headers"))
    return html if html is not None else problem(status, detail, **extra)


def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return _answer(request, 422, str(exc), field=exc.field, rule=exc.rule)


def _schema(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in _WHERE:
            loc = loc[1:]
        problems.append((".".join(loc) or "body", str(error.get("msg", "is not valid"))))
    field, rule = problems[0] if problems else ("body", "is not valid")
    detail = "\n".join(f"{f}: {r}" for f, r in problems) or f"{field}: {rule}"
    return _answer(request, 422, detail, field=field, rule=rule)


def _not_found(request: Request, exc: Exception) -> Response:
    return _answer(request, 404, str(exc))


def _conflict(request: Request, exc: Exception) -> Response:
    return _answer(request, 409, str(exc))


def _unauthenticated(request: Request, exc: Exception) -> Response:
    return _answer(request, 401, str(exc), headers={"WWW-Authenticate": "Bearer"})


def _forbidden(request: Request, exc: Exception) -> Response:
    return _answer(request, 403, str(exc))


def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    retry = str(max(1, math.ceil(exc.retry_after)))
    return _answer(request, 429, str(exc), headers={"Retry-After": retry})


def _database(request: Request, exc: Exception) -> Response:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return _answer(request, 503, "the database is unavailable", headers={"Retry-After": "5"})


async def _http(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, method not allowed): FastAPI's own answer."""
    assert isinstance(exc, HTTPException)
    html = _page(request, exc.status_code, str(exc.detail), exc.headers)
    return html if html is not None else await http_exception_handler(request, exc)


def install(api: FastAPI) -> None:
    """Register the handlers (more specific classes first: Starlette picks by the MRO)."""
    api.add_exception_handler(ValidationError, _validation)
    api.add_exception_handler(RequestValidationError, _schema)
    api.add_exception_handler(NotFound, _not_found)
    api.add_exception_handler(StoreError, _conflict)
    api.add_exception_handler(Unauthenticated, _unauthenticated)
    api.add_exception_handler(Forbidden, _forbidden)
    api.add_exception_handler(RateLimited, _rate_limited)
    api.add_exception_handler(SQLAlchemyError, _database)
    api.add_exception_handler(HTTPException, _http)
