"""``medsage view``: show a finished run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from medsage.cli.common import echo_json, summary_lines
from medsage.errors import DataError


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print summary.json.")
@click.option("--html", "rebuild_html", is_flag=True, help="Rebuild report.html from samples.jsonl.")
def view(run_dir: Path, as_json: bool, rebuild_html: bool) -> None:
    """Show the summary of the run in RUN_DIR."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise DataError(f"{run_dir}: no summary.json (not a finished medsage run)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{path}: invalid JSON ({exc})") from exc
    if rebuild_html:
        from medsage.report.html import write_html

        records: dict[str, list[dict]] = {}
        for line in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            records.setdefault(rec["task"], []).append(rec)
        write_html(summary, records, run_dir / "report.html")
    if as_json:
        echo_json(summary)
        return
    click.echo(f"run {summary.get('run_id')}: model {summary.get('model')}"
               + (f", pipeline {summary['pipeline']}" if summary.get("pipeline") else "")
               + f", mode {summary.get('mode')}, {summary.get('n')} samples, {summary.get('wall_s')} s")
    for line in summary_lines(summary):
        click.echo(line)
    click.echo(f"report: {run_dir / 'report.html'}")
