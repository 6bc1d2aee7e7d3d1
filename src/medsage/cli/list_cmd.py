"""``medsage list``: tasks, providers and pipelines."""

from __future__ import annotations

import click

from medsage.cli.common import echo_json


@click.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """List the registered tasks, model providers and pipelines."""
    from medsage.errors import MedsageError
    from medsage.registry import pipelines, providers, tasks

    task_rows = []
    for name in tasks.names():
        try:
            obj = tasks.get(name)
            desc = getattr(obj, "description", "")
            modes = list(getattr(obj, "modes", ()))
        except (ImportError, AttributeError, MedsageError) as exc:
            desc, modes = f"(unavailable: {exc})", []
        task_rows.append({"name": name, "description": desc, "modes": modes})
    provider_names, pipeline_names = providers.names(), pipelines.names()
    data = {"tasks": task_rows, "providers": provider_names, "pipelines": pipeline_names}
    if as_json:
        echo_json(data)
        return
    click.echo("Tasks:")
    for row in task_rows:
        click.echo(f"  {row['name']:<18} {row['description']}")
    click.echo("Providers: " + ", ".join(f"{p}/…" for p in provider_names))
    click.echo("Pipelines: " + ", ".join(pipeline_names))
