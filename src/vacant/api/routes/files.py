"""``/api/v1/files``: the audio files imported into the pools' file stores (uploaded as
``multipart/form-data``; the size limit is enforced while the body streams in)."""

from __future__ import annotations

import mimetypes
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Response, UploadFile

from vacant.api.deps import DB, AdminDep, State, guard
from vacant.api.schemas import FileOut
from vacant.errors import NotFound
from vacant.routing.model import AnnouncementFile
from vacant.store import repository as repo

router = APIRouter(prefix="/files", tags=["files"], dependencies=[guard()])
uploads = APIRouter(prefix="/files", tags=["files"], dependencies=[guard()])


def media_type(name: str, declared: str | None) -> str:
    """As the CLI: from the file name's extension, else what the client declared."""
    return mimetypes.guess_type(name)[0] or declared or "application/octet-stream"


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded file's bytes (at most ``limit`` + 1: the store refuses more, by name)."""
    return upload.file.read(limit + 1)


def store_upload(
    admin: AdminDep,
    state: State,
    pool: str,
    upload: UploadFile,
    name: str | None,
    replace: bool,
) -> AnnouncementFile:
    file_name = name or upload.filename or ""
    limit = state.settings.max_upload
    return admin.add_file(
        pool,
        file_name,
        read_upload(upload, limit),
        media_type(file_name, upload.content_type),
        max_size=limit,
        replace=replace,
    )


@router.get("")
def list_files(s: DB, pool: str | None = None) -> list[FileOut]:
    return [FileOut.of(f) for f in repo.list_files(s, pool)]


@uploads.post("/{pool}", status_code=201)
def upload_file(
    pool: str,
    file: Annotated[UploadFile, File(description="The audio file.")],
    admin: AdminDep,
    state: State,
    name: Annotated[
        str | None, Form(description="Name in the store (default: the file's).")
    ] = None,
    replace: Annotated[bool, Form(description="Replace a file of the same name.")] = False,
) -> FileOut:
    return FileOut.of(store_upload(admin, state, pool, file, name, replace))


def _find(s: DB, pool: str, name: str) -> AnnouncementFile:
    for stored in repo.list_files(s, pool):
        if stored.name == name:
            return stored
    raise NotFound(f"file {name!r} does not exist in pool {pool!r}")


@router.get("/{pool}/{name}")
def get_file(pool: str, name: str, s: DB) -> FileOut:
    return FileOut.of(_find(s, pool, name))


@router.get(
    "/{pool}/{name}/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(pool: str, name: str, s: DB) -> Response:
    stored = _find(s, pool, name)
    content = repo.get_file_content(s, pool, name)
    return Response(
        content,
        media_type=stored.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete("/{pool}/{name}", status_code=204)
def remove_file(pool: str, name: str, admin: AdminDep) -> Response:
    admin.remove_file(pool, name)
    return Response(status_code=204)
