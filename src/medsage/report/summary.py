"""Aggregate per-sample records into the run summary (``summary.json``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsage.scoring.stats import mean_ci, percentile

GROUPS = ("language", "discipline", "tier", "question_type")


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
    lat = [float(r.get("latency_s") or 0.0) for r in recs if not r.get("cached")]
    out.update({
        "unparsed": sum(1 for r in recs if r.get("unparsed")),
        "errors": sum(1 for r in recs if r.get("error")),
        "skipped": len(problems),
        "problems": problems[:200],
        "cached": sum(1 for r in recs if r.get("cached")),
        "tokens": {"prompt": sum(int(r.get("prompt_tokens") or 0) for r in recs),
                   "completion": sum(int(r.get("completion_tokens") or 0) for r in recs)},
        "latency_s": {"mean": round(sum(lat) / len(lat), 4) if lat else 0.0,
                      "p50": round(percentile(lat, 50), 4), "p95": round(percentile(lat, 95), 4)},
    })
    by: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in recs:
            key = (r.get("metadata") or {}).get(group)
            if key not in (None, ""):
                buckets[str(key)].append(r)
        if buckets:
            by[group] = {k: _block(v, binary) for k, v in sorted(buckets.items())}
    out["by"] = by
    out["verdicts"] = verdicts(by, pass_line)
    return out


def verdicts(by: dict[str, dict[str, Any]], pass_line: float) -> dict[str, Any]:
    """Which tiers and disciplines reach the pass line (point estimate and CI lower bound)."""
    result: dict[str, Any] = {"pass_line": pass_line}
    for group in ("tier", "discipline"):
        cells = by.get(group, {})
        if not cells:
            continue
        passed = sorted(k for k, v in cells.items() if v["accuracy"] >= pass_line)
        robust = sorted(k for k, v in cells.items() if v["ci95"][0] >= pass_line)
        result[group] = {"passed": passed, "passed_at_ci_lower_bound": robust, "of": len(cells)}
    if "tier" in result and "discipline" in result:
        result["text"] = (f"passes {len(result['tier']['passed'])} of {result['tier']['of']} tiers and "
                          f"{len(result['discipline']['passed'])} of {result['discipline']['of']} disciplines "
                          f"at a {pass_line:.0%} pass line")
    elif "discipline" in result:
        result["text"] = (f"passes {len(result['discipline']['passed'])} of {result['discipline']['of']} "
                          f"disciplines at a {pass_line:.0%} pass line")
    return result


def summarise(records: dict[str, list[dict[str, Any]]], problems: dict[str, list[str]], cfg: Any,
              wall_s: float, run_dir: Path, task_objs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole run's summary object (see the run-artefact contract in the README)."""
    objs = task_objs or {}
    tasks = {name: task_summary(name, recs, problems.get(name, []), cfg.pass_line, objs.get(name))
             for name, recs in records.items()}
    n = sum(len(v) for v in records.values())
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
