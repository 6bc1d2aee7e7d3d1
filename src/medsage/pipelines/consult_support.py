"""Helpers shared by the consultation, routing and simulated-patient pipelines.

Case-record sanity checks (no findings, contradictions), knowledge-base evidence and the
safety review. The bounded agent call lives in :mod:`medsage.models.agent`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from typing import Any

from medsage.types import Finding

log = logging.getLogger(__name__)
PROMPT_LANGUAGES = ("en", "zh")
_FEVER = re.compile(r"(\d{2}(?:\.\d)?)\s*(?:°\s*C|℃)", re.IGNORECASE)
_CONTRA_RULES: list[tuple[re.Pattern[str], re.Pattern[str], str]] = [
    (re.compile(r"\b(?:man|male|boy|gentleman)\b", re.I),
     re.compile(r"\b(?:pregnan\w*|menstrua\w*|uterus|ovar\w*)\b", re.I),
     "male patient with female-specific findings"),
    (re.compile(r"(?:^|[，,。\s])男[，,性]|男性|男孩"), re.compile(r"妊娠|怀孕|月经|子宫|卵巢"),
     "男性患者却有女性特有的表现"),
    (re.compile(r"\b(?:afebrile|no fever)\b", re.I), re.compile(r"\b(?:fever|febrile)\b(?<!no fever)", re.I),
     "fever both denied and reported"),
    (re.compile(r"无发热|不发热|体温正常"), re.compile(r"(?<!无)(?<!不)发热|高热"), "发热既被否认又被报告"),
]


def case_caveats(text: str) -> list[str]:
    """Sanity problems of a case record: missing findings and contradictions.

    Returns human-readable notes (empty when the record looks coherent). These
    are passed to the agents and written to the trace; they never stop a run.
    """
    notes: list[str] = []
    if not text.strip():
        return ["the case record is empty"]
    for a, b, msg in _CONTRA_RULES:
        if a.search(text) and b.search(text):
            notes.append(msg)
    temps = [float(t) for t in _FEVER.findall(text)]
    if temps and re.search(r"\b(?:afebrile|no fever)\b|无发热|体温正常", text, re.I) and max(temps) >= 38.0:
        notes.append(f"afebrile/无发热 stated but temperature {max(temps)} °C recorded")
    return notes


def kb_evidence(kb_path: str, query: str, k: int) -> tuple[list[dict[str, Any]], str | None]:
    """Retrieve ``k`` evidence chunks from the knowledge base at ``kb_path``.

    Returns (evidence, problem): evidence dicts with n/doc_id/title/url/snippet/source,
    and a note when the knowledge base is unavailable (the consultation goes on without it).
    """
    from medsage.kb import KnowledgeBase

    try:
        hits = KnowledgeBase(kb_path).search(query[:2000], k=k)
    except Exception as exc:  # any KB failure degrades to "no evidence", recorded in the trace
        return [], f"knowledge base unavailable: {exc}"
    evidence = []
    for n, hit in enumerate(hits, 1):
        c = hit.chunk
        evidence.append({"n": n, "doc_id": c.doc_id, "title": c.title, "url": c.url,
                         "snippet": c.text[:300], "source": c.source, "score": float(hit.score)})
    return evidence, None


def safety_review(text: str, context: str, lang: str) -> tuple[list[Finding], bool, dict[str, Any]]:
    """Run ``medsage.safety.check`` on a final plan, failing closed.

    Returns (findings, blocked, trace entry). When the check itself fails, the plan
    is treated as blocked.
    """
    from medsage.safety import check

    try:
        # the case text is not a structured patient context (age/sex/eGFR …): pass none
        report = check(text, context=None, lang=lang if lang in PROMPT_LANGUAGES else "auto")
    except Exception as exc:  # fail closed: an unchecked plan is not passed silently
        finding = Finding(type="safety_error", severity="high", message=f"safety check failed: {exc}",
                          action="block")
        return [finding], True, {"agent": "safety", "role": "safety", "available": True,
                                 "blocked": True, "error": str(exc), "findings": [asdict(finding)]}
    findings = list(getattr(report, "findings", []) or [])
    blocked = bool(getattr(report, "blocked", False))
    to_dict = getattr(report, "to_dict", None)
    detail = to_dict() if callable(to_dict) else {"findings": [asdict(f) for f in findings]}
    return findings, blocked, {"agent": "safety", "role": "safety", "available": True,
                               "blocked": blocked, "report": detail}
