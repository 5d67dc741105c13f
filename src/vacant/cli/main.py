"""The ``vacant`` command line: nouns then verbs, like the Lync cmdlets it replaces.

``main(argv) -> int`` is the console script. Exit codes (DESIGN.md §2): 0 ok, 1 runtime failure,
2 usage or validation error. Errors go to stderr and name the field and the rule.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence

import click
from sqlalchemy.exc import SQLAlchemyError

from vacant import __version__
from vacant.cli.context import DEFAULT_DB, CliContext
from vacant.errors import ConfigError, StoreError, VacantError, ValidationError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

#: Each command and where it lives (module of ``vacant.cli.commands``, attribute). A command's
#: module is imported only when that command runs, so ``vacant route`` does not pay for the
#: web framework and the SIP stack that ``vacant serve`` needs.
COMMANDS = {
    "announcement": "announcements:announcement_group",
    "audit": "audit:audit_group",
    "calls": "calls:calls_group",
    "config": "config:config_group",
    "db": "config:db_group",
    "number": "numbers:number_group",
    "pool": "pools:pool_group",
    "range": "ranges:range_group",
    "route": "route:route",
    "rule": "numbers:rule_group",
    "serve": "serve:serve",
    "token": "access:token_group",
    "user": "access:user_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see :data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(
            importlib.import_module(f"vacant.cli.commands.{module}"), attribute
        )
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    "db_url",
    envvar="VACANT_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Database URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (env VACANT_DB).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="vacant")
@click.pass_context
def cli(ctx: click.Context, db_url: str, verbose: int) -> None:
    """vacant: answers calls to unassigned telephone numbers."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = ctx.with_resource(CliContext(db_url))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (tests call this directly)."""
    args = list(argv) if argv is not None else None
    try:
        result = cli.main(args=args, prog_name="vacant", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILURE
    except (ValidationError, StoreError, ConfigError) as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    except VacantError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_FAILURE
    except SQLAlchemyError as exc:
        hint = "" if os.environ.get("VACANT_DEBUG") else " (has `vacant db upgrade` been run?)"
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        click.echo(f"error: database: {detail}{hint}", err=True)
        return EXIT_FAILURE
    return result if isinstance(result, int) else EXIT_OK
