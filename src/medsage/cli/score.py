"""``medsage score``: score stored responses of any system, with no model call."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from medsage.cli.common import data_map, echo_json, options, summary_lines
from medsage.errors import DataError


def read_responses(path: Path) -> tuple[dict[str, str], list[str]]:
    """``{"id": ..., "response": ...}`` lines -> id -> response, plus problems."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text") from exc
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    out: dict[str, str] = {}
    problems: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            problems.append(f"{path}:{lineno}: not JSON")
            continue
        if not isinstance(rec, dict) or "id" not in rec or "response" not in rec:
            problems.append(f"{path}:{lineno}: needs 'id' and 'response'")
            continue
        out[str(rec["id"])] = str(rec["response"] or "")
    return out, problems


async def score_responses(task_name: str, responses: dict[str, str], data: str | None,
                          task_opts: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Score ``responses`` against ``task_name``'s samples; returns records and problems."""
    from medsage.runner import EvalConfig, _record, get_task
    from medsage.types import CaseState, ModelOutput

    task = get_task(task_name)
    loaded = task.load(data, **task_opts)
    by_id = {s.id: s for s in loaded.samples}
    problems = list(loaded.problems)
    cfg = EvalConfig(tasks=[task_name], model="stored/responses")
    records = []
    for sid, text in responses.items():
        sample = by_id.get(sid)
        if sample is None:
            problems.append(f"response id {sid!r} is not in {task_name}")
            continue
        state = CaseState(sample=sample, messages=tuple(task.messages(sample)),
                          output=ModelOutput(text=text, model="stored", error=None if text.strip() else "empty reply"))
        score = await task.score(state, None)
        records.append(_record(task_name, cfg, "stored", state, score, 0.0,
                               binary=getattr(task, "metric", "accuracy") == "accuracy"))
    return records, problems


@click.command()
@click.argument("task")
@click.option("--responses", "-r", type=click.Path(path_type=Path), required=True,
              help="JSONL with {'id': ..., 'response': ...} per line (a run's samples.jsonl works too).")
@click.option("--grades", "-g", type=click.Path(path_type=Path), default=None, help="Stored grader verdicts (healthbench).")
@click.option("--data", "-d", multiple=True, metavar="PATH")
@click.option("-T", "task_opts", multiple=True, metavar="KEY=VALUE")
@click.option("--pass-line", type=float, default=0.6)
@click.option("--json", "as_json", is_flag=True)
def score(task: str, responses: Path, grades: Path | None, data: tuple[str, ...], task_opts: tuple[str, ...],
          pass_line: float, as_json: bool) -> None:
    """Score stored RESPONSES of any system on TASK without calling a model."""
    from medsage.report.summary import task_summary

    if grades is not None or task == "healthbench":
        from medsage.tasks.healthbench import rescore_healthbench

        if grades is None:
            raise DataError("healthbench needs --grades (stored grader verdicts) to score without a model")
        result = rescore_healthbench(responses, grades)
        echo_json(result) if as_json else click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    resp, problems = read_responses(responses)
    dm = data_map(data)
    records, more = asyncio.run(score_responses(task, resp, dm.get(task) or dm.get(""), options(task_opts)))
    from medsage.runner import get_task

    summary = task_summary(task, records, problems + more, pass_line, get_task(task))
    if as_json:
        echo_json(summary)
        return
    for line in summary_lines({"tasks": {task: summary}}):
        click.echo(line)
    for p in (problems + more)[:20]:
        click.echo(f"skipped: {p}", err=True)
