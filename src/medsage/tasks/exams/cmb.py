r"""CMB-Exam — the Chinese Medical Benchmark's exam part, by discipline and tier.

Source: Wang et al., "CMB: A Comprehensive Medical Benchmark in Chinese", NAACL 2024
(github.com/FreedomIntelligence/CMB, Apache-2.0 code; data terms on the hub). Native
file: a JSON list of ``{exam_type, exam_class, exam_subject, question, question_type,
option: {A..}, answer}``. The tier comes from ``exam_class`` (规培 resident, 执业助理医师
assistant, 执业医师 licensed, 中级 intermediate, 高级 senior). Items with several
correct letters (多项选择题) are skipped and counted. Ids are zero-based positions.

Also read: the Apollo authors' CMB-Exam sample (FreedomIntelligence/Apollo,
``metadata/test/zh.json`` rows with ``source`` ``cmb-single``, Apache-2.0): JSON lines
whose ``options`` is one ``"(A) text.\n(B) text."`` string and ``answer`` is ``"(D)"``;
it has no tiers or disciplines.

And, by :func:`parse_clin`, the CMB-Clin cases (``cmb_clin.json``: ``{id, title, description,
QA_pairs}``) as open items, so that decontamination can protect them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows
from medsage.types import Sample

# First matching substring wins: 助理 must come before 执业医师.
TIERS = (("规培", "resident"), ("住院医师", "resident"), ("助理", "assistant"), ("执业医师", "licensed"),
         ("中级", "intermediate"), ("主治", "intermediate"), ("高级", "senior"), ("副高", "senior"), ("正高", "senior"))
FIELDS = {"question": "question", "options": "option", "answer": "answer", "discipline": "exam_subject",
          "class": "exam_class", "exam_type": "exam_type", "question_type": "question_type"}


_OPTION_LINE = re.compile(r"^\s*[(（]?([A-J])[)）.．、]\s*(.*?)\s*$")


def options_from_text(text: str) -> dict[str, str]:
    r"""``"(A) text.\n(B) text."`` → ``{"A": "text", "B": "text"}`` (one option a line)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _OPTION_LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2).rstrip(".")
    return out


def tier_of(exam_class: str) -> str | None:
    """The tier (``resident`` … ``senior``) that ``exam_class`` names, or None."""
    return next((tier for key, tier in TIERS if key in exam_class), None)


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """Single-answer CMB-Exam items from the native file or the Apollo sample."""
    result = LoadResult()
    for row, (where, rec) in enumerate(read_rows(path, "json")):
        if not isinstance(rec, dict):
            result.problems.append(f"{where}: not a JSON object")
            continue
        answer = str(rec.get(FIELDS["answer"], "")).strip().strip("()（）")
        if len(answer) > 1:
            result.problems.append(f"{where}: multi-answer item ({answer}) skipped")
            continue
        meta = {
            "language": "zh",
            "discipline": rec.get(FIELDS["discipline"]),
            "tier": tier_of(str(rec.get(FIELDS["class"], ""))),
            "exam_type": rec.get(FIELDS["exam_type"]),
            "exam_class": rec.get(FIELDS["class"]),
            "question_type": "knowledge",
            "source": "CMB-Exam" if rec.get("source") in (None, "") else str(rec["source"]),
        }
        choices = rec.get(FIELDS["options"]) or rec.get("options") or {}
        if isinstance(choices, str):
            choices = options_from_text(choices)
        if not isinstance(choices, dict):
            result.problems.append(f"{where}: option is not an object")
            continue
        make_sample(where, str(rec.get("id", row)), rec.get(FIELDS["question"]), choices, answer, meta, result)
    return result


def parse_clin(path: Path, options: dict[str, Any]) -> LoadResult:
    """CMB-Clin cases as open samples: the case ``description`` is the question.

    There are no options and no target (the ``QA_pairs`` are not read). Ids are the
    source's ``id`` (else the zero-based position).
    """
    result = LoadResult()
    for row, (where, rec) in enumerate(read_rows(path, "json")):
        text = rec.get("description") if isinstance(rec, dict) else None
        if not isinstance(text, str) or not text.strip() or not isinstance(rec.get("QA_pairs"), list):
            result.problems.append(f"{where}: not a CMB-Clin case (description and QA_pairs)")
            continue
        meta = {"language": "zh", "title": rec.get("title"), "source": "CMB-Clin", "where": where}
        result.samples.append(Sample(str(rec.get("id", row)), text, {}, "", {k: v for k, v in meta.items() if v}))
    return result


TASK = ExamTask(
    name="cmb_exam",
    description="CMB-Exam (Chinese), by discipline and tier: resident, assistant, licensed, intermediate, senior",
    citation="Wang et al. 2024, CMB (FreedomIntelligence/CMB)",
    language="zh",
    parse=parse,
    default_data="exams/cmb_exam_val.json",
    hub={"repo": "FreedomIntelligence/CMB", "file": "CMB-Exam/CMB-val/CMB-val-merge.json"},
)
