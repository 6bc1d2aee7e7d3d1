"""MMLU medical subjects.

Anatomy, clinical knowledge, college biology, college medicine, medical genetics and
professional medicine.

Source: Hendrycks et al., "Measuring Massive Multitask Language Understanding",
ICLR 2021 (github.com/hendrycks/test, MIT). Native files are headerless CSVs
``question,A,B,C,D,answer`` named ``<subject>_test.csv``. Ids are ``<subject>-<row>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

SUBJECTS = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics", "professional_medicine")
COLUMNS = {"question": 0, "A": 1, "B": 2, "C": 3, "D": 4, "answer": 5}


def subject_files(path: Path, suffix: str) -> list[tuple[str, Path]]:
    """``(subject, file)`` pairs from a folder of ``<subject><suffix>`` files or one file."""
    if path.is_file():
        return [(path.name.removesuffix(suffix).removesuffix(".csv"), path)]
    files = sorted(p for p in path.glob(f"*{suffix}") if p.is_file())
    if not files:
        raise DataError(f"{path}: no *{suffix} files found")
    return [(p.name.removesuffix(suffix), p) for p in files]


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """The medical MMLU subjects' test items (option ``subjects`` narrows them)."""
    result = LoadResult()
    wanted = set(str(options["subjects"]).split(",")) if options.get("subjects") else None
    for subject, file in subject_files(path, "_test.csv"):
        if wanted and subject not in wanted:
            continue
        for row, (where, rec) in enumerate(read_rows(file, "csv-noheader")):
            if len(rec) < 6:
                result.problems.append(f"{where}: expected 6 columns, got {len(rec)}")
                continue
            choices = {k: rec[COLUMNS[k]] for k in "ABCD"}
            meta = {"language": "en", "discipline": subject, "question_type": "knowledge", "source": "MMLU"}
            make_sample(where, f"{subject}-{row}", rec[COLUMNS["question"]], choices, rec[COLUMNS["answer"]], meta, result)
    return result


TASK = ExamTask(
    name="mmlu_medical",
    description="MMLU medical subjects (6), 4 options, test split",
    citation="Hendrycks et al. 2021, MMLU (MIT)",
    language="en",
    parse=parse,
    default_data="exams/mmlu_medical",
)
