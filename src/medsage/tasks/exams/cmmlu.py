"""CMMLU medical subjects (Chinese).

Source: Li et al., "CMMLU: Measuring Massive Multitask Language Understanding in
Chinese", 2023 (github.com/haonan-li/CMMLU, CC BY-NC-SA 4.0 — non-commercial:
read from a user path, never shipped). Native files are CSVs with a header
``,Question,A,B,C,D,Answer`` named ``<subject>.csv`` under ``test/`` (or ``dev/``).
Ids are ``<subject>-<row>`` (zero-based data row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows
from medsage.tasks.exams.mmlu import subject_files

SUBJECTS = ("anatomy", "clinical_knowledge", "college_medical_statistics", "college_medicine", "genetics",
            "nutrition", "professional_medicine", "traditional_chinese_medicine", "virology")
QUESTION, ANSWER, OPTIONS = "Question", "Answer", ("A", "B", "C", "D")


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """CMMLU items of the ``split`` folder (option ``subjects`` narrows them)."""
    split = str(options.get("split", "test"))
    if path.is_dir() and (path / split).is_dir():
        path = path / split
    result = LoadResult()
    wanted = set(str(options["subjects"]).split(",")) if options.get("subjects") else None
    for subject, file in subject_files(path, ".csv"):
        if wanted and subject not in wanted:
            continue
        rows = list(read_rows(file, "csv"))
        if not rows:
            continue
        header: list[str] = list(rows[0][1])
        col = {name: i for i, name in enumerate(header)}
        missing = [h for h in (QUESTION, ANSWER, *OPTIONS) if h not in col]
        if missing:
            result.problems.append(f"{rows[0][0]}: header lacks {', '.join(missing)}")
            continue
        for row, (where, rec) in enumerate(rows[1:]):
            if len(rec) < len(header):
                result.problems.append(f"{where}: expected {len(header)} columns, got {len(rec)}")
                continue
            choices = {k: rec[col[k]] for k in OPTIONS}
            meta = {"language": "zh", "discipline": subject, "question_type": "knowledge", "source": "CMMLU"}
            make_sample(where, f"{subject}-{row}", rec[col[QUESTION]], choices, rec[col[ANSWER]], meta, result)
    return result


TASK = ExamTask(
    name="cmmlu_medical",
    description="CMMLU medical subjects (9), Chinese, 4 options (CC BY-NC-SA: user-supplied path)",
    citation="Li et al. 2023, CMMLU (CC BY-NC-SA 4.0)",
    language="zh",
    parse=parse,
    default_data="exams/cmmlu_medical",
)
