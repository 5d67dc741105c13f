"""``vacant number`` (assigned numbers: always win over ranges) and ``vacant rule``
(normalisation rules: the inbound dial plan)."""

from __future__ import annotations

from pathlib import Path

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli, table
from vacant.routing.model import AssignedNumber, NormalisationRule
from vacant.service.imports import read_numbers_csv
from vacant.store import repository as repo


@click.group("number")
def number_group() -> None:
    """Assigned numbers: calls to them are redirected to their SIP URI, never treated as vacant."""


@number_group.command("add")
@click.argument("number")
@click.option("--uri", required=True, help="Where calls go: sip:user@domain.")
@click.option("--owner", default="", help="Who or what owns the number.")
@json_option
@pass_cli
def add(cli: CliContext, number: str, uri: str, owner: str, as_json: bool) -> None:
    """Assign NUMBER."""
    with cli.admin() as admin:
        created = admin.add_number(AssignedNumber.create(number, uri, owner))
    emit(created, as_json, f"assigned {created.number.uri} -> {created.uri}")


@number_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@pass_cli
def import_(cli: CliContext, file: Path, as_json: bool) -> None:
    """Import a CSV file with the header row number,uri,owner (all lines or none)."""
    rows = read_numbers_csv(file)
    total = len(rows)

    def progress(done: int) -> None:
        click.echo(f"  {done}/{total} rows", err=True)

    with cli.admin() as admin:
        count = admin.import_numbers(
            rows, file.name, progress=progress if total >= 10_000 else None
        )
    emit({"imported": count}, as_json, f"imported {count} numbers from {file.name}")


@number_group.command("list")
@json_option
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List assigned numbers."""
    with cli.session() as s:
        found = repo.list_numbers(s)
    rows = [[a.number.uri, a.uri, a.owner] for a in found]
    emit(found, as_json, table(rows, ["NUMBER", "URI", "OWNER"]))


@number_group.command("remove")
@click.argument("number")
@pass_cli
def remove(cli: CliContext, number: str) -> None:
    """Unassign NUMBER."""
    with cli.admin() as admin:
        admin.remove_number(number)
    click.echo(f"removed {number}")


@click.group("rule")
def rule_group() -> None:
    """Normalisation rules, applied in order to the dialled number before lookup."""


@rule_group.command("add")
@click.argument("name")
@click.option("--pattern", required=True, help=r"Regular expression, e.g. ^(\d{4})$.")
@click.option("--translation", required=True, help="Result, e.g. +1425555$1.")
@click.option("--description", default="", help="Free text.")
@json_option
@pass_cli
def rule_add(
    cli: CliContext, name: str, pattern: str, translation: str, description: str, as_json: bool
) -> None:
    """Add rule NAME at the end of the dial plan."""
    rule = NormalisationRule.create(name, pattern, translation, description=description)
    with cli.admin() as admin:
        created = admin.add_rule(rule)
    emit(
        created, as_json, f"created rule {created.name}: {created.pattern} -> {created.translation}"
    )


@rule_group.command("list")
@json_option
@pass_cli
def rule_list(cli: CliContext, as_json: bool) -> None:
    """List rules in the order they apply."""
    with cli.session() as s:
        rules = repo.list_rules(s)
    rows = [[r.name, r.pattern, r.translation] for r in rules]
    emit(rules, as_json, table(rows, ["NAME", "PATTERN", "TRANSLATION"]))


@rule_group.command("remove")
@click.argument("name")
@pass_cli
def rule_remove(cli: CliContext, name: str) -> None:
    """Remove rule NAME."""
    with cli.admin() as admin:
        admin.remove_rule(name)
    click.echo(f"removed rule {name}")
