"""MedMCQA — Indian AIIMS/NEET-PG entrance-exam questions, 21 subjects.

Source: Pal et al., "MedMCQA: A Large-scale Multi-Subject Multi-Choice Dataset for
Medical domain Question Answering", CHIL 2022 (github.com/medmcqa/medmcqa, MIT).
Native files are JSON lines with ``opa``..``opd`` and ``cop``, the correct option's
index: 1-based in the original release, 0-based in the hub's parquet conversion —
a file with any ``cop`` of 0 is read as 0-based. Ids are the source's ``id``; the
explanation ``exp`` is kept as ``metadata["explanation"]`` (never shown to a model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import LETTERS, ExamTask, make_sample, read_rows

OPTION_FIELDS = {"A": "opa", "B": "opb", "C": "opc", "D": "opd"}
FIELDS = {"id": "id", "question": "question", "answer": "cop", "discipline": "subject_name", "topic": "topic_name",
          "explanation": "exp"}


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """MedMCQA items (JSON or JSON lines; 0- or 1-based ``cop``)."""
    rows = list(read_rows(path, "jsonl" if path.suffix != ".json" or _looks_jsonl(path) else "json"))
    base = 0 if any(isinstance(r, dict) and r.get(FIELDS["answer"]) == 0 for _, r in rows) else 1
    result = LoadResult()
    for where, rec in rows:
        if not isinstance(rec, dict):
            result.problems.append(f"{where}: not a JSON object")
            continue
        choices = {k: rec.get(v) for k, v in OPTION_FIELDS.items()}
        raw = rec.get(FIELDS["answer"])
        try:
            index = int(raw) - base if raw is not None else -1
            answer = LETTERS[index] if index >= 0 else str(raw)
        except (TypeError, ValueError, IndexError):
            answer = str(raw)
        meta = {
            "language": "en",
            "discipline": rec.get(FIELDS["discipline"]),
            "topic": rec.get(FIELDS["topic"]),
            "question_type": "knowledge",
            "choice_type": rec.get("choice_type"),
            "source": "MedMCQA",
            "explanation": str(rec.get(FIELDS["explanation"]) or "").strip(),
        }
        make_sample(where, str(rec.get(FIELDS["id"]) or where), rec.get(FIELDS["question"]), choices, answer, meta, result)
    return result


def _looks_jsonl(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(1) == b"{"


TASK = ExamTask(
    name="medmcqa",
    description="MedMCQA (AIIMS/NEET-PG), 4 options, dev split 4,183 items, 21 subjects",
    citation="Pal et al. 2022, MedMCQA (MIT)",
    language="en",
    parse=parse,
    default_data="exams/medmcqa_dev.json",
    hub={"repo": "openlifescienceai/medmcqa", "file": "data/validation-00000-of-00001.parquet"},
)
