r"""CMExam — Chinese National Medical Licensing Examination items with annotations.

Source: Liu et al., "Benchmarking Large Language Models on CMExam — A Comprehensive
Chinese Medical Exam Dataset", NeurIPS 2023 Datasets (github.com/williamliujl/CMExam).
Native file: a CSV with header ``Question, Options, Answer, Explanation, Disease Group,
Clinical Department, Medical Discipline, Competency Area, Difficulty level``; options
are one per line as ``A 文本``. Multi-answer items are skipped and counted. Ids are
zero-based data rows. The same columns are read from an ``.xlsx`` workbook's first
sheet (the ``cmexam_val.xlsx`` copy, whose options are joined by a literal ``\n``). The
``Explanation`` column is kept as ``metadata["explanation"]`` (never shown to a model).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

FIELDS = {"question": "Question", "options": "Options", "answer": "Answer", "discipline": "Medical Discipline",
          "department": "Clinical Department", "competency": "Competency Area", "difficulty": "Difficulty level",
          "explanation": "Explanation"}
_OPTION = re.compile(r"^\s*([A-J])[\s\.、:：]\s*(.*)$")


def split_options(text: str) -> dict[str, str]:
    """Letter -> text of options given one a line as ``A 文本``."""
    out: dict[str, str] = {}
    for line in text.replace("\\n", "\n").splitlines():
        m = _OPTION.match(line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """Single-answer CMExam items from the CSV or the ``.xlsx`` workbook."""
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else list(read_rows(path, "csv"))
    result = LoadResult()
    if not rows:
        return result
    col = {name.strip(): i for i, name in enumerate(rows[0][1])}
    missing = [v for v in (FIELDS["question"], FIELDS["options"], FIELDS["answer"]) if v not in col]
    if missing:
        result.problems.append(f"{rows[0][0]}: header lacks {', '.join(missing)}")
        return result

    def get(rec: list[str], key: str) -> str:
        i = col.get(FIELDS[key])
        return rec[i].strip() if i is not None and i < len(rec) else ""

    for row, (where, rec) in enumerate(rows[1:]):
        answer = get(rec, "answer")
        if len(answer) > 1:
            result.problems.append(f"{where}: multi-answer item ({answer}) skipped")
            continue
        meta = {"language": "zh", "discipline": get(rec, "discipline"), "department": get(rec, "department"),
                "competency": get(rec, "competency"), "tier": get(rec, "difficulty") or None,
                "question_type": "knowledge", "source": "CMExam", "explanation": get(rec, "explanation")}
        make_sample(where, str(row), get(rec, "question"), split_options(get(rec, "options")), answer, meta, result)
    return result


def _xlsx_rows(path: Path) -> list[tuple[str, list[str]]]:
    from medsage.notes.xlsx import read_xlsx_rows

    return [(f"{path}:{n}", row) for n, row in enumerate(read_xlsx_rows(path), 1)]


TASK = ExamTask(
    name="cmexam",
    description="CMExam (Chinese licensing exam with discipline/department/difficulty annotations)",
    citation="Liu et al. 2023, CMExam",
    language="zh",
    parse=parse,
    default_data="exams/cmexam_test.csv",
)
