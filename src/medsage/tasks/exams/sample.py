"""exam-sample — the bundled bilingual sample that runs on a fresh machine.

English items are drawn (seeded) from MIT-licensed MedQA-US, MedMCQA and MMLU;
Chinese items are medsage developers' translations of other MIT-licensed English
items, marked as such. See ``medsage/data/exam_sample/ATTRIBUTION.md``.
Ids are ``en-…``/``zh-…``; ``source_id`` keeps the original item's id.

``medsage bench exam-sample`` is the main job of a fresh install, so ``bench`` runs a
quick sample by default (``bench_defaults``; loading the task elsewhere gives every item): :data:`QUICK_PER_LANGUAGE` items per language, evenly spaced through each
file (so every source and tier is represented), answered in at most
:data:`ANSWER_TOKENS` tokens ("The answer is X" / "答案：X" needs fewer than 10). On a
2-core machine with another job running this finishes in minutes (README, "Set-up").
``-T size=full`` runs all 230 items; ``--max-tokens`` overrides the answer budget.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from medsage.errors import SpecError
from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

META_FIELDS = ("language", "discipline", "discipline_zh", "tier", "question_type", "source", "source_id",
               "licence", "translated_from")


def bundled_dir() -> Path:
    """The folder of the exam sample shipped with the package."""
    return Path(str(resources.files("medsage") / "data" / "exam_sample"))


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """Sample items from one file or a folder's ``*.jsonl`` (option ``language`` keeps one)."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    lang = options.get("language")
    result = LoadResult()
    for file in files:
        for where, rec in read_rows(file, "jsonl"):
            if not isinstance(rec, dict):
                result.problems.append(f"{where}: not a JSON object")
                continue
            if lang and rec.get("language") != lang:
                continue
            meta = {k: rec.get(k) for k in META_FIELDS}
            make_sample(where, str(rec.get("id")), rec.get("question"), rec.get("options") or {}, rec.get("answer"), meta, result)
    return result


QUICK_PER_LANGUAGE = 50
ANSWER_TOKENS = {"generate": 48}


def quick_subset(result: LoadResult, per_language: int = QUICK_PER_LANGUAGE) -> LoadResult:
    """``per_language`` items of each language, evenly spaced through the file order."""
    by_lang: dict[str, list[Any]] = {}
    for s in result.samples:
        by_lang.setdefault(str(s.metadata.get("language") or s.id.split("-")[0]), []).append(s)
    keep: set[str] = set()
    for items in by_lang.values():
        step = len(items) / min(per_language, len(items))
        keep.update(items[int(i * step)].id for i in range(min(per_language, len(items))))
    chosen = [s for s in result.samples if s.id in keep]
    counts = ", ".join(f"{sum(1 for s in v if s.id in keep)} {k}" for k, v in sorted(by_lang.items()))
    note = (f"quick sample: {len(chosen)} of {len(result.samples)} items ({counts}), evenly spaced; "
            "-T size=full for all")
    return LoadResult(samples=chosen, problems=result.problems, note=note)


class _SampleTask(ExamTask):
    answer_tokens: ClassVar[dict[str, int]] = ANSWER_TOKENS
    # what `medsage bench` uses unless -T says otherwise; library callers (decontamination,
    # contamination checks, question banks, benchmark scripts) get every item by default
    bench_defaults: ClassVar[dict[str, Any]] = {"size": "quick"}

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """The bundled items (or ``data``); option ``size``: ``full`` (default) or ``quick``."""
        size = str(options.pop("size", "full"))
        if size not in ("quick", "full"):
            raise SpecError(f"exam-sample: size must be quick or full, not '{size}'")
        result = super().load(data or str(bundled_dir()), **options)
        return quick_subset(result) if size == "quick" else result


TASK = _SampleTask(
    name="exam-sample",
    description="Bundled bilingual sample (≥100 English, ≥100 Chinese items; permissive licences)",
    citation="MedQA (MIT), MedMCQA (MIT), MMLU (MIT); Chinese items translated by medsage developers",
    language="en",
    parse=parse,
)
