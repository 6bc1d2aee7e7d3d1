"""A minimal CMB-Clin task for the consult benchmark (open QA, lexical scoring).

CMB-Clin (Apache-2.0) holds Chinese case records with reference QA pairs. Each
QA pair is one sample: the case description plus the question. The reply is
scored by character-bigram F1 against the reference answer (a documented
lexical match, 0..1; no grader model is used here).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.models.base import Model
from medsage.tasks.base import LoadResult, Task
from medsage.types import CaseState, Message, Sample, Score


def bigram_f1(pred: str, ref: str) -> float:
    """Character-bigram F1 (whitespace removed)."""
    p, r = "".join(pred.split()), "".join(ref.split())
    pa, ra = Counter(p[i:i + 2] for i in range(len(p) - 1)), Counter(r[i:i + 2] for i in range(len(r) - 1))
    overlap = sum((pa & ra).values())
    if not overlap:
        return 0.0
    prec, rec = overlap / sum(pa.values()), overlap / sum(ra.values())
    return 2 * prec * rec / (prec + rec)


class CMBClinTask(Task):
    name = "cmb_clin"
    description = "CMB-Clin case QA (open answers, character-bigram F1)"
    metric = "mean"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        if not data:
            raise DataError("cmb_clin needs --data PATH")
        try:
            cases = json.loads(Path(data).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{data}: {exc}") from exc
        res = LoadResult()
        for case in cases:
            for j, qa in enumerate(case.get("QA_pairs", [])):
                question = f"{case.get('description', '')}\n\n问题：{qa['question']}"
                res.samples.append(Sample(f"{case['id']}-{j}", question, target=qa["answer"],
                                          metadata={"language": "zh", "question_type": "case"}))
        return res

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        return [Message("system", "你是一名临床医生。请简洁回答。"), Message("user", sample.question)]

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        text = state.output.text if state.output else ""
        value = bigram_f1(text, state.sample.target)
        return Score(value, text[:200] or None, state.sample.target[:200], "char-bigram F1")


TASK = CMBClinTask()
