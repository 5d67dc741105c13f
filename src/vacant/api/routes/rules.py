"""``/api/v1/rules``: the normalisation rules (the inbound dial plan), in the order they apply.
A rule's name may hold any printable character: the item routes take the rest of the path."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import RuleIn, RuleOut, RulePatch
from vacant.routing.model import NormalisationRule
from vacant.store import repository as repo

router = APIRouter(prefix="/rules", tags=["rules"], dependencies=[guard()])


@router.get("")
def list_rules(s: DB) -> list[RuleOut]:
    """The rules in the order they apply (the first match wins)."""
    return [RuleOut.of(r) for r in repo.list_rules(s)]


@router.post("", status_code=201)
def create_rule(body: RuleIn, admin: AdminDep) -> RuleOut:
    rule = NormalisationRule.create(
        body.name, body.pattern, body.translation, body.position, body.description
    )
    return RuleOut.of(admin.add_rule(rule))


@router.get("/{name:path}")
def get_rule(name: str, s: DB) -> RuleOut:
    return RuleOut.of(repo.get_rule(s, name))


@router.patch("/{name:path}")
def update_rule(name: str, body: RulePatch, admin: AdminDep) -> RuleOut:
    given = body.model_fields_set
    return RuleOut.of(
        admin.update_rule(
            name,
            pattern=body.pattern if "pattern" in given else repo.UNSET,
            translation=body.translation if "translation" in given else repo.UNSET,
            description=body.description if "description" in given else repo.UNSET,
        )
    )


@router.delete("/{name:path}", status_code=204)
def remove_rule(name: str, admin: AdminDep) -> Response:
    admin.remove_rule(name)
    return Response(status_code=204)
