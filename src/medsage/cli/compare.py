"""``medsage compare RUN_DIR RUN_DIR…``: side-by-side report of runs on the same items."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for compare.html and compare.json (default: ./compare-<first run name>).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison JSON to stdout.")
@click.option("--price", multiple=True, metavar="MODEL=IN,OUT",
              help="USD per 1M prompt,completion tokens for a model spec (repeatable).")
def compare(runs: tuple[Path, ...], out_dir: Path | None, as_json: bool, price: tuple[str, ...]) -> None:
    """Compare RUNS side by side; the first is the baseline.

    Scores with 95% CIs, paired differences and tests, wins/losses by discipline/tier/theme,
    tokens, latency and cost.
    """
    from medsage.report.compare import compare_runs, parse_price

    out = out_dir or Path(f"compare-{runs[0].name}")
    cmp, written = compare_runs(list(runs), out, parse_price(price))
    if as_json:
        click.echo(json.dumps(cmp, ensure_ascii=False, indent=2))
        return
    for task, entry in cmp["tasks"].items():
        for label, cell in entry["runs"].items():
            mean = "—" if cell["mean"] is None else f"{cell['mean']:.3f}"
            ci = "" if not cell["ci95"] else f" [{cell['ci95'][0]:.3f}, {cell['ci95'][1]:.3f}]"
            click.echo(f"{task:<16} {label:<36} n={cell['n']:<5} {mean}{ci}")
        for label, d in entry["paired"].items():
            click.echo(f"{task:<16} {label} − {cmp['baseline']}: {d['diff']:+.3f} "
                       f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] {d['test']} p={d['p']:.4f} (n={d['n']})")
    click.echo(f"report: {written / 'compare.html' if written else '-'}")
