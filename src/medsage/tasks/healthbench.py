"""HealthBench: open answers graded against physician-written rubrics.

Data: the official JSONL (``prompt`` messages, ``rubrics`` of
``{criterion, points, tags}``, ``example_tags``, ``prompt_id``). Subsets
``hard`` and ``consensus`` are selected by id lists given as files
(``ids=PATH``: one ``prompt_id`` per line, a JSON list, or JSONL rows with
``prompt_id``). Scoring follows openai/simple-evals exactly, see
:mod:`medsage.rubric.scoring`.

Re-scoring without model calls: :func:`rescore_healthbench`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from medsage.errors import DataError, SpecError
from medsage.lang import detect_language
from medsage.models.base import Model
from medsage.rubric.grading import DEFAULT_ATTEMPTS, GraderPool, grade_response, grade_stats
from medsage.rubric.rescore import rescore_healthbench, summarise_records
from medsage.rubric.rows import parse_messages, read_jsonl
from medsage.rubric.schema import RubricItem, parse_items
from medsage.rubric.scoring import example_metrics
from medsage.tasks.base import LoadResult, Task
from medsage.types import CaseState, Message, Sample, Score

log = logging.getLogger(__name__)

SUBSETS = ("all", "hard", "consensus")
__all__ = ["TASK", "HealthBenchTask", "read_ids", "rescore_healthbench"]


def read_ids(path: str | Path) -> set[str]:
    """Read a subset's id list: one id a line, a JSON list, or JSONL with ``prompt_id``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read id list {p}: {exc}") from exc
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return {str(x) for x in json.loads(stripped)}
        except ValueError as exc:
            raise DataError(f"id list {p} is not a JSON list: {exc}") from exc
    ids: set[str] = set()
    for line in stripped.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                ids.add(str(json.loads(line)["prompt_id"]))
            except (ValueError, KeyError) as exc:
                raise DataError(f"id list {p}: bad JSONL row ({exc})") from exc
        else:
            ids.add(line)
    if not ids:
        raise DataError(f"id list {p} is empty")
    return ids


def _theme(tags: list[str]) -> str:
    themes = [t.split(":", 1)[1] for t in tags if t.startswith("theme:")]
    return themes[0] if themes else "none"


class HealthBenchTask(Task):
    """Rubric-graded open answers (needs ``--grader``)."""

    name = "healthbench"
    description = "HealthBench: open answers graded against physician rubrics by a grader model"
    metric = "mean"
    citation = "Arora et al. 2025, HealthBench (openai/simple-evals, MIT)"
    default_data: str | None = "rubric/healthbench_sample.jsonl"
    needs_grader = True
    modes = ("generate",)
    unparsed_rule = "exclude"
    max_attempts = DEFAULT_ATTEMPTS

    def __init__(self) -> None:
        self.pool = GraderPool()

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """Read the official JSONL.

        Args:
            data: Path to a HealthBench JSONL file.
            **options: ``subset`` and ``ids``, below.
            subset: ``all`` (default), ``hard`` or ``consensus``; the latter two need ``ids``.
            ids: Path to the subset's id list (or an iterable of ids).
        """
        if not data:
            raise DataError("healthbench needs --data PATH to a HealthBench JSONL file")
        subset = str(options.get("subset", "all") or "all")
        if subset not in SUBSETS:
            raise SpecError(f"unknown healthbench subset {subset!r} (use {', '.join(SUBSETS)})")
        raw_ids = options.get("ids")
        wanted: set[str] | None = None
        if raw_ids:
            wanted = read_ids(raw_ids) if isinstance(raw_ids, str | Path) else {str(x) for x in raw_ids}
        elif subset != "all":
            raise DataError(f"healthbench subset {subset!r} needs ids=PATH (the subset's prompt_id list)")
        result = LoadResult()
        name = Path(data).name
        seen: dict[str, list[str]] = {}
        for n, row in read_jsonl(data, result.problems):
            sample, problem = self._row(row, n)
            if sample is None:
                result.problems.append(f"{name}:{n}: {problem}")
                continue
            # The same prompt_id may come with different rubrics (e.g. a file that merges the
            # full and consensus sets): keep each version as "<id>#k"; skip exact repeats.
            versions = seen.setdefault(sample.id, [])
            digest = json.dumps(row, sort_keys=True, ensure_ascii=False)
            if digest in versions:
                result.problems.append(f"{name}:{n}: exact duplicate of prompt_id {sample.id}")
                continue
            versions.append(digest)
            if len(versions) > 1:
                sample = replace(sample, id=f"{sample.id}#{len(versions)}")
            if wanted is None or sample.metadata["prompt_id"] in wanted:
                result.samples.append(sample)
        if wanted is not None:
            missing = wanted - set(seen)
            if missing:
                result.problems.append(f"{name}: {len(missing)} ids of subset {subset!r} not found in the data")
        if not result.samples:
            raise DataError(f"{data}: no usable HealthBench rows ({len(result.problems)} problems)")
        return result

    def _row(self, row: dict[str, Any], n: int) -> tuple[Sample | None, str | None]:
        prompt, problem = parse_messages(row.get("prompt"))
        if problem:
            return None, problem
        check = parse_items(row.get("rubrics"))
        if not check.ok:
            return None, "; ".join(check.problems)
        tags = row.get("example_tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return None, "example_tags must be a list of strings"
        if len(set(tags)) != len(tags):
            tags = list(dict.fromkeys(tags))
        sid = str(row.get("prompt_id") or f"row{n - 1}")
        question = prompt[-1].content
        meta = {
            "prompt_id": sid,
            "language": detect_language(question),
            "theme": _theme(tags),
            "example_tags": tags,
            "prompt": [m.to_dict() for m in prompt],
            "rubrics": [it.to_dict() for it in check.items],
        }
        return Sample(id=sid, question=question, metadata=meta), None

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """The conversation as given in the data (the model writes the next turn)."""
        prompt = sample.metadata.get("prompt")
        if not prompt:
            return [Message("user", sample.question)]
        return [Message(m["role"], m["content"]) for m in prompt]

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Grade every rubric item with ``grader`` and compute the reference score."""
        if grader is None:
            raise SpecError(f"{self.name} needs a grader model: add --grader PROVIDER/MODEL")
        sample = state.sample
        items = [RubricItem(d["criterion"], float(d["points"]), tuple(d.get("tags", ())),
                            d.get("track", ""), d.get("source", "")) for d in sample.metadata.get("rubrics", [])]
        output = state.output
        if output is None or output.error:
            reason = output.error if output is not None else "no output"
            return Score(0.0, None, explanation=f"not graded: model error ({reason})",
                         metadata={"scorable": False})
        grades = await grade_response(self.pool.cached(grader), list(state.messages), output.text, items,
                                      self.pool.semaphore(), self.max_attempts)
        met = [g.criteria_met for g in grades]
        metrics = self._metrics(sample, items, met)
        stats = grade_stats(grades)
        meta: dict[str, Any] = {"rubric_grades": [g.to_dict() for g in grades], "metrics": metrics,
                                "unparsed_rule": self.unparsed_rule, **stats}
        n_met = sum(1 for m in met if m)
        if "overall_score" not in metrics:
            meta["scorable"] = False
            return Score(0.0, None, explanation="unscorable: no positive rubric item has a usable verdict",
                         metadata=meta)
        meta["scorable"] = True
        bad = stats["unparsed_verdicts"] + stats["contradictory_verdicts"]
        note = f"; {bad} verdict(s) unusable ({self.unparsed_rule})" if bad else ""
        return Score(metrics["overall_score"], f"{n_met}/{len(items)} criteria met",
                     explanation=f"rubric score {metrics['overall_score']:.3f}{note}", metadata=meta)

    def _metrics(self, sample: Sample, items: list[RubricItem], met: list[bool | None]) -> dict[str, float]:
        return example_metrics(items, met, sample.metadata.get("example_tags", []), self.unparsed_rule)

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Reference aggregation of run records for the runner's summary.

        Clipped mean, bootstrap std and tag scores of ``samples.jsonl`` rows.
        """
        return summarise_records(records, self.unparsed_rule)


TASK = HealthBenchTask()
