"""Aggregate per-sample records into the run summary (``summary.json``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsage.scoring.stats import mean_ci, percentile

GROUPS = ("language", "discipline", "tier", "question_type")
#: Groups smaller than this get no pass/fail verdict ("too few to judge").
MIN_VERDICT_N = 20


def _latency(values: list[float]) -> dict[str, float]:
    """Mean, p50 and p95 in seconds, rounded to milliseconds."""
    return {"mean": round(sum(values) / len(values), 3) if values else 0.0,
            "p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3)}


def chance(recs: list[dict[str, Any]]) -> float | None:
    """Expected accuracy of guessing uniformly among each item's options (None: not an exam)."""
    ks = [int(r["n_choices"]) for r in recs if isinstance(r.get("n_choices"), int) and r["n_choices"] > 0]
    return round(sum(1 / k for k in ks) / len(ks), 4) if ks and len(ks) == len(recs) else None


def _block(recs: list[dict[str, Any]], binary: bool) -> dict[str, Any]:
    values = [float(r.get("score") or 0.0) for r in recs]
    mean, ci = mean_ci(values, binary)
    return {"n": len(recs), "accuracy": round(mean, 4), "ci95": [round(ci[0], 4), round(ci[1], 4)]}


def task_summary(name: str, recs: list[dict[str, Any]], problems: list[str], pass_line: float,
                 task: Any = None) -> dict[str, Any]:
    """Summary of one task's records: overall, by group, tokens, latency, verdicts.

    A task with an ``aggregate(records)`` method (rubric tasks) supplies its own
    overall score (e.g. HealthBench's clipped mean); records it marks
    ``extras.scorable == False`` are left out of the breakdowns.
    """
    binary = all(r.get("correct") is not None for r in recs) and bool(recs)
    all_recs = recs
    recs = [r for r in recs if (r.get("extras") or {}).get("scorable") is not False]
    out = {"task": name, "metric": "accuracy" if binary else "mean", **_block(recs, binary)}
    aggregate = getattr(task, "aggregate", None)
    if aggregate is not None and all_recs:
        agg = aggregate(all_recs)
        out["aggregate"] = agg
        if isinstance(agg.get("score"), int | float):
            out["accuracy"] = round(float(agg["score"]), 4)
            if agg.get("ci95"):
                out["ci95"] = [round(float(x), 4) for x in agg["ci95"]]
        out["unscorable"] = len(all_recs) - len(recs)
    recs = all_recs if aggregate is None else recs
    fresh = [r for r in recs if not r.get("cached")]
    lat = [float(r.get("latency_s") or 0.0) for r in fresh]
    queue = [float(r.get("queue_s") or 0.0) for r in fresh]
    n_prompt = sum(int(r.get("prompt_tokens") or 0) for r in recs)
    n_completion = sum(int(r.get("completion_tokens") or 0) for r in recs)
    out.update({
        "unparsed": sum(1 for r in recs if r.get("unparsed")),
        "errors": sum(1 for r in recs if r.get("error")),
        "skipped": len(problems),
        "problems": problems[:200],
        "cached": sum(1 for r in recs if r.get("cached")),
        "tokens": {"prompt": n_prompt, "completion": n_completion,
                   "prompt_per_sample": round(n_prompt / len(recs), 1) if recs else 0.0,
                   "completion_per_sample": round(n_completion / len(recs), 1) if recs else 0.0},
        # model time: in the model (its slot); queue: waiting for a slot and the pipeline around it
        "latency_s": _latency(lat),
        "queue_s": _latency(queue),
        "chance": chance(recs) if binary else None,
    })
    excluded = [int((r.get("extras") or {})["bank_excluded"]) for r in recs
                if "bank_excluded" in (r.get("extras") or {})]
    if excluded:  # a question bank was used: say how much of it was kept away from the items
        out["bank_excluded"] = {"bank_items": sum(excluded), "samples_affected": sum(1 for e in excluded if e)}
    by: dict[str, dict[str, Any]] = {}
    coverage: dict[str, dict[str, int]] = {}
    for group in GROUPS:
        buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            key = (r.get("metadata") or {}).get(group)
            if key not in (None, ""):
                buckets[str(key)].append(r)
        if buckets:
            by[group] = {k: _block(v, binary) for k, v in sorted(buckets.items())}
            coverage[group] = {"known": sum(len(v) for v in buckets.values()), "of": len(recs)}
    out["by"] = by
    out["coverage"] = coverage
    out["verdicts"] = verdicts(by, pass_line)
    return out


def verdicts(by: dict[str, dict[str, Any]], pass_line: float, min_n: int = MIN_VERDICT_N) -> dict[str, Any]:
    """Which tiers and disciplines reach the pass line (point estimate and CI lower bound).

    Only groups with at least ``min_n`` items are judged; the others are listed as too few
    to judge.
    """
    result: dict[str, Any] = {"pass_line": pass_line, "min_n": min_n}
    texts: list[str] = []
    few: list[str] = []
    for group, plural in (("tier", "tiers"), ("discipline", "disciplines")):
        cells = by.get(group, {})
        if not cells:
            continue
        judged = {k: v for k, v in cells.items() if v["n"] >= min_n}
        passed = sorted(k for k, v in judged.items() if v["accuracy"] >= pass_line)
        robust = sorted(k for k, v in judged.items() if v["ci95"][0] >= pass_line)
        too_few = sorted(k for k in cells if k not in judged)
        result[group] = {"passed": passed, "passed_at_ci_lower_bound": robust, "of": len(judged),
                         "too_few_to_judge": too_few}
        if judged:
            texts.append(f"{len(passed)} of {len(judged)} {plural}")
        if too_few:
            few.append(f"{len(too_few)} {plural if len(too_few) > 1 else group}")
    if texts or few:
        text = (f"passes {' and '.join(texts)} with n ≥ {min_n} at a {pass_line:.0%} pass line" if texts
                else f"no group has n ≥ {min_n} to judge at a {pass_line:.0%} pass line")
        if few:
            text += f"; {' and '.join(few)} too few to judge (n < {min_n})"
        result["text"] = text
    return result


def summarise(records: dict[str, list[dict[str, Any]]], problems: dict[str, list[str]], cfg: Any,
              wall_s: float, run_dir: Path, task_objs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole run's summary object (see the run-artefact contract in the README)."""
    objs = task_objs or {}
    tasks = {name: task_summary(name, recs, problems.get(name, []), cfg.pass_line, objs.get(name))
             for name, recs in records.items()}
    n = sum(len(v) for v in records.values())
    from medsage.resume import parts_summary

    parts = parts_summary(run_dir, [r for v in records.values() for r in v], wall_s)
    if len(parts) > 1:  # resumed: time and rate over every part
        wall_s = sum(float(p["wall_s"]) for p in parts)
    return {
        "run_id": run_dir.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": cfg.model,
        "pipeline": cfg.pipeline,
        "mode": cfg.mode,
        "grader": cfg.grader,
        "n": n,
        "wall_s": round(wall_s, 3),
        "samples_per_s": round(n / wall_s, 3) if wall_s > 0 else None,
        "parts": parts,
        "tasks": tasks,
        "disclaimer": "Benchmark results; medsage outputs are decision support for clinicians, not diagnoses.",
    }


def flat(summary: dict[str, Any]) -> dict[str, Any]:
    """The ``--json`` object: the single task's summary, or all tasks under ``tasks``."""
    tasks = summary.get("tasks", {})
    if len(tasks) == 1:
        (only,) = tasks.values()
        return {**only, "run_dir": summary.get("run_dir"), "model": summary.get("model"),
                "pipeline": summary.get("pipeline"), "mode": summary.get("mode")}
    return summary
