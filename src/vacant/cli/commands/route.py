"""``vacant route NUMBER``: the dry run (Teams' "Test number")."""

from __future__ import annotations

import click

from vacant.cli.context import CliContext, emit, json_option, pass_cli
from vacant.routing.policy import decision_to_json
from vacant.service.lookup import route as decide_route


@click.command("route")
@click.argument("number")
@json_option
@pass_cli
def route(cli: CliContext, number: str, as_json: bool) -> None:
    """Show what happens to a call to NUMBER, and why."""
    with cli.session() as s:
        decision = decide_route(s, number)
    data = decision_to_json(decision)
    lines = [f"{data['decision']}: {data['number']} (normalised {data['normalised']})"]
    for key in ("range", "pool", "announcement", "target"):
        if data[key] is not None:
            lines.append(f"  {key}: {data[key]}")
    lines += [f"  - {line}" for line in decision.explanation]
    emit(data, as_json, "\n".join(lines))
