"""Which reader a data file is in, decided from its content: the one format detector.

A file is offered to each exam task's own parser in :data:`EXAM_READERS` order; the
first that turns at least :data:`MIN_VALID` of the file's rows into samples reads it
(the other parsers reject it: wrong fields give skipped rows, not samples). That is
:func:`detect_exam_file`, the question bank's rule. :func:`detect_file`, for training
data and decontamination, also takes files with more bad rows (:data:`MIN_MAJORITY`)
and open-answer files: HealthBench (``medsage.tasks.healthbench``), MTS-Dialog and
ACI-Bench (``medsage.tasks.notes``) and CMB-Clin cases (:func:`.cmb.parse_clin`).

Used by the question bank (``pipelines/bank.py``), by training-data building and by
decontamination's reading of unnamed test files (``train/sources/exams.py``), so an
exam file is always parsed by the same code as ``medsage bench`` parses it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MedsageError
from medsage.tasks.base import LoadResult
from medsage.tasks.exams import (
    cmb,
    cmexam,
    cmmlu,
    cnmleqa,
    medmcqa,
    medqa,
    mmlu,
    published,
    pubmedqa,
    sample,
)

Parser = Callable[[Path, dict[str, Any]], LoadResult]

# Tried in this order; the first seven are the question bank's historical order. MedQA files
# of either language are read by the medqa_mcmle reader (the two tasks share one parser).
# PubMedQA is read whole (split=all): a training or bank file is not the benchmark's test split.
EXAM_READERS: tuple[tuple[str, Parser, dict[str, Any]], ...] = (
    ("medqa_mcmle", lambda p, o: medqa.parse(p, o, "zh", "MedQA-MCMLE"), {}),
    ("cnmleqa", cnmleqa.parse, {}),
    ("cmb_exam", cmb.parse, {}),
    ("medmcqa", medmcqa.parse, {}),
    ("cmexam", cmexam.parse, {}),
    ("cmmlu_medical", cmmlu.parse, {}),
    ("mmlu_medical", mmlu.parse, {}),
    ("pubmedqa", pubmedqa.parse, {"split": "all"}),
    ("exam-sample", sample.parse, {}),
    ("medqa_mainland_published", published.parse, {}),
)
MIN_VALID = 0.9
# detect_file only: the share of usable rows enough for a file no exam reader takes at MIN_VALID.
# Training files may hold a few bad rows (reported as problems); HealthBench files repeat
# prompts (skipped as exact duplicates).
MIN_MAJORITY = 0.5
# A parser given the wrong format (or a folder) may trip over a field of an unexpected type.
_WRONG_FORMAT = (MedsageError, csv.Error, OSError, ValueError, TypeError, LookupError, AttributeError)
Reader = Callable[[Path], LoadResult]


@dataclass
class Detected:
    """The reader that accepted a file and what it read."""

    reader: str
    result: LoadResult


def usable_share(result: LoadResult) -> float:
    """Share of a file's rows that became samples (0 when there were none)."""
    total = len(result.samples) + len(result.problems)
    return len(result.samples) / total if total else 0.0


def accepts(result: LoadResult, min_valid: float = MIN_VALID) -> bool:
    """Whether a reader's result means the file is in its format."""
    return bool(result.samples) and usable_share(result) >= min_valid


def detect_exam_file(path: str | Path, names: Sequence[str] | None = None) -> Detected:
    """Read ``path`` with the first exam reader that turns :data:`MIN_VALID` of its rows into samples.

    Args:
        path: The data file (or folder: MMLU, CMMLU, PubMedQA, the bundled sample).
        names: Only these readers (names of :data:`EXAM_READERS`), in this order.

    Raises:
        DataError: when no exam reader accepts the file; the message lists what each said.
    """
    p = _existing(path)
    readers = [(name, _bound(parse, opts)) for name, parse, opts in EXAM_READERS if names is None or name in names]
    if names is not None:
        readers.sort(key=lambda r: list(names).index(r[0]))
    tried: list[str] = []
    for name, read in readers:
        result = _attempt(name, read, p, tried)
        if result is not None and accepts(result):
            return Detected(name, result)
    raise DataError(f"{p}: not an exam file any reader accepts; tried {'; '.join(tried)}")


def detect_file(path: str | Path) -> Detected:
    """Read ``path`` with the reader its content shows, exam or open-answer.

    The first exam reader that reaches :data:`MIN_VALID` (as :func:`detect_exam_file`);
    else the exam reader with the most usable rows, if they are at least
    :data:`MIN_MAJORITY` of the file's rows (ties: the earlier reader); else the first
    open-answer reader that reaches :data:`MIN_MAJORITY` (in order: the ACI-Bench reader
    also takes MTS-Dialog files, so MTS is tried first).

    Raises:
        DataError: when no reader accepts the file; the message lists what each said.
    """
    p = _existing(path)
    tried: list[str] = []
    results: list[tuple[str, LoadResult]] = []
    for name, parse, opts in EXAM_READERS:
        result = _attempt(name, _bound(parse, opts), p, tried)
        if result is not None and accepts(result):
            return Detected(name, result)
        if result is not None and accepts(result, MIN_MAJORITY):
            results.append((name, result))
    if results:
        name, result = max(results, key=lambda nr: len(nr[1].samples))
        return Detected(name, result)
    for name, read in _open_readers():
        result = _attempt(name, read, p, tried)
        if result is not None and accepts(result, MIN_MAJORITY):
            return Detected(name, result)
    raise DataError(f"{p}: no exam or open-answer reader accepts it; tried {'; '.join(tried)}")


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    return p


def _attempt(name: str, read: Reader, path: Path, tried: list[str]) -> LoadResult | None:
    """``read(path)``, or ``None`` when it fails; either way one line in ``tried``."""
    try:
        result = read(path)
    except _WRONG_FORMAT as exc:
        tried.append(f"{name} ({str(exc)[:200]})")
        return None
    total = len(result.samples) + len(result.problems)
    tried.append(f"{name} ({len(result.samples)} of {total} rows usable)")
    return result


def _bound(parse: Parser, options: dict[str, Any]) -> Reader:
    return lambda p: parse(p, dict(options))


def _open_readers() -> list[tuple[str, Reader]]:
    from medsage.tasks.healthbench import TASK as HEALTHBENCH
    from medsage.tasks.notes import NOTES_ACI, NOTES_MTS

    # MTS before ACI: the ACI reader also takes an MTS file (its section text as the note).
    return [("healthbench", lambda p: HEALTHBENCH.load(data=str(p))),
            ("notes_mts", lambda p: NOTES_MTS.load(data=str(p))),
            ("notes_aci", lambda p: NOTES_ACI.load(data=str(p))),
            ("cmb_clin", lambda p: cmb.parse_clin(p, {}))]
