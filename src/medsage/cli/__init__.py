"""The ``medsage`` command: one click group, one module per verb, loaded lazily."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from medsage.errors import MedsageError

# verb -> "module:attribute"; each module defines one click command (or group).
COMMANDS: dict[str, str] = {
    "bench": "medsage.cli.bench:bench",
    "score": "medsage.cli.score:score",
    "list": "medsage.cli.list_cmd:list_cmd",
    "view": "medsage.cli.view:view",
    "compare": "medsage.cli.compare:compare",
    "kb": "medsage.cli.kb:kb",
    "ask": "medsage.cli.ask:ask",
    "safety": "medsage.cli.safety:safety",
    "deid": "medsage.cli.deid:deid",
    "note": "medsage.cli.note:note",
    "consult": "medsage.cli.consult:consult",
    "route": "medsage.cli.route:route",
    "serve": "medsage.cli.serve:serve",
    "keys": "medsage.cli.keys:keys",
    "data": "medsage.cli.data:data",
    "train": "medsage.cli.train:train",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, path in COMMANDS.items() if _importable(path))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        path = COMMANDS.get(cmd_name)
        if path is None:
            return None
        module, _, attr = path.partition(":")
        cmd: click.Command = getattr(importlib.import_module(module), attr)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MedsageError as exc:
            click.echo(f"medsage: error: {exc}", err=True)
            sys.exit(2)


def _importable(path: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(path.partition(":")[0]) is not None


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="medsage")
def cli(verbose: int) -> None:
    """medsage — open medical AI: benchmarks, cited answers, safety, notes, service.

    Outputs are decision support for clinicians, not diagnoses.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli()
