"""exam-sample — the bundled bilingual sample that runs on a fresh machine.

English items are drawn (seeded) from MIT-licensed MedQA-US, MedMCQA and MMLU;
Chinese items are medsage developers' translations of other MIT-licensed English
items, marked as such. See ``medsage/data/exam_sample/ATTRIBUTION.md``.
Ids are ``en-…``/``zh-…``; ``source_id`` keeps the original item's id.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

META_FIELDS = ("language", "discipline", "discipline_zh", "tier", "question_type", "source", "source_id",
               "licence", "translated_from")


def bundled_dir() -> Path:
    return Path(str(resources.files("medsage") / "data" / "exam_sample"))


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
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


class _SampleTask(ExamTask):
    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        return super().load(data or str(bundled_dir()), **options)


TASK = _SampleTask(
    name="exam-sample",
    description="Bundled bilingual sample (≥100 English, ≥100 Chinese items; permissive licences)",
    citation="MedQA (MIT), MedMCQA (MIT), MMLU (MIT); Chinese items translated by medsage developers",
    language="en",
    parse=parse,
)
