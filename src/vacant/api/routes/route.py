"""``/api/v1/route``: the dry run (``vacant route``, Teams' "Test number")."""

from __future__ import annotations

from fastapi import APIRouter, Query

from vacant.api.deps import DB, guard
from vacant.api.schemas import RouteOut
from vacant.routing.policy import decision_to_json
from vacant.service.lookup import route as decide

router = APIRouter(tags=["route"], dependencies=[guard()])


@router.get("/route")
def route(
    s: DB, number: str = Query(description="As dialled: +14255551234, tel:..., sip:...")
) -> RouteOut:
    """What happens to a call to ``number``, and why."""
    return RouteOut.model_validate(decision_to_json(decide(s, number)))
