"""MedQA-Mainland items with the published answers of 12 systems (PULSE-EVAL release).

Source: the PULSE team's evaluation release (github.com/openmedlab/PULSE-EVAL,
``data/MedQA_Mainland.jsonl`` and ``eval/predicted/<model>/MedQA-Mainland.jsonl``):
150 items of the MedQA-MCMLE test split (Jin et al. 2021, MIT) and the free-text,
chain-of-thought replies of GPT-4, ChatGPT, PULSE-Pro/OS, Baichuan2, ChatGLM3,
HuatuoGPT2, QiZhenGPT, BenTsao, BianQue2, MING and DoctorGLM (December 2023).
The release has no licence file: it is read from a user-given path, never shipped.

Rows are JSON lines ``{"type", "question", "reference_answer"}``; ``question`` holds
the stem, one option a line (``"A：2小时"``) and the instruction; the answer is the
letter heading ``reference_answer`` (``"E：24小时内"``). Prediction files are the
same rows plus ``predict_answer``; :func:`read_predictions` reads them as stored
responses for ``medsage score``. Sample ids are zero-based row numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

FIELDS = {"question": "question", "answer": "reference_answer", "prediction": "predict_answer"}
_OPTION = re.compile(r"^\s*([A-J])\s*[：:．.、]\s*(.*?)\s*$")


def split_question(text: str) -> tuple[str, dict[str, str], str]:
    r"""``stem\nA：…\nE：…\ninstruction`` -> ``(stem, {letter: text}, instruction)``."""
    stem: list[str] = []
    choices: dict[str, str] = {}
    tail: list[str] = []
    for line in text.splitlines():
        m = _OPTION.match(line)
        if m and not tail:
            choices[m.group(1)] = m.group(2)
        elif choices:
            tail.append(line)
        else:
            stem.append(line)
    return "\n".join(stem).strip(), choices, "\n".join(tail).strip()


def question_key(text: str) -> str:
    """A short fingerprint of a row's full question, to match predictions to items."""
    return hashlib.sha1(re.sub(r"\s+", "", text).encode("utf-8")).hexdigest()[:12]


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """The PULSE-EVAL MedQA-Mainland items, the options split out of the question."""
    result = LoadResult()
    for row, (where, rec) in enumerate(read_rows(path, "jsonl")):
        if not isinstance(rec, dict) or not isinstance(rec.get(FIELDS["question"]), str):
            result.problems.append(f"{where}: not a row with a question")
            continue
        full = rec[FIELDS["question"]]
        stem, choices, instruction = split_question(full)
        answer = str(rec.get(FIELDS["answer"]) or "").strip()[:1].upper()
        ref_text = _OPTION.match(str(rec.get(FIELDS["answer"]) or ""))
        if ref_text and choices.get(answer) and ref_text.group(2) and ref_text.group(2) != choices[answer]:
            result.problems.append(f"{where}: reference answer text does not match option {answer}")
            continue
        meta = {"language": "zh", "source": "MedQA-MCMLE (PULSE-EVAL)", "instruction": instruction,
                "question_key": question_key(full),
                "question_type": "case" if any(w in stem[:80] for w in ("岁", "患者", "病人")) else "knowledge"}
        make_sample(where, str(row), stem, choices, answer, meta, result)
    return result


def read_predictions(path: Path) -> list[tuple[str, str, str | None]]:
    """A prediction file's rows as ``(id, reply, question_key)``; ids are row numbers.

    Raises:
        DataError: unreadable files or rows without ``predict_answer``.
    """
    out: list[tuple[str, str, str | None]] = []
    for row, (where, rec) in enumerate(read_rows(path, "jsonl")):
        if not isinstance(rec, dict) or FIELDS["prediction"] not in rec:
            raise DataError(f"{where}: a prediction row needs '{FIELDS['prediction']}'")
        question = rec.get(FIELDS["question"])
        out.append((str(row), str(rec[FIELDS["prediction"]] or ""),
                    question_key(question) if isinstance(question, str) else None))
    return out


def is_prediction_file(first_line: str) -> bool:
    """True when a JSON line looks like a PULSE-EVAL prediction row (no id)."""
    try:
        rec = json.loads(first_line)
    except ValueError:
        return False
    return isinstance(rec, dict) and FIELDS["prediction"] in rec and "id" not in rec


TASK = ExamTask(
    name="medqa_mainland_published",
    description="MedQA-MCMLE 150 items with 12 systems' published free-text answers (PULSE-EVAL); "
    "re-score any system's predictions with `medsage score`",
    citation="Jin et al. 2021, MedQA (MIT); predictions: openmedlab/PULSE-EVAL (no licence file)",
    language="zh",
    parse=parse,
    default_data="exams/published_predictions/medqa_mainland_150_items.jsonl",
)
