"""``medsage bench``: run tasks against a model or pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from medsage.cli.common import (
    data_map,
    echo_json,
    model_option,
    model_opts_option,
    options,
    run,
    summary_lines,
)


@click.command()
@click.argument("tasks", nargs=-1, required=True)
@model_option
@model_opts_option
@click.option("--pipeline", "-p", default=None, help="Wrap the model in a medsage pipeline (rag, consult, route, safety …).")
@click.option("-P", "pipeline_opts", multiple=True, metavar="KEY=VALUE", help="Pipeline option (repeatable).")
@click.option("--kb", default=None, type=click.Path(), help="Knowledge base folder (shortcut for -P kb=DIR).")
@click.option("--grader", default=None, help="Grader model spec for rubric-graded tasks.")
@click.option("-G", "grader_opts", multiple=True, metavar="KEY=VALUE", help="Grader model option (repeatable).")
@click.option("--data", "-d", multiple=True, metavar="[TASK=]PATH", help="Data file or folder (per task with TASK=PATH).")
@click.option("-T", "task_opts", multiple=True, metavar="KEY=VALUE", help="Task option, e.g. -T split=all (repeatable).")
@click.option("--download", is_flag=True, help="Allow fetching task data from the Hugging Face hub.")
@click.option("--mode", type=click.Choice(["generate", "cot", "likelihood"]), default="generate", show_default=True)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, help="Only the first N samples per task.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shuffle", is_flag=True, help="Shuffle samples (seeded) before --limit.")
@click.option("--shuffle-options", is_flag=True, help="Permute answer options (seeded) to test position bias.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=None)
@click.option("--pass-line", type=click.FloatRange(0, 1), default=0.6, show_default=True)
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Run folder (default runs/<time>_<tasks>_<model>); an existing one is resumed.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--cache-path", type=click.Path(path_type=Path), default=None, envvar="MEDSAGE_CACHE_PATH")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def bench(tasks: tuple[str, ...], model: str, model_opts: tuple[str, ...], pipeline: str | None,
          pipeline_opts: tuple[str, ...], kb: str | None, grader: str | None, grader_opts: tuple[str, ...],
          data: tuple[str, ...], task_opts: tuple[str, ...], download: bool, mode: str, limit: int | None,
          seed: int, shuffle: bool, shuffle_options: bool, concurrency: int, max_tokens: int | None,
          pass_line: float, out: Path | None, no_cache: bool, cache_path: Path | None, as_json: bool) -> None:
    """Run benchmark TASKS (see `medsage list`) against --model, e.g.

    medsage bench exam-sample
    medsage bench medqa_us --data medqa_test.jsonl --model openai/gpt-4o --mode cot
    """
    from medsage.report.summary import flat
    from medsage.runner import EvalConfig, default_run_dir, run_eval

    popts = options(pipeline_opts, repeatable=True)
    if kb:
        if not pipeline:
            pipeline = "rag"
        popts.setdefault("kb", kb)
    topts = options(task_opts)
    if download:
        topts["download"] = True
    cfg = EvalConfig(
        tasks=list(tasks), model=model, model_options=options(model_opts), pipeline=pipeline,
        pipeline_options=popts, grader=grader, grader_options=options(grader_opts), data=data_map(data),
        task_options=topts, limit=limit, mode=mode, concurrency=concurrency, out_dir=out, seed=seed,
        shuffle=shuffle, shuffle_options=shuffle_options, max_tokens=max_tokens, cache=not no_cache,
        cache_path=cache_path, pass_line=pass_line, task_defaults=True,
    )
    cfg.out_dir = out or default_run_dir(cfg)  # known before the run, for the resume hint
    try:
        result = run(run_eval(cfg))
    except KeyboardInterrupt:
        interrupted(cfg.out_dir)
    summary = dict(result.summary, run_dir=str(result.run_dir))
    if as_json:
        echo_json(flat(summary))
        return
    for line in summary_lines(summary):
        click.echo(line)
    click.echo(f"report: {result.run_dir / 'report.html'}")


def interrupted(run_dir: Path) -> NoReturn:
    """After Ctrl-C: say what was kept and how to resume, then exit 130 at once.

    Every finished sample is already in ``samples.jsonl`` (written as it finishes). The
    process exits without joining a model call still running on a daemon thread, so Ctrl-C
    stops within a second instead of after the answer in flight.
    """
    import os
    import sys

    from medsage.resume import resume_command

    kept = 0
    samples = run_dir / "samples.jsonl"
    if samples.is_file():
        kept = sum(1 for line in samples.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())
    click.echo(f"\ninterrupted: {kept} finished samples are kept in {run_dir}", err=True)
    click.echo(f"resume with: {resume_command(sys.argv[1:], run_dir)}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)
