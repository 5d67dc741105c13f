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
======================================  ======  ============================================

The ``detail`` of a 422, 404 or 409 is the message the CLI prints after ``error:``: both come
from the same validation code.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

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


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return problem(422, str(exc), field=exc.field, rule=exc.rule)


def _schema(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in _WHERE:
            loc = loc[1:]
        problems.append((".".join(loc) or "body", str(error.get("msg", "is not valid"))))
    field, rule = problems[0] if problems else ("body", "is not valid")
    detail = "\n".join(f"{f}: {r}" for f, r in problems) or f"{field}: {rule}"
    return problem(422, detail, field=field, rule=rule)


def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return problem(404, str(exc))


def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return problem(409, str(exc))


def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    return problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})


def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return problem(403, str(exc))


def _rate_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    retry = str(max(1, math.ceil(exc.retry_after)))
    return problem(429, str(exc), headers={"Retry-After": retry})


def _database(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return problem(503, "the database is unavailable", headers={"Retry-After": "5"})


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
