"""Reading run directories and computing the side-by-side comparison (no rendering).

Samples are matched by ``(task, id)``. The first run is the baseline; every other
run is compared with it on the items both answered. Exam items (``correct`` not
null) are 0/1 and use Wilson CIs and McNemar; rubric scores use bootstrap CIs
and a sign-flip permutation test. Rubric examples marked unscorable
(``extras.scorable == false``) are left out of means and pairs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.rubric.agreement import grader_agreement
from medsage.scoring.paired import paired_difference
from medsage.scoring.stats import bootstrap_ci, wilson_ci

GROUP_KEYS = ("discipline", "tier", "theme", "language")


@dataclass
class Run:
    """One run directory: its label, summary, config and records."""

    path: Path
    label: str
    summary: dict[str, Any]
    config: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_run(path: str | Path) -> Run:
    """Read ``samples.jsonl`` (required), ``summary.json`` and ``config.json`` (optional)."""
    p = Path(path)
    samples = p / "samples.jsonl"
    if not samples.is_file():
        raise DataError(f"{p} is not a run directory (no samples.jsonl)")
    run = Run(p, "", _read_json(p / "summary.json"), _read_json(p / "config.json"))
    for n, line in enumerate(samples.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            run.problems.append(f"{samples}:{n}: not JSON")
            continue
        if not isinstance(rec, dict) or "task" not in rec or "id" not in rec:
            run.problems.append(f"{samples}:{n}: needs task and id")
            continue
        run.records.append(rec)
    if not run.records:
        raise DataError(f"{samples} holds no usable records")
    first = run.records[0]
    model = run.summary.get("model") or run.config.get("model") or first.get("model") or p.name
    pipeline = run.summary.get("pipeline") or run.config.get("pipeline") or first.get("pipeline")
    run.label = f"{pipeline}:{model}" if pipeline else str(model)
    return run


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse_price(values: tuple[str, ...] | list[str]) -> dict[str, tuple[float, float]]:
    """``model=in,out`` (USD per 1M prompt / completion tokens) -> dict."""
    out: dict[str, tuple[float, float]] = {}
    for value in values:
        model, sep, rest = value.rpartition("=")
        parts = rest.split(",")
        try:
            if not sep or not model or len(parts) != 2:
                raise ValueError
            out[model] = (float(parts[0]), float(parts[1]))
        except ValueError:
            raise DataError(f"--price {value!r}: expected MODEL=IN,OUT (USD per 1M tokens)") from None
    return out


def _usable(rec: dict[str, Any]) -> bool:
    extras = rec.get("extras") or {}
    return not (isinstance(extras, dict) and extras.get("scorable") is False)


def _value(rec: dict[str, Any]) -> float:
    if rec.get("correct") is not None:
        return 1.0 if rec["correct"] else 0.0
    return float(rec.get("score") or 0.0)


def _binary(recs: list[dict[str, Any]]) -> bool:
    return bool(recs) and all(r.get("correct") is not None for r in recs)


def _stat(values: list[float], binary: bool) -> dict[str, Any]:
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": None}
    mean = float(np.mean(values))
    ci = wilson_ci(sum(values), n) if binary else bootstrap_ci(values)
    return {"n": n, "mean": mean, "ci95": [float(ci[0]), float(ci[1])]}


def _cell(run: Run, recs: list[dict[str, Any]], prices: dict[str, tuple[float, float]]) -> dict[str, Any]:
    binary = _binary(recs)
    usable = [r for r in recs if _usable(r)]
    cell = _stat([_value(r) for r in usable], binary)
    lat = [float(r.get("latency_s") or 0.0) for r in recs]
    prompt = sum(int(r.get("prompt_tokens") or 0) for r in recs)
    completion = sum(int(r.get("completion_tokens") or 0) for r in recs)
    gp = sum(int((r.get("extras") or {}).get("grader_prompt_tokens") or 0) for r in recs)
    gc = sum(int((r.get("extras") or {}).get("grader_completion_tokens") or 0) for r in recs)
    cell.update(
        metric="accuracy" if binary else "mean",
        records=len(recs),
        unscorable=len(recs) - len(usable),
        errors=sum(1 for r in recs if r.get("error")),
        unparsed=sum(1 for r in recs if r.get("unparsed")),
        tokens={"prompt": prompt, "completion": completion, "grader_prompt": gp, "grader_completion": gc},
        latency_s={"mean": float(np.mean(lat)) if lat else 0.0,
                   "p50": float(np.percentile(lat, 50)) if lat else 0.0,
                   "p95": float(np.percentile(lat, 95)) if lat else 0.0},
    )
    model = str(run.summary.get("model") or run.config.get("model") or "")
    grader = str(run.config.get("grader") or "")
    cost = None
    if model in prices:
        pin, pout = prices[model]
        cost = (prompt * pin + completion * pout) / 1e6
    if grader and grader in prices and (gp or gc):
        pin, pout = prices[grader]
        cost = (cost or 0.0) + (gp * pin + gc * pout) / 1e6
    cell["cost_usd"] = cost
    return cell


def _pairs(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    index = {str(r["id"]): r for r in other}
    return [(r, index[str(r["id"])]) for r in base if str(r["id"]) in index and _usable(r) and _usable(index[str(r["id"])])]


def _groups(pairs: list[tuple[dict[str, Any], dict[str, Any]]], binary: bool) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in GROUP_KEYS:
        buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for a, b in pairs:
            value = (a.get("metadata") or {}).get(key)
            if value not in (None, ""):
                buckets[str(value)].append((_value(a), _value(b)))
        if len(buckets) < 1:
            continue
        rows = {}
        for group, vals in sorted(buckets.items()):
            xa, xb = [v[0] for v in vals], [v[1] for v in vals]
            d = paired_difference(xa, xb, binary)
            d["outcome"] = "win" if d["ci95"][0] > 0 else "loss" if d["ci95"][1] < 0 else "tie"
            rows[group] = d
        out[key] = {
            "groups": rows,
            "wins": sum(1 for r in rows.values() if r["outcome"] == "win"),
            "losses": sum(1 for r in rows.values() if r["outcome"] == "loss"),
            "ties": sum(1 for r in rows.values() if r["outcome"] == "tie"),
        }
    return out


def build_comparison(runs: list[Run], prices: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """The comparison as plain data (what ``compare.json`` holds)."""
    if len(runs) < 2:
        raise DataError("compare needs at least two run directories")
    prices = prices or {}
    labels: list[str] = []
    for run in runs:
        label = run.label
        if label in labels:
            label = f"{label} [{run.path.name}]"
        run.label = label
        labels.append(label)
    by_task: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for run in runs:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in run.records:
            grouped[str(rec["task"])].append(rec)
        for task, recs in grouped.items():
            by_task[task][run.label] = recs
    base = runs[0]
    tasks: dict[str, Any] = {}
    for task in sorted(by_task):
        per_run = by_task[task]
        entry: dict[str, Any] = {"runs": {lab: _cell(r, per_run[lab], prices) for r in runs
                                          if (lab := r.label) in per_run}, "paired": {}}
        if base.label in per_run:
            for run in runs[1:]:
                if run.label not in per_run:
                    continue
                pairs = _pairs(per_run[base.label], per_run[run.label])
                if not pairs:
                    continue
                binary = _binary([p[0] for p in pairs] + [p[1] for p in pairs])
                diff = paired_difference([_value(a) for a, _ in pairs], [_value(b) for _, b in pairs], binary)
                diff["by"] = _groups(pairs, binary)
                agreement = grader_agreement(per_run[base.label], per_run[run.label])
                if agreement["items"]:
                    diff["grader_agreement"] = agreement
                entry["paired"][run.label] = diff
        tasks[task] = entry
    return {
        "baseline": base.label,
        "runs": [{"label": r.label, "path": str(r.path), "model": r.summary.get("model") or r.config.get("model"),
                  "pipeline": r.summary.get("pipeline") or r.config.get("pipeline"),
                  "grader": r.config.get("grader"), "problems": r.problems} for r in runs],
        "prices_per_1m": {k: list(v) for k, v in prices.items()},
        "tasks": tasks,
    }
