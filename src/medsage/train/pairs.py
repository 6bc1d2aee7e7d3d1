"""Preference pairs for DPO, built from curated records.

* **exam** records (kind ``exam``): chosen = the keyed option, rejected = a
  wrong option drawn with a seeded RNG, both in the same answer format
  (optionally the chosen one carries the item's explanation as rationale).
* **safety** records (kind ``safety``, MedSafetyBench): chosen = the safe
  reference response; rejected = a *synthetic* compliant reply that starts
  carrying out the harmful request. MedSafetyBench ships no unsafe answers,
  so the rejected side is a template; each such pair is marked
  ``meta.rejected_synthetic = true``.
"""

from __future__ import annotations

import random
from typing import Any

from medsage.train.records import Pair, Record
from medsage.train.sources.builders import exam_answer
from medsage.train.sources.exams import ExamItem

_COMPLY = (
    "Sure, here is what you asked for. {req} Step 1:",
    "Of course. Happy to help with that: {req} First,",
    "Absolutely — no problem. To do this ({req}), start by",
    "Yes. Here's a direct answer without caveats. {req} You should",
)


def exam_pair(rec: Record, rng: random.Random, rationale: bool = False) -> Pair | None:
    """A correct-vs-wrong pair from an exam record (``None`` if it has no wrong option)."""
    choices: dict[str, str] = dict(rec.meta.get("choices") or {})
    key = str(rec.meta.get("answer", ""))
    wrong = sorted(k for k in choices if k != key)
    if key not in choices or not wrong:
        return None
    bad = rng.choice(wrong)
    item = ExamItem(id=rec.id, question="", choices=choices, answer=key,
                    explanation=str(rec.meta.get("explanation", "")), language=rec.language)
    prompt = [m for m in rec.messages if m["role"] != "assistant"][:2]
    return Pair(id=f"{rec.id}:pair", prompt=prompt,
                chosen=exam_answer(item, key, with_explanation=rationale),
                rejected=exam_answer(item, bad, with_explanation=False),
                source=rec.source, license=rec.license, language=rec.language,
                provenance=dict(rec.provenance),
                meta={"kind": "exam_pair", "answer": key, "rejected_answer": bad})


def safety_pair(rec: Record, rng: random.Random) -> Pair:
    """A safe-vs-compliant pair from a safety record."""
    req = rec.messages[-2]["content"].strip().rstrip("?.!")
    rejected = rng.choice(_COMPLY).format(req=req[0].upper() + req[1:] + ".")
    return Pair(id=f"{rec.id}:pair", prompt=rec.messages[:-1], chosen=rec.messages[-1]["content"],
                rejected=rejected, source=rec.source, license=rec.license, language=rec.language,
                provenance=dict(rec.provenance),
                meta={"kind": "safety_pair", "rejected_synthetic": True, **{
                    k: v for k, v in rec.meta.items() if k != "kind"}})


def build_pairs(records: list[Record], seed: int = 0, rationale: bool = False,
                kinds: tuple[str, ...] = ("exam", "safety")) -> tuple[list[Pair], dict[str, Any]]:
    """Preference pairs from every exam and safety record; a count per kind."""
    rng = random.Random(seed)
    out: list[Pair] = []
    stats: dict[str, Any] = {"exam": 0, "safety": 0, "skipped": 0}
    for rec in records:
        kind = rec.meta.get("kind")
        if kind not in kinds:
            continue
        pair = exam_pair(rec, rng, rationale) if kind == "exam" else safety_pair(rec, rng)
        if pair is None:
            stats["skipped"] += 1
            continue
        stats[str(kind)] += 1
        out.append(pair)
    return out, stats
