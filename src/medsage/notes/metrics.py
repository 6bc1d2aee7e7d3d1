"""Note metrics: ROUGE, concept F1, section completeness and an edit-effort proxy.

ROUGE is word-level for English and character-level for Chinese; the edit-effort proxy is
the "estimated writing time saved".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from medsage.errors import MissingExtraError
from medsage.notes.lexicon import concept_set
from medsage.notes.templates import Template, split_sections

_ZH_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")


def zh_tokens(text: str) -> list[str]:
    """Characters for Chinese, whole words for embedded Latin text and numbers."""
    return _ZH_TOKEN.findall(text.lower())


def _ngrams(toks: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))


def _prf(overlap: float, pred_n: int, ref_n: int) -> dict[str, float]:
    p = overlap / pred_n if pred_n else 0.0
    r = overlap / ref_n if ref_n else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f}


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_tokens(pred: list[str], ref: list[str]) -> dict[str, dict[str, float]]:
    """ROUGE-1/2/L over pre-tokenised sequences (used for Chinese characters)."""
    out = {}
    for n in (1, 2):
        p, r = _ngrams(pred, n), _ngrams(ref, n)
        out[f"rouge{n}"] = _prf(sum((p & r).values()), sum(p.values()), sum(r.values()))
    out["rougeL"] = _prf(_lcs(pred, ref), len(pred), len(ref))
    return out


@lru_cache(maxsize=1)
def _en_scorer() -> Any:
    try:
        from rouge_score import rouge_scorer
    except ImportError as exc:
        raise MissingExtraError("rouge-score", "notes", "English ROUGE") from exc

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)


def rouge(pred: str, ref: str, lang: str = "en") -> dict[str, float]:
    """ROUGE F-measures: ``rouge1``, ``rouge2``, ``rougeL``, ``rougeLsum`` (0–1).

    English uses ``rouge-score`` (Porter stemming); Chinese, which that tokenizer
    drops, uses characters. ``rougeLsum`` for Chinese is ROUGE-L over lines joined.
    """
    if lang == "zh":
        res = rouge_tokens(zh_tokens(pred), zh_tokens(ref))
        out = {k: v["f"] for k, v in res.items()}
        out["rougeLsum"] = out["rougeL"]
        return out
    scores = _en_scorer().score(ref, pred)
    return {k: float(v.fmeasure) for k, v in scores.items()}


def concept_f1(pred: str, ref: str, lang: str = "en") -> dict[str, float | None]:
    """Precision/recall/F1 of lexicon concepts (drugs, problems, symptoms, findings, tests).

    ``f1`` is None when neither text mentions any concept.
    """
    p, r = concept_set(pred, lang), concept_set(ref, lang)
    if not p and not r:
        return {"p": None, "r": None, "f1": None, "pred_concepts": 0, "ref_concepts": 0}
    tp = len(p & r)
    prec = tp / len(p) if p else 0.0
    rec = tp / len(r) if r else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"p": prec, "r": rec, "f1": f1, "pred_concepts": len(p), "ref_concepts": len(r)}


def edit_effort(pred: str, ref: str, lang: str = "en") -> dict[str, float]:
    """Word-level (character-level for Chinese) edit distance from the draft to the reference.

    ``distance_norm`` is the Levenshtein distance over ``max(len)``; ``time_saved``
    = max(0, 1 − distance / len(reference)): the share of the reference a clinician
    would not have to type or change if they started from the draft (0 = no better
    than writing from scratch).
    """
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError as exc:
        raise MissingExtraError("rapidfuzz", "notes", "the edit-effort metric") from exc

    a = zh_tokens(pred) if lang == "zh" else pred.lower().split()
    b = zh_tokens(ref) if lang == "zh" else ref.lower().split()
    if not b:
        return {"distance_norm": 1.0 if a else 0.0, "time_saved": 0.0}
    d = Levenshtein.distance(a, b)
    return {"distance_norm": d / max(len(a), len(b)), "time_saved": max(0.0, 1.0 - d / len(b))}


def section_completeness(pred: str, ref: str, template: Template) -> dict[str, Any]:
    """Share of the reference's sections that the prediction fills.

    When the reference has no recognisable headings, the share of the
    template's required sections the prediction fills.
    """
    pred_secs, _ = split_sections(pred, template)
    ref_secs, _ = split_sections(ref, template)
    filled = {k for k, v in pred_secs.items() if v.strip()}
    wanted = {k for k, v in ref_secs.items() if v.strip()} or {s.id for s in template.sections if s.required}
    if not wanted:  # a single-section reference without headings (MTS-Dialog): is there any content?
        return {"completeness": 1.0 if pred.strip() else 0.0, "missing_sections": []}
    return {"completeness": len(filled & wanted) / len(wanted), "missing_sections": sorted(wanted - filled)}
