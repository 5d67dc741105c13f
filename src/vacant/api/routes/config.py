"""``/api/v1/config``: the whole configuration as one document (``vacant config export`` /
``import``): read by anyone who may read, imported by admins only (it changes pools too)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, Query, Request, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import ConfigImported
from vacant.service.access import Permission
from vacant.service.imports import decode_text, parse_config_document
from vacant.store import repository as repo

router = APIRouter(tags=["config"], dependencies=[guard(write=Permission.ADMINISTER)])
uploads = APIRouter(tags=["config"], dependencies=[guard(write=Permission.ADMINISTER)])

_DOCUMENT = {"type": "object", "description": "As `vacant config export` writes it."}


@router.get(
    "/config",
    responses={200: {"content": {"application/json": {}, "application/yaml": {}}}},
)
def export_config(
    s: DB, format: Literal["json", "yaml"] = Query("json", description="json or yaml.")
) -> Any:
    """Everything but the audio files' contents."""
    document = repo.export_config(s)
    if format == "yaml":
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml")
    return document


async def _body(request: Request) -> bytes:
    """The raw body (bounded by the route's size limit while it streams in)."""
    return await request.body()


@uploads.post(
    "/config",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _DOCUMENT}, "application/yaml": {}},
        }
    },
)
def import_config(
    body: Annotated[bytes, Depends(_body)],
    admin: AdminDep,
    dry_run: bool = Query(False, description="Report the changes; change nothing."),
) -> ConfigImported:
    """Make the configuration match the document (JSON or YAML), all or nothing: 422 lists
    every problem."""
    document = parse_config_document(decode_text(body, "config"), "config")
    changes = admin.import_config(document, "api", dry_run=dry_run)
    return ConfigImported(changes=changes, applied=not dry_run)
