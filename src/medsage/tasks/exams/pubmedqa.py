"""PubMedQA (PQA-L) — yes/no/maybe questions over PubMed abstracts.

Source: Jin et al., "PubMedQA: A Dataset for Biomedical Research Question Answering",
EMNLP 2019 (github.com/pubmedqa/pubmedqa, MIT). ``ori_pqal.json`` maps PMID ->
record (``QUESTION``, ``CONTEXTS``, ``final_decision``); the official test split is
the 500 PMIDs in ``test_ground_truth.json`` beside it (default). ``-T split=all``
uses all 1,000. Ids are PMIDs; the options are A yes / B no / C maybe. ``LONG_ANSWER`` (the
abstract's conclusion) is kept as ``metadata["explanation"]``, never shown to a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.tasks.base import LoadResult
from medsage.tasks.exams.common import ExamTask, make_sample, read_rows

CHOICES = {"A": "yes", "B": "no", "C": "maybe"}
LABEL_TO_LETTER = {v: k for k, v in CHOICES.items()}
FIELDS = {"question": "QUESTION", "contexts": "CONTEXTS", "answer": "final_decision", "year": "YEAR",
          "explanation": "LONG_ANSWER"}


def parse(path: Path, options: dict[str, Any]) -> LoadResult:
    """PubMedQA items (the official test split unless ``split=all``).

    Raises:
        DataError: The test split's ``test_ground_truth.json`` is missing or invalid.
    """
    if path.is_dir():
        path = path / "ori_pqal.json"
    split = str(options.get("split", "test"))
    test_ids: set[str] | None = None
    if split == "test":
        gt = path.parent / "test_ground_truth.json"
        if not gt.is_file():
            raise DataError(f"{gt}: missing (needed for the official test split; use -T split=all for all items)")
        try:
            test_ids = set(json.loads(gt.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise DataError(f"{gt}: invalid JSON ({exc})") from exc
    result = LoadResult()
    for where, item in read_rows(path, "json"):
        if not (isinstance(item, tuple) and isinstance(item[0], dict)):
            result.problems.append(f"{where}: not a PMID -> record object")
            continue
        rec, pmid = item
        if test_ids is not None and pmid not in test_ids:
            continue
        contexts = rec.get(FIELDS["contexts"]) or []
        context = " ".join(contexts) if isinstance(contexts, list) else str(contexts)
        answer = LABEL_TO_LETTER.get(str(rec.get(FIELDS["answer"], "")).lower(), rec.get(FIELDS["answer"]))
        meta = {"language": "en", "context": context, "year": rec.get(FIELDS["year"]),
                "discipline": "biomedical_research", "question_type": "reasoning", "source": "PubMedQA",
                "explanation": str(rec.get(FIELDS["explanation"]) or "").strip()}
        make_sample(where, pmid, rec.get(FIELDS["question"]), CHOICES, answer, meta, result)
    return result


TASK = ExamTask(
    name="pubmedqa",
    description="PubMedQA PQA-L, yes/no/maybe with abstract context; official 500-item test split",
    citation="Jin et al. 2019, PubMedQA (MIT)",
    language="en",
    parse=parse,
    default_data="exams/pubmedqa/ori_pqal.json",
    hub={"repo": "qiaojin/PubMedQA", "file": "pqa_labeled/train-00000-of-00001.parquet"},
)
