"""``medsage score``: score stored responses of any system, with no model call.

Responses are ``{"id": ..., "response": ...}`` JSON lines (a run's ``samples.jsonl``
works too) or a PULSE-EVAL prediction file (rows with ``predict_answer``, ids =
row numbers). Items with no response count as unanswered (wrong), reported as
``no_response`` apart from unparsed replies; ``--answered-only`` scores only the
answered items instead. ``--extract`` picks the answer-extraction convention
(``medsage``, ``opencompass-first-option``, ``mirage``) for multiple-choice tasks.
``--out DIR`` writes a run folder that ``medsage compare`` reads.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from medsage.cli.common import data_map, echo_json, options, summary_lines
from medsage.errors import DataError, SpecError


@dataclass(frozen=True)
class Reply:
    """One stored response: its text and, when the file has it, the question's key."""

    text: str
    question_key: str | None = None


def read_responses(path: Path) -> tuple[dict[str, Reply], list[str]]:
    """Stored responses -> ``{id: Reply}``, plus problems with single lines.

    Raises:
        DataError: missing, empty or non-UTF-8 files, and duplicate ids.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text") from exc
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    from medsage.tasks.exams.published import is_prediction_file, read_predictions

    if is_prediction_file(next(ln for ln in text.splitlines() if ln.strip())):
        return {sid: Reply(reply, key) for sid, reply, key in read_predictions(path)}, []
    out: dict[str, Reply] = {}
    problems: list[str] = []
    dupes: list[str] = []
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
        sid = str(rec["id"])
        if sid in out:
            dupes.append(sid)
        out[sid] = Reply(str(rec["response"] or ""))
    if dupes:
        shown = ", ".join(repr(d) for d in dupes[:5])
        raise DataError(f"{path}: {len(dupes)} duplicate response id(s) ({shown}); keep one response per item")
    return out, problems


async def score_responses(task_name: str, responses: dict[str, Reply], data: str | None, task_opts: dict[str, Any],
                          convention: str = "medsage", label: str = "stored/responses",
                          answered_only: bool = False) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    """Score ``responses`` against ``task_name``'s samples.

    Returns:
        ``(records, problems, counts)``; ``counts`` has ``responses``, ``matched``,
        ``no_response`` (items without a response) and ``unmatched`` (responses
        whose id is not an item, or whose question differs from the item's).

    Raises:
        DataError: no response matches an item.
        SpecError: ``convention`` is unknown or not applicable to the task.
    """
    from medsage.runner import EvalConfig, _record, get_task
    from medsage.scoring.conventions import get_convention
    from medsage.types import CaseState, ModelOutput, Score

    extractor = get_convention(convention)
    task = get_task(task_name)
    loaded = task.load(data, **task_opts)
    by_id = {s.id: s for s in loaded.samples}
    if convention != "medsage" and not any(s.choices for s in loaded.samples):
        raise SpecError(f"--extract {convention} applies to multiple-choice tasks; {task_name} has no options")
    problems = list(loaded.problems)
    cfg = EvalConfig(tasks=[task_name], model=label, mode="stored")
    binary = getattr(task, "metric", "accuracy") == "accuracy"
    records, unmatched = [], 0
    for sid, reply in responses.items():
        sample = by_id.get(sid)
        key = sample.metadata.get("question_key") if sample else None
        if sample is None or (reply.question_key and key and reply.question_key != key):
            unmatched += 1
            why = "is not in" if sample is None else "has a different question from item"
            problems.append(f"response id {sid!r} {why} {task_name}")
            continue
        state = CaseState(sample=sample, messages=tuple(task.messages(sample)),
                          output=ModelOutput(text=reply.text, model=label,
                                             error=None if reply.text.strip() else "empty reply"))
        if sample.choices and convention != "medsage" and reply.text.strip():
            got = extractor(reply.text, sample.choices)
            meta = {"extracted_from": "text", "extract": convention, "rule": got.rule}
            if got.reason:
                meta["unparsed_reason"] = got.reason
            score = Score(1.0 if got.letter == sample.target else 0.0, got.letter, sample.target,
                          explanation="" if got.letter else f"unparsed ({got.reason})", metadata=meta)
        else:
            score = await task.score(state, None)
        records.append(_record(task_name, cfg, label, state, score, 0.0, binary=binary))
    if not records:
        hint = f"; response ids look like {sorted(responses)[:3]}" if responses else ""
        raise DataError(f"none of the {len(responses)} responses matches an item of {task_name} "
                        f"(item ids look like {list(by_id)[:3]}{hint})")
    answered = {r["id"] for r in records}
    missing = [s for s in loaded.samples if s.id not in answered]
    if not answered_only:
        for sample in missing:
            state = CaseState(sample=sample, messages=tuple(task.messages(sample)),
                              output=ModelOutput(text="", model=label, error="no response"))
            rec = _record(task_name, cfg, label, state, Score(0.0, None, sample.target, "no response"), 0.0,
                          binary=binary)
            rec.update(error=None, unparsed=False, correct=False if rec["correct"] is not None else None)
            rec["extras"]["no_response"] = True
            records.append(rec)
    counts = {"responses": len(responses), "matched": len(answered), "no_response": len(missing),
              "unmatched": unmatched}
    return records, problems, counts


@click.command()
@click.argument("task")
@click.option("--responses", "-r", type=click.Path(path_type=Path), required=True,
              help="JSONL with {'id': ..., 'response': ...} per line (a run's samples.jsonl works too), "
                   "or a PULSE-EVAL prediction file.")
@click.option("--grades", "-g", type=click.Path(path_type=Path), default=None, help="Stored grader verdicts (healthbench).")
@click.option("--data", "-d", multiple=True, metavar="PATH")
@click.option("-T", "task_opts", multiple=True, metavar="KEY=VALUE")
@click.option("--extract", "convention", default="medsage", show_default=True,
              help="Answer-extraction convention: medsage, opencompass-first-option, mirage.")
@click.option("--answered-only", is_flag=True, help="Score only items that have a response.")
@click.option("--label", default=None, help="Name of the system (default: the responses file's stem).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write samples.jsonl and summary.json here (a folder `medsage compare` reads).")
@click.option("--pass-line", type=float, default=0.6)
@click.option("--json", "as_json", is_flag=True)
def score(task: str, responses: Path, grades: Path | None, data: tuple[str, ...], task_opts: tuple[str, ...],
          convention: str, answered_only: bool, label: str | None, out_dir: Path | None,
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
    name = label or responses.stem
    records, more, counts = asyncio.run(score_responses(
        task, resp, dm.get(task) or dm.get(""), options(task_opts), convention, name, answered_only))
    from medsage.runner import get_task

    summary = task_summary(task, records, problems + more, pass_line, get_task(task))
    reasons = Counter((r.get("extras") or {}).get("unparsed_reason") for r in records if r.get("unparsed"))
    summary.update(no_response=counts["no_response"], unmatched_responses=counts["unmatched"],
                   unparsed_reasons={str(k): v for k, v in reasons.items()}, extract=convention, label=name)
    if out_dir is not None:
        _write_run(out_dir, task, name, convention, responses, records, summary)
    if as_json:
        echo_json(summary)
    else:
        for line in summary_lines({"tasks": {task: summary}}):
            click.echo(line)
        if counts["no_response"]:
            click.echo(f"  no response for {counts['no_response']} items (counted as unanswered)")
    if counts["no_response"]:
        how = "left out (--answered-only)" if answered_only else "counted as unanswered (wrong)"
        click.echo(f"warning: {counts['no_response']} of {counts['no_response'] + counts['matched']} items of "
                   f"{task} have no response; {how}", err=True)
    for p in (problems + more)[:20]:
        click.echo(f"skipped: {p}", err=True)


def _write_run(out_dir: Path, task: str, label: str, convention: str, responses: Path,
               records: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """A run folder (samples.jsonl, summary.json, config.json) for ``medsage compare``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "samples.jsonl").open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    config = {"tasks": [task], "model": label, "pipeline": None, "mode": "stored", "extract": convention,
              "responses": str(responses)}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    full = {"run_id": out_dir.name, "created": datetime.now(UTC).isoformat(timespec="seconds"), **config,
            "n": len(records), "tasks": {task: summary}}
    (out_dir / "summary.json").write_text(json.dumps(full, indent=2, ensure_ascii=False), encoding="utf-8")
