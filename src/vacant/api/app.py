"""The HTTP side of ``vacant serve``: built by a factory, never at import time.

``/healthz`` (open to anyone: 200 once the SIP listeners are open, 503 before and while
stopping), ``/metrics`` (Prometheus text) and the REST API under ``/api/v1`` (OpenAPI at
``/api/v1/openapi.json``). Everything but ``/healthz`` and logging in needs a token or a
console session (``docs/api.md``). The web console (``vacant.api.console.pages``: ``/login``,
``/ranges``, ...) reuses the same session, CSRF token and audited writes; its pages redirect
anonymous browsers to ``/login``.

``create_app`` needs only an :class:`Application` with an engine: it does not start SIP, so
tests build one without running it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vacant import __version__
from vacant.api import errors
from vacant.api.console import pages as console
from vacant.api.deps import MULTIPART_OVERHEAD, ApiSettings, ApiState, guard
from vacant.api.metrics import ServerCollector
from vacant.api.routes import (
    access,
    announcements,
    audit,
    calls,
    config,
    files,
    numbers,
    pools,
    ranges,
    route,
    rules,
    session,
)
from vacant.service.app import Application

API_PREFIX = "/api/v1"
#: Routes open to anonymous requests: (method, path).
PUBLIC_ROUTES = frozenset({("GET", "/healthz"), ("POST", f"{API_PREFIX}/session"), *console.PUBLIC})
_FORM_LIMITS = {"max_files": 1, "max_fields": 8, "max_part_size": 64 * 1024}


def create_app(app: Application, settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    api = FastAPI(
        title="vacant",
        version=__version__,
        description="Answers calls to unassigned numbers: the configuration API (docs/api.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, to authenticated requests only
        max_body_size=settings.max_body,
        form_limits=_FORM_LIMITS,  # type: ignore[arg-type]
    )
    api.state.vacant = ApiState(app, settings)
    errors.install(api)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServerCollector(app))

    @api.get("/healthz", tags=["server"])
    def healthz() -> JSONResponse:
        """Liveness and readiness: 200 once the SIP listeners are open, 503 otherwise."""
        ready = app.runner is not None and app.handler is not None and not app.handler.draining
        body = {"status": "ok" if ready else "unavailable", "config_version": app.version}
        return JSONResponse(body, status_code=200 if ready else 503)

    server = APIRouter(tags=["server"], dependencies=[guard()])

    @server.get("/metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @server.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return api.openapi()

    api.include_router(server)
    for router in (
        session.public,
        session.router,
        pools.router,
        pools.status_router,
        files.router,
        announcements.router,
        ranges.router,
        numbers.router,
        rules.router,
        route.router,
        calls.router,
        config.router,
        access.tokens,
        access.users,
        audit.router,
    ):
        api.include_router(router, prefix=API_PREFIX)
    for router in (files.uploads, announcements.uploads):
        api.include_router(
            router, prefix=API_PREFIX, max_body_size=settings.max_upload + MULTIPART_OVERHEAD
        )
    for router in (numbers.uploads, config.uploads):
        api.include_router(router, prefix=API_PREFIX, max_body_size=settings.max_import)
    console.install(api, settings.max_upload)
    return api
