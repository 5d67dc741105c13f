"""``/api/v1/numbers``: the directory of assigned numbers (number → SIP URI; they always win
over ranges), with CSV import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import Imported, NumberIn, NumberOut, NumberPatch
from vacant.routing.model import AssignedNumber
from vacant.service.imports import parse_numbers_csv
from vacant.store import repository as repo

router = APIRouter(tags=["numbers"], dependencies=[guard()])
uploads = APIRouter(tags=["numbers"], dependencies=[guard()])


@router.get("/numbers")
def list_numbers(
    s: DB, limit: int | None = Query(None, ge=0), offset: int = Query(0, ge=0)
) -> list[NumberOut]:
    """Assigned numbers by number; page with ``limit`` and ``offset``."""
    return [NumberOut.of(a) for a in repo.list_numbers(s, limit=limit, offset=offset)]


@router.post("/numbers", status_code=201)
def create_number(body: NumberIn, admin: AdminDep) -> NumberOut:
    return NumberOut.of(admin.add_number(AssignedNumber.create(body.number, body.uri, body.owner)))


@uploads.post("/numbers/import")
def import_numbers(
    file: Annotated[UploadFile, File(description="CSV with the header number,uri,owner.")],
    admin: AdminDep,
) -> Imported:
    """Import a CSV of numbers, all lines or none (422 lists every bad line)."""
    source = file.filename or "csv"
    rows = parse_numbers_csv(file.file.read(), source)
    return Imported(imported=admin.import_numbers(rows, source))


@router.get("/numbers/{number}")
def get_number(number: str, s: DB) -> NumberOut:
    return NumberOut.of(repo.get_number(s, number))


@router.patch("/numbers/{number}")
def update_number(number: str, body: NumberPatch, admin: AdminDep) -> NumberOut:
    given = body.model_fields_set
    return NumberOut.of(
        admin.update_number(
            number,
            uri=body.uri if "uri" in given else repo.UNSET,
            owner=body.owner if "owner" in given else repo.UNSET,
        )
    )


@router.delete("/numbers/{number}", status_code=204)
def remove_number(number: str, admin: AdminDep) -> Response:
    admin.remove_number(number)
    return Response(status_code=204)
