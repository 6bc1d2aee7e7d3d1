"""Re-scoring stored responses with stored grader verdicts (no model call).

Accepted **responses** files (JSONL, one row per example):

* ``{"prompt_id" | "id": str, "response": str, "example_tags": [str]?}``;
  ``completion: [{"role": "assistant", "content": str}]`` may replace ``response``;
* a medsage run's ``samples.jsonl`` (``id``, ``response``, ``metadata.example_tags``).

Accepted **grades** files:

* JSONL, one row per example: ``{"prompt_id" | "id", "rubric_grades" | "rubric_items":
  [{"criterion", "points", "tags", "criteria_met": true | false | null}], "example_tags"?,
  "completion_id"? | "response"?}``;
* JSONL, one row per rubric item: ``{"prompt_id" | "id", "criterion", "points", "tags",
  "criteria_met"}`` (grouped by id, in file order);
* a medsage run's ``samples.jsonl`` (grades in ``extras.rubric_grades``) — the same
  file may be given as both arguments;
* the official simple-evals ``*_allresults.json`` (``metadata.example_level_metadata``).

A grades row that carries ``completion_id`` (sha256 of prompt_id + response, as
the reference writes) or ``response`` must match the stored response, else the
example is reported and left out. ``criteria_met`` other than a boolean counts
as an unusable verdict (see :mod:`medsage.rubric.scoring` for the rule).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.rubric.rows import read_jsonl
from medsage.rubric.schema import parse_items
from medsage.rubric.scoring import aggregate, example_metrics, per_example_clipped_mean


def _id(row: dict[str, Any]) -> str | None:
    value = row.get("prompt_id", row.get("id"))
    return None if value is None else str(value)


def _response(row: dict[str, Any]) -> str | None:
    if isinstance(row.get("response"), str):
        return str(row["response"])
    completion = row.get("completion")
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content")
        return content if isinstance(content, str) else None
    return None


def _tags(row: dict[str, Any]) -> list[str] | None:
    tags = row.get("example_tags")
    if tags is None and isinstance(row.get("metadata"), dict):
        tags = row["metadata"].get("example_tags")
    return [str(t) for t in tags] if isinstance(tags, list) else None


def _grades_of(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("rubric_grades", "rubric_items"):
        if isinstance(row.get(key), list):
            return list(row[key])
    extras = row.get("extras")
    if isinstance(extras, dict) and isinstance(extras.get("rubric_grades"), list):
        return list(extras["rubric_grades"])
    return None


def load_grades(path: str | Path, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Read a grades file into ``id -> {"grades": [...], "row": first row}``."""
    p = Path(path)
    out: dict[str, dict[str, Any]] = {}
    if p.suffix == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read grades {p}: {exc}") from exc
        rows = doc.get("metadata", {}).get("example_level_metadata") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise DataError(f"{p}: expected simple-evals allresults JSON or a list of grade rows")
        numbered: Iterable[tuple[int, Any]] = enumerate(rows, 1)
    else:
        numbered = read_jsonl(p, problems)
    for n, row in numbered:
        if not isinstance(row, dict):
            problems.append(f"{p.name}:{n}: not an object")
            continue
        rid = _id(row)
        if rid is None:
            problems.append(f"{p.name}:{n}: no prompt_id/id")
            continue
        grades = _grades_of(row)
        if grades is None and "criterion" in row:
            grades = [row]
            entry = out.setdefault(rid, {"grades": [], "row": row})
            entry["grades"].extend(grades)
            continue
        if grades is None:
            problems.append(f"{p.name}:{n}: {rid}: no rubric grades")
            continue
        if rid in out:
            problems.append(f"{p.name}:{n}: duplicate grades for {rid}; first kept")
            continue
        out[rid] = {"grades": grades, "row": row}
    return out


def score_grades(grades: list[dict[str, Any]], tags: list[str], rule: str) -> tuple[dict[str, float] | None, str | None, dict[str, int]]:
    """Metrics of one example from stored grade dicts: (metrics or None, problem, counts)."""
    check = parse_items(grades)
    counts = {"unparsed": 0, "contradictory": 0}
    if not check.ok:
        return None, "; ".join(check.problems), counts
    met: list[bool | None] = []
    for g in grades:
        value = g.get("criteria_met")
        if isinstance(value, bool):
            met.append(value)
        else:
            met.append(None)
            key = "contradictory" if g.get("status") == "contradictory" else "unparsed"
            counts[key] += 1
    metrics = example_metrics(check.items, met, tags, rule)
    return (metrics or None), (None if metrics else "unscorable: no positive item with a usable verdict"), counts


def summarise(per_example: list[dict[str, float]], extra: dict[str, Any]) -> dict[str, Any]:
    """The result dict shared by :func:`summarise_records` and :func:`rescore_healthbench`."""
    metrics = aggregate(per_example)
    overall = metrics.get("overall_score", {})
    raw = [m["overall_score"] for m in per_example]
    return {
        "n": len(per_example),
        "score": overall.get("mean"),
        "bootstrap_std": overall.get("bootstrap_std"),
        "ci95": overall.get("ci95"),
        "per_example_clipped_mean": per_example_clipped_mean(raw) if raw else None,
        "metrics": metrics,
        **extra,
    }


def summarise_records(records: list[dict[str, Any]], rule: str = "exclude") -> dict[str, Any]:
    """Reference aggregation of run records (``samples.jsonl`` rows with ``extras.rubric_grades``)."""
    per_example: list[dict[str, float]] = []
    problems: list[str] = []
    counts = {"unparsed_verdicts": 0, "contradictory_verdicts": 0, "unscorable": 0, "ungraded": 0}
    for rec in records:
        grades = _grades_of(rec)
        if grades is None:
            counts["ungraded"] += 1
            continue
        metrics, problem, c = score_grades(grades, _tags(rec) or [], rule)
        counts["unparsed_verdicts"] += c["unparsed"]
        counts["contradictory_verdicts"] += c["contradictory"]
        if metrics is None:
            counts["unscorable"] += 1
            problems.append(f"{rec.get('id')}: {problem}")
            continue
        per_example.append(metrics)
    return summarise(per_example, {**counts, "unparsed_rule": rule, "problems": problems})


def rescore_healthbench(responses_path: str | Path, grades_path: str | Path, rule: str = "exclude") -> dict[str, Any]:
    """Score stored responses with stored verdicts, exactly as the reference, no model call.

    Returns:
        ``{"n", "score" (clipped mean), "bootstrap_std", "ci95", "per_example_clipped_mean",
        "metrics": {name: {"mean", "n_samples", "bootstrap_std", "ci95"}}, "unparsed_verdicts",
        "contradictory_verdicts", "unscorable", "missing_grades", "mismatched", "problems",
        "per_example": [{"id", "score"}]}``.

    Raises:
        DataError: unreadable files, or no example could be scored.
    """
    problems: list[str] = []
    responses: dict[str, dict[str, Any]] = {}
    rname = Path(responses_path).name
    for n, row in read_jsonl(responses_path, problems):
        rid = _id(row)
        if rid is None or _response(row) is None:
            problems.append(f"{rname}:{n}: needs prompt_id/id and response")
            continue
        responses.setdefault(rid, row)
    grades = load_grades(grades_path, problems)
    per_example: list[dict[str, float]] = []
    listing: list[dict[str, Any]] = []
    counts = {"unparsed_verdicts": 0, "contradictory_verdicts": 0, "unscorable": 0, "missing_grades": 0, "mismatched": 0}
    for rid, row in responses.items():
        entry = grades.get(rid)
        if entry is None:
            counts["missing_grades"] += 1
            problems.append(f"{rid}: no grades")
            continue
        text = _response(row) or ""
        grow = entry["row"]
        cid = grow.get("completion_id")
        if (isinstance(cid, str) and cid != hashlib.sha256((rid + text).encode("utf-8")).hexdigest()) or (
            _response(grow) is not None and _response(grow) != text
        ):
            counts["mismatched"] += 1
            problems.append(f"{rid}: grades were made for a different response")
            continue
        tags = _tags(row) or _tags(grow) or []
        metrics, problem, c = score_grades(entry["grades"], tags, rule)
        counts["unparsed_verdicts"] += c["unparsed"]
        counts["contradictory_verdicts"] += c["contradictory"]
        if metrics is None:
            counts["unscorable"] += 1
            problems.append(f"{rid}: {problem}")
            continue
        per_example.append(metrics)
        listing.append({"id": rid, "score": metrics["overall_score"]})
    orphans = set(grades) - set(responses)
    if orphans:
        problems.append(f"{len(orphans)} graded ids have no response")
    if not per_example:
        raise DataError(f"no example could be scored ({len(problems)} problems; first: {problems[:1]})")
    return summarise(per_example, {**counts, "unparsed_rule": rule, "problems": problems, "per_example": listing})
