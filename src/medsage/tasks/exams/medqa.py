"""MedQA — USMLE (US), MCMLE (Mainland China) and Taiwan licensing-exam questions.

Source: Jin et al., "What Disease does this Patient Have? A Large-scale Open Domain
Question Answering Dataset from Medical Exams", Applied Sciences 2021
(github.com/jind11/MedQA, MIT). Native files are JSON lines with ``question``,
``options`` (letter -> text), ``answer_idx`` and ``meta_info`` (USMLE step, the tier).
Sample ids are zero-based row numbers in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

FIELDS = {"question": "question", "options": "options", "answer": "answer_idx", "tier": "meta_info"}


def parse(path: Path, options: dict[str, Any], language: str, source: str) -> LoadResult:
    """MedQA items of one region's JSON-lines file, labelled ``language`` and ``source``."""
    result = LoadResult()
    for row, (where, rec) in enumerate(read_rows(path, "jsonl")):
        if not isinstance(rec, dict):
            result.problems.append(f"{where}: not a JSON object")
            continue
        choices = rec.get(FIELDS["options"]) or {}
        if not isinstance(choices, dict):
            result.problems.append(f"{where}: options is not an object")
            continue
        meta = {
            "language": language,
            "tier": rec.get(FIELDS["tier"]),
            "question_type": "case" if _is_vignette(str(rec.get("question", ""))) else "knowledge",
            "source": source,
        }
        make_sample(where, str(row), rec.get(FIELDS["question"]), choices, rec.get(FIELDS["answer"]), meta, result)
    return result


def _is_vignette(q: str) -> bool:
    head = q[:120].lower()
    return any(w in head for w in ("year-old", "year old", "presents", "is brought", "岁", "患者", "病人"))


MEDQA_US = ExamTask(
    name="medqa_us",
    description="MedQA-US (USMLE), 4 options, 1,273-item test split; tiers step1 / step2&3",
    citation="Jin et al. 2021, MedQA (MIT)",
    language="en",
    parse=lambda p, o: parse(p, o, "en", "MedQA-US"),
    default_data="exams/medqa_us_4options_test.jsonl",
    hub={"repo": "GBaker/MedQA-USMLE-4-options", "file": "phrases_no_exclude_test.jsonl"},
)

MEDQA_MCMLE = ExamTask(
    name="medqa_mcmle",
    description="MedQA-MCMLE (Mainland China medical licensing exam), 5 options, Chinese",
    citation="Jin et al. 2021, MedQA (MIT)",
    language="zh",
    parse=lambda p, o: parse(p, o, "zh", "MedQA-MCMLE"),
    default_data="exams/medqa_mcmle_test.jsonl",
)
