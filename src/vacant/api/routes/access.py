"""``/api/v1/tokens`` and ``/api/v1/users``: who may use the API and the console. Admins only,
reading included."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import (
    NewTokenOut,
    PasswordIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from vacant.service.access import Permission
from vacant.store import access

_ADMIN = guard(read=Permission.ADMINISTER, write=Permission.ADMINISTER)
tokens = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=[_ADMIN])
users = APIRouter(prefix="/users", tags=["users"], dependencies=[_ADMIN])


@tokens.get("")
def list_tokens(s: DB) -> list[TokenOut]:
    return [TokenOut.of(t) for t in access.list_tokens(s)]


@tokens.post("", status_code=201)
def create_token(body: TokenIn, admin: AdminDep) -> NewTokenOut:
    """The secret is in this response only: it is stored as a hash."""
    return NewTokenOut.of_new(admin.create_token(body.name, body.role))


@tokens.get("/{name}")
def get_token(name: str, s: DB) -> TokenOut:
    return TokenOut.of(access.get_token(s, name))


@tokens.delete("/{name}")
def revoke_token(name: str, admin: AdminDep) -> TokenOut:
    """Revoke: the token stops working at once; it stays listed (the audit log names it)."""
    return TokenOut.of(admin.revoke_token(name))


@users.get("")
def list_users(s: DB) -> list[UserOut]:
    return [UserOut.of(u) for u in access.list_users(s)]


@users.post("", status_code=201)
def create_user(body: UserIn, admin: AdminDep) -> UserOut:
    return UserOut.of(admin.create_user(body.name, body.role, body.password))


@users.get("/{name}")
def get_user(name: str, s: DB) -> UserOut:
    return UserOut.of(access.get_user(s, name))


@users.patch("/{name}")
def update_user(name: str, body: UserPatch, admin: AdminDep) -> UserOut:
    return UserOut.of(admin.set_role(name, body.role))


@users.put("/{name}/password", status_code=204)
def set_password(name: str, body: PasswordIn, admin: AdminDep) -> Response:
    """Their sessions end."""
    admin.set_password(name, body.password)
    return Response(status_code=204)


@users.delete("/{name}", status_code=204)
def remove_user(name: str, admin: AdminDep) -> Response:
    admin.remove_user(name)
    return Response(status_code=204)
