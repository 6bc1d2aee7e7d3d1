"""CNMLEQA — Chinese National Medical Licensing Examination questions, 2017–2020.

Source: github.com/zonghui0228/CNMLEQA (no licence file: research use; read from a
user path, never shipped). Native file: a JSON list with ``id``, ``question``,
``opa``..``ope``, ``answer`` (e.g. ``"opb"``), ``year`` and ``question_type``
(知识问答 knowledge / 案例分析 case). Ids are the source's ``id``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

OPTION_FIELDS = {"A": "opa", "B": "opb", "C": "opc", "D": "opd", "E": "ope"}
ANSWER_TO_LETTER = {v: k for k, v in OPTION_FIELDS.items()}
QUESTION_TYPES = {"知识问答": "knowledge", "案例分析": "case"}
META_FIELDS = {"year": "year", "disease": "disease or diagnosis", "medication": "medication"}


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """CNMLEQA items (option ``question_type`` keeps one type)."""
    result = LoadResult()
    wanted_type = options.get("question_type")
    for where, rec in read_rows(path, "json"):
        if not isinstance(rec, dict):
            result.problems.append(f"{where}: not a JSON object")
            continue
        qtype = QUESTION_TYPES.get(str(rec.get("question_type")), rec.get("question_type"))
        if wanted_type and qtype != wanted_type:
            continue
        choices = {k: rec.get(v) for k, v in OPTION_FIELDS.items()}
        raw = str(rec.get("answer", ""))
        answer = ANSWER_TO_LETTER.get(raw, raw)
        meta = {"language": "zh", "question_type": qtype, "source": "CNMLEQA", "tier": "licensed"}
        meta.update({k: rec.get(v) for k, v in META_FIELDS.items()})
        make_sample(where, str(rec.get("id") or where), rec.get("question"), choices, answer, meta, result)
    return result


TASK = ExamTask(
    name="cnmleqa",
    description="CNMLEQA, Chinese national medical licensing exam 2017-2020, 5 options (user-supplied path)",
    citation="CNMLEQA, github.com/zonghui0228/CNMLEQA (no licence file)",
    language="zh",
    parse=parse,
    default_data="exams/cnmleqa_3k_2017_2020.json",
)
