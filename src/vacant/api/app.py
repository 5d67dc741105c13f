"""The HTTP side of ``vacant serve``: built by a factory, never at import time.

Today: ``/healthz`` and ``/metrics`` (Prometheus text). The REST API under ``/api/v1`` and the
web console are added here as routers.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vacant import __version__
from vacant.api.metrics import ServerCollector
from vacant.service.app import Application


def create_app(app: Application) -> FastAPI:
    api = FastAPI(title="vacant", version=__version__, docs_url=None, redoc_url=None)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServerCollector(app))

    @api.get("/healthz")
    def healthz() -> dict[str, object]:
        """Liveness and readiness: ok once the SIP listeners are open."""
        ready = app.runner is not None and app.handler is not None and not app.handler.draining
        return {"status": "ok" if ready else "starting", "config_version": app.version}

    @api.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return api
