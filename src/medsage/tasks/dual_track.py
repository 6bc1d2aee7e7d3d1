"""Clinical safety–effectiveness dual-track benchmark (CSEDB-style).

Each scenario is a clinical conversation whose rubric criteria are marked
``track: safety`` or ``track: effectiveness`` and carry ``source`` (the guideline
or drug label they come from); each scenario has ``risk`` high | medium | low.
Grading is the HealthBench procedure (one grader call per criterion, the
reference formula); the tracks are rubric-level tags ``track:safety`` /
``track:effectiveness`` and the risk level, category and language are
example-level tags, so per-track, per-risk and high-risk-subset scores fall out
of the same aggregation. :meth:`DualTrackTask.aggregate` adds a risk-weighted
overall score (high 3, medium 2, low 1), giving high-risk cases extra weight.

Scenario JSONL row::

    {"id": "dt-en-001", "language": "en", "category": "emergency", "risk": "high",
     "prompt": [{"role": "user", "content": "..."}],
     "criteria": [{"criterion": "...", "points": 8, "track": "safety",
                   "source": "AHA 2020 guideline ..."}]}

Shipped set: ``medsage/data/dual_track/scenarios.jsonl`` (written by the medsage
developers, Apache-2.0).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.lang import detect_language
from medsage.rubric.rescore import score_grades
from medsage.rubric.rows import parse_messages, read_jsonl
from medsage.rubric.schema import parse_items
from medsage.rubric.scoring import clipped_mean
from medsage.tasks.base import LoadResult
from medsage.tasks.healthbench import HealthBenchTask
from medsage.types import Sample

RISKS = ("high", "medium", "low")
RISK_WEIGHTS = {"high": 3.0, "medium": 2.0, "low": 1.0}


def shipped_scenarios() -> Path:
    """Path of the scenario set shipped with medsage."""
    return Path(str(resources.files("medsage") / "data" / "dual_track" / "scenarios.jsonl"))


class DualTrackTask(HealthBenchTask):
    """Safety and effectiveness scored separately, high-risk cases weighted (needs ``--grader``)."""

    name = "dual_track"
    description = "Clinical safety–effectiveness dual track: rubric-graded scenarios, per track and risk level"
    metric = "mean"
    citation = "medsage starter set (Apache-2.0), after the CSEDB dual-track design"
    default_data = None

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """Read scenarios (default: the shipped set).

        Options: ``risk`` to keep one level, ``language`` to keep ``en`` or ``zh``.
        """
        path = Path(data) if data else shipped_scenarios()
        risk_filter = options.get("risk")
        lang_filter = options.get("language")
        result = LoadResult()
        seen: set[str] = set()
        for n, row in read_jsonl(path, result.problems):
            sample, problem = self._scenario(row, n)
            if sample is None:
                result.problems.append(f"{path.name}:{n}: {problem}")
                continue
            if sample.id in seen:
                result.problems.append(f"{path.name}:{n}: duplicate id {sample.id}")
                continue
            seen.add(sample.id)
            if risk_filter and sample.metadata["risk"] != risk_filter:
                continue
            if lang_filter and sample.metadata["language"] != lang_filter:
                continue
            result.samples.append(sample)
        if not result.samples:
            raise DataError(f"{path}: no usable dual-track scenarios ({len(result.problems)} problems)")
        return result

    def _scenario(self, row: dict[str, Any], n: int) -> tuple[Sample | None, str | None]:
        prompt, problem = parse_messages(row.get("prompt"))
        if problem:
            return None, problem
        risk = row.get("risk")
        if risk not in RISKS:
            return None, f"risk must be high, medium or low, got {risk!r}"
        check = parse_items(row.get("criteria"), require_track=True)
        if not check.ok:
            return None, "; ".join(check.problems)
        for track in ("safety", "effectiveness"):
            if not any(it.track == track and it.points > 0 for it in check.items):
                return None, f"no positive {track} criterion (the track score would be undefined)"
        question = prompt[-1].content
        language = str(row.get("language") or detect_language(question))
        category = str(row.get("category") or "general")
        sid = str(row.get("id") or f"row{n - 1}")
        rubrics = []
        for it in check.items:
            d = it.to_dict()
            d["tags"] = [*it.tags, f"track:{it.track}"]
            rubrics.append(d)
        tags = [f"risk:{risk}", f"category:{category}", f"language:{language}"]
        meta = {
            "language": language,
            "tier": risk,
            "risk": risk,
            "discipline": category,
            "theme": category,
            "example_tags": tags,
            "prompt": [m.to_dict() for m in prompt],
            "rubrics": rubrics,
        }
        return Sample(id=sid, question=question, metadata=meta), None

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Reference aggregation plus track, high-risk and risk-weighted scores."""
        out = super().aggregate(records)
        metrics = out["metrics"]
        out["tracks"] = {t: metrics.get(f"track:{t}") for t in ("safety", "effectiveness")}
        out["high_risk"] = metrics.get("risk:high")
        out["risk_weighted"] = risk_weighted(records, self.unparsed_rule)
        return out


def risk_weighted(records: list[dict[str, Any]], rule: str = "exclude") -> float | None:
    """Weighted mean of per-scenario overall scores (weights :data:`RISK_WEIGHTS`).

    Recomputed from the stored rubric grades and clipped to [0, 1].
    """
    num = den = 0.0
    for rec in records:
        grades = (rec.get("extras") or {}).get("rubric_grades")
        risk = (rec.get("metadata") or {}).get("risk")
        if not isinstance(grades, list) or risk not in RISK_WEIGHTS:
            continue
        metrics, _, _ = score_grades(grades, [], rule)
        if metrics is None:
            continue
        num += RISK_WEIGHTS[risk] * metrics["overall_score"]
        den += RISK_WEIGHTS[risk]
    return clipped_mean([num / den]) if den else None


TASK = DualTrackTask()
