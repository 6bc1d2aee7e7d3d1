"""Exam items for training-data building and decontamination, read by the task loaders.

Nothing is parsed here: each file goes to the reader that
:func:`medsage.tasks.exams.detect.detect_file` picks from its content — an exam task's
own parser (MedQA, MedMCQA, CNMLEQA, CMB-Exam, CMExam, CMMLU, MMLU, PubMedQA, the
bundled sample, PULSE-EVAL items), else an open-answer task's loader (HealthBench,
MTS-Dialog, ACI-Bench) or the CMB-Clin case reader, whose items have no options. So
ids, skipped rows and answer keys are those of ``medsage bench``; the explanation a
loader keeps (``metadata["explanation"]``: MedMCQA ``exp``, CMExam ``Explanation``,
PubMedQA ``LONG_ANSWER``) becomes :attr:`ExamItem.explanation`.

A folder that a reader takes whole (MMLU, CMMLU, PubMedQA, the sample) is read by it;
any other folder is read file by file (``*.csv``, ``*.json``, ``*.jsonl``, sorted),
skipping files that no reader accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.lang import detect_language
from medsage.tasks.exams.detect import detect_file
from medsage.types import Sample

log = logging.getLogger(__name__)

_SUFFIXES = (".csv", ".json", ".jsonl")


@dataclass
class ExamItem:
    """One exam question (or open benchmark prompt) as read from a file."""

    id: str
    question: str
    choices: dict[str, str] = field(default_factory=dict)
    answer: str = ""
    explanation: str = ""
    language: str = "en"
    discipline: str = ""
    path: str = ""
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExamFile:
    """What :func:`load_exam_items` read: the items, the skipped rows, the readers used."""

    items: list[ExamItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    readers: dict[str, str] = field(default_factory=dict)


def read_exam_items(path: str | Path) -> list[ExamItem]:
    """Read every item under ``path`` (a file or a folder).

    Raises:
        DataError: when the path is missing, no reader accepts it, or it holds no item.
    """
    return load_exam_items(path).items


def load_exam_items(path: str | Path) -> ExamFile:
    """Every item under ``path`` plus the rows its readers skipped (``"file:line: reason"``).

    Raises:
        DataError: when the path is missing, no reader accepts it, or it holds no item.
    """
    p = Path(path)
    out = ExamFile()
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    if p.is_file():
        _add(out, p)
    else:
        try:
            _add(out, p)  # a folder one reader takes whole
        except DataError:
            for f in sorted(f for f in p.rglob("*") if f.suffix in _SUFFIXES and f.is_file()):
                try:
                    _add(out, f)
                except DataError as exc:
                    log.info("skipping %s: %s", f, exc)
                    out.problems.append(f"{f}: no reader accepts this file")
    if not out.items:
        raise DataError(f"{p}: no exam items found")
    return out


def _add(out: ExamFile, path: Path) -> None:
    found = detect_file(path)
    out.readers[str(path)] = found.reader
    out.items.extend(to_exam_item(s, path) for s in found.result.samples)
    out.problems.extend(found.result.problems)


def to_exam_item(sample: Sample, path: str | Path = "") -> ExamItem:
    """A loader's sample as an :class:`ExamItem` (open samples get no options and no answer)."""
    file, line = _split_where(str(sample.metadata.get("where") or ""), str(path))
    meta = {k: v for k, v in sample.metadata.items() if k not in ("explanation", "where")}
    return ExamItem(
        id=sample.id, question=sample.question, choices=dict(sample.choices),
        answer=sample.target if sample.choices else "",
        explanation=str(sample.metadata.get("explanation") or ""),
        language=detect_language(sample.question), discipline=str(sample.metadata.get("discipline") or ""),
        path=file, line=line, extra=meta,
    )


def _split_where(where: str, default_path: str) -> tuple[str, int]:
    """``"file:12"`` -> ``("file", 12)``; ``"file:item 3"`` -> ``("file", 4)``; else line 0."""
    file, sep, tail = where.rpartition(":")
    if not sep:
        return default_path, 0
    if tail.isdigit():
        return file, int(tail)
    if tail.startswith("item ") and tail[5:].isdigit():
        return file, int(tail[5:]) + 1
    return file, 0
