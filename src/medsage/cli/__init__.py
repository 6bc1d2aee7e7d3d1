"""The ``medsage`` command: one click group, one module per verb, loaded lazily.

Verbs are the ``medsage.commands`` entry points (:data:`medsage.registry.commands`), so a
plugin package can add one the same way the built-ins are declared in ``pyproject.toml``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from medsage.errors import MedsageError, SpecError
from medsage.registry import commands


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The verbs registered under ``medsage.commands``, without importing them."""
        return commands.names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return the verb ``cmd_name`` (None when no such verb is registered).

        Raises:
            SpecError: The entry point does not name a click command.
        """
        if cmd_name not in commands:
            return None
        cmd = commands.get(cmd_name)
        if not isinstance(cmd, click.Command):
            raise SpecError(f"command '{cmd_name}' is not a click command")
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        """Run the verb; a :class:`MedsageError` prints one error line and exits 2."""
        try:
            return super().invoke(ctx)
        except MedsageError as exc:
            click.echo(f"medsage: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="medsage")
def cli(verbose: int) -> None:
    """Medsage — open medical AI: benchmarks, cited answers, safety, notes, service.

    Outputs are decision support for clinicians, not diagnoses.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli()
