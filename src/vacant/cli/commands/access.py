"""``vacant token`` (API tokens) and ``vacant user`` (web console users): who may use the REST
API and the console, with which role (``admin``, ``voice-admin``, ``view-only``)."""

from __future__ import annotations

import sys

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.store import access
from vacant.store.access import Role

role_option = click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="admin: everything; voice-admin: numbers, ranges, announcements, files, rules; "
    "view-only: read.",
)


def _when(value: object) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


@click.group("token")
def token_group() -> None:
    """API tokens (Authorization: Bearer ...): the secret is shown once, stored hashed."""


@token_group.command("create")
@click.option("--name", required=True, help="A unique name: letters, digits and . _ @ -.")
@role_option
@json_option
@pass_cli
def token_create(cli: CliContext, name: str, role: str, as_json: bool) -> None:
    """Create a token and print its secret (this once: it cannot be shown again)."""
    with cli.admin() as admin:
        created = admin.create_token(name, role)
    token = created.token
    data = {"name": token.name, "role": token.role, "prefix": token.prefix}
    emit(
        {**data, "created": token.created, "secret": created.secret},
        as_json,
        f"created token {token.name} (role {token.role})\n{created.secret}\n"
        "store the secret now: it is not shown again",
    )


@token_group.command("list")
@json_option
@pass_cli
def token_list(cli: CliContext, as_json: bool) -> None:
    """List tokens (never their secrets: the prefix tells them apart)."""
    with cli.session() as s:
        tokens = access.list_tokens(s)
    rows = [
        [t.name, t.role, t.prefix + "…", _when(t.created), _when(t.last_used), _when(t.revoked)]
        for t in tokens
    ]
    emit(
        tokens, as_json, table(rows, ["NAME", "ROLE", "PREFIX", "CREATED", "LAST USED", "REVOKED"])
    )


@token_group.command("revoke")
@click.argument("name")
@pass_cli
def token_revoke(cli: CliContext, name: str) -> None:
    """Revoke token NAME: it stops working at once (its console sessions end)."""
    with cli.admin() as admin:
        admin.revoke_token(name)
    click.echo(f"revoked token {name}")


@click.group("user")
def user_group() -> None:
    """Web console users (passwords stored as scrypt hashes)."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


@user_group.command("create")
@click.argument("name")
@role_option
@stdin_option
@json_option
@pass_cli
def user_create(cli: CliContext, name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Create user NAME (asks for the password twice, or reads it from stdin)."""
    access.validate_account_name(name)
    password = _password(password_stdin)
    with cli.admin() as admin:
        user = admin.create_user(name, role, password)
    emit(user, as_json, f"created user {user.name} (role {user.role})")


@user_group.command("list")
@json_option
@pass_cli
def user_list(cli: CliContext, as_json: bool) -> None:
    """List users."""
    with cli.session() as s:
        users = access.list_users(s)
    rows = [[u.name, u.role, _when(u.created), _when(u.password_changed)] for u in users]
    emit(users, as_json, table(rows, ["NAME", "ROLE", "CREATED", "PASSWORD CHANGED"]))


@user_group.command("remove")
@click.argument("name")
@pass_cli
def user_remove(cli: CliContext, name: str) -> None:
    """Remove user NAME (their console sessions end)."""
    with cli.admin() as admin:
        admin.remove_user(name)
    click.echo(f"removed user {name}")


@user_group.command("set-password")
@click.argument("name")
@stdin_option
@pass_cli
def user_set_password(cli: CliContext, name: str, password_stdin: bool) -> None:
    """Change the password of user NAME (their console sessions end)."""
    with cli.session() as s:
        access.get_user(s, name)  # before asking for a password
    password = _password(password_stdin)
    with cli.admin() as admin:
        admin.set_password(name, password)
    click.echo(f"changed the password of user {name}")


@user_group.command("set-role")
@click.argument("name")
@role_option
@json_option
@pass_cli
def user_set_role(cli: CliContext, name: str, role: str, as_json: bool) -> None:
    """Change the role of user NAME."""
    with cli.admin() as admin:
        user = admin.set_role(name, role)
    emit(user, as_json, f"user {user.name} now has role {user.role}")
