"""A question bank: solved exam items retrieved as worked examples for a new question.

Nearest-neighbour few-shot (Liu et al., "What Makes Good In-Context Examples for
GPT-3?", DeeLIO 2022): the solved items most similar to the question are shown before
it. Similarity is BM25 over question + option text (jieba words for Chinese, stems for
English — :mod:`medsage.kb.text`), so a bank of ten thousand items indexes in seconds.

A bank file is any exam task's data file. ``TASK:PATH`` names the task; a bare path is
read by the first exam task whose loader accepts at least 90 % of its rows
(:func:`medsage.tasks.exams.detect.detect_exam_file`, the one format detector).

Honesty: bank items that contain the question being answered — the 13-gram /
MinHash rule of ``medsage data decontam`` (:class:`medsage.train.decontam.OverlapFinder`)
— are never shown, and how many were excluded is returned with every lookup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from medsage.errors import DataError, MedsageError
from medsage.kb.sparse import SparseIndex
from medsage.lang import detect_language
from medsage.runner import get_task
from medsage.tasks.exams.detect import MIN_VALID, accepts, detect_exam_file
from medsage.train.decontam import OverlapFinder
from medsage.types import Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shot:
    """One solved example chosen for a question."""

    sample: Sample
    score: float


def item_text(sample: Sample) -> str:
    """Question and option texts, the unit bank items are indexed and compared by."""
    return " ".join([sample.question, *sample.choices.values()])


def load_bank_file(spec: str) -> tuple[str, list[Sample]]:
    """Read one bank file: ``TASK:PATH`` or a bare path (format detected).

    Returns:
        The task whose reader was used and the solved items (with targets).

    Raises:
        DataError: the file is missing, empty, or no exam reader accepts it.
    """
    task_name, sep, path = spec.partition(":")
    named = bool(sep and len(task_name) > 1 and not Path(spec).exists())
    if not named:
        path = spec
    if not Path(path).is_file():
        raise DataError(f"bank {path}: no such file")
    if named:
        try:
            result = get_task(task_name).load(data=path)
        except MedsageError as exc:
            raise DataError(f"bank {path}: not an exam file any reader accepts; tried {task_name} ({exc})") from exc
        if not accepts(result, MIN_VALID):
            total = len(result.samples) + len(result.problems)
            raise DataError(f"bank {path}: not an exam file any reader accepts; tried {task_name} "
                            f"({len(result.samples)} of {total} rows usable)")
    else:
        try:
            found = detect_exam_file(path)
        except DataError as exc:
            raise DataError(f"bank {exc}") from None
        task_name, result = found.reader, found.result
    return task_name, [_with_language(s) for s in result.samples if s.target in s.choices]


def _with_language(sample: Sample) -> Sample:
    lang = detect_language(item_text(sample))
    return replace(sample, metadata=dict(sample.metadata, language=lang))


class QuestionBank:
    """Solved items from one or more bank files, searchable by similarity.

    Args:
        specs: Bank files (``TASK:PATH`` or paths).

    Raises:
        DataError: no file given, or a file is unreadable, empty or of unknown format.
    """

    def __init__(self, specs: list[str]) -> None:
        if not specs:
            raise DataError("the question bank is empty: give at least one -P bank=FILE")
        self.items: list[Sample] = []
        self.files: list[dict[str, object]] = []
        seen: set[str] = set()
        for spec in specs:
            task, items = load_bank_file(spec)
            kept = 0
            for s in items:
                key = item_text(s)
                if key in seen:  # the same item in two files is one example
                    continue
                seen.add(key)
                self.items.append(s)
                kept += 1
            self.files.append({"file": spec, "task": task, "items": kept})
        if not self.items:
            raise DataError("the question bank is empty: its files hold no solved items")
        texts = [item_text(s) for s in self.items]
        self.index = SparseIndex.build(texts)
        self.overlap = OverlapFinder(texts, options=[list(s.choices.values()) for s in self.items],
                                     stems=[s.question for s in self.items])
        log.info("question bank: %d items from %d files", len(self.items), len(self.files))

    def nearest(self, sample: Sample, k: int, depth: int = 30) -> tuple[list[Shot], int]:
        """The ``k`` most similar solved items that do not contain ``sample``.

        Returns:
            The examples, most similar first, and how many bank items were excluded as
            containing the question (the decontamination rule).
        """
        text = item_text(sample)
        matches = self.overlap.overlapping(text, sample.question, sample.language, list(sample.choices.values()))
        excluded = {int(m.item_id) for m in matches}
        lang = sample.language
        shots: list[Shot] = []
        for i, score in self.index.search(text, depth + len(excluded)):
            if i in excluded:
                continue
            item = self.items[i]
            if item.language != lang:
                continue
            shots.append(Shot(item, score))
            if len(shots) == k:
                break
        return shots, len(excluded)
