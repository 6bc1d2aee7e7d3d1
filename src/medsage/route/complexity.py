"""Complexity routing: single agent, specialist panel or full MDT.

Transparent rules over features of the question text: is it a patient case
(vignette), how many objective findings (measurements, labs, imaging) does it
carry, and how many specialties does it touch. Every decision comes with the
features and a one-line reason, which the route pipeline writes to the trace.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from medsage.lang import detect_language, normalise
from medsage.route.departments import match_departments

Level = Literal["basic", "intermediate", "complex"]
ROUTE_OF_LEVEL: dict[str, str] = {"basic": "single", "intermediate": "panel", "complex": "mdt"}

_CASE_EN = re.compile(
    r"\b\d+[- ](?:year|month|week|day)s?[- ]old\b|\b(?:presents|presented|comes to|is brought|"
    r"was brought|complains|history of|on examination|physical examination)\b",
    re.IGNORECASE,
)
_CASE_ZH = re.compile(r"\d+\s*(?:岁|个月|月龄)|患者|病人|患儿|主诉|查体|现病史|入院|就诊")
_FINDING = re.compile(
    r"\d+(?:\.\d+)?\s*(?:mm\s*hg|mmhg|/min|bpm|°c|℃|°f|mg/dl|g/dl|mmol/l|μmol/l|umol/l|g/l|"
    r"iu/l|u/l|meq/l|ng/ml|pg/ml|/mm3|/μl|/ul|×\s*10|x\s*10|%|次/分|次／分|kg|cm)",
    re.IGNORECASE,
)
_TEST_WORDS = re.compile(
    r"\b(?:ct|mri|x-ray|radiograph|ultrasound|ecg|ekg|biopsy|culture|serum|urinalysis|"
    r"laboratory|smear|echocardiograph)\w*|CT|MRI|X线|B超|超声|心电图|活检|培养|血常规|尿常规|镜检|化验|实验室检查|辅助检查",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ComplexityDecision:
    """A routing decision with the evidence behind it.

    Attributes:
        level: ``basic`` | ``intermediate`` | ``complex``.
        route: ``single`` | ``panel`` | ``mdt`` (what the level maps to).
        score: The integer complexity score the level was cut from.
        reason: One human-readable sentence.
        features: The measured features (is_case, findings, tests, departments, chars).
    """

    level: Level
    route: str
    score: int
    reason: str
    features: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields of the decision (the route pipeline's ``route`` extra)."""
        return asdict(self)


def assess_complexity(
    text: str,
    *,
    panel_at: int = 3,
    mdt_at: int = 6,
) -> ComplexityDecision:
    """Score the complexity of a question or case and map it to a route.

    Score: 0 for a question without a patient vignette; otherwise 1, plus one
    each for ≥2 and ≥3 specialties involved, ≥4 and ≥8 objective findings, and a
    long case (≥900 characters, or ≥300 for Chinese text).

    The default cut-offs (panel ≥3, MDT ≥6) were set from the score distribution
    of exam case items, not from accuracy: about 20% of MedQA-US vignettes go to
    one agent, 63% to a panel and 17% to an MDT; full CMB-Clin records mostly to an MDT.

    Args:
        text: The question (stem plus options is fine).
        panel_at: Minimum score for a specialist panel.
        mdt_at: Minimum score for a full MDT.
    """
    text = normalise(text)[0]  # zero-width, look-alike and full-width characters do not hide terms
    zh = detect_language(text) == "zh"
    is_case = bool(_CASE_ZH.search(text) if zh else _CASE_EN.search(text))
    findings = len(_FINDING.findall(text))
    tests = len({m.lower() for m in _TEST_WORDS.findall(text)})
    depts = [m.key for m in match_departments(text)]
    long_case = len(text) >= (300 if zh else 900)
    score = 0
    if is_case:
        score = 1 + (len(depts) >= 2) + (len(depts) >= 3) + (findings + tests >= 4)
        score += (findings + tests >= 8) + long_case
    level: Level = "complex" if score >= mdt_at else "intermediate" if score >= panel_at else "basic"
    features = {
        "is_case": is_case, "findings": findings, "tests": tests, "departments": depts,
        "chars": len(text), "language": "zh" if zh else "en",
    }
    if not is_case:
        reason = "no patient vignette: a knowledge question, one agent suffices"
    else:
        reason = (
            f"patient case with {findings + tests} objective findings/tests and "
            f"{len(depts)} specialties ({', '.join(depts[:4]) or 'none matched'})"
            f"{', long record' if long_case else ''}: score {score} -> {ROUTE_OF_LEVEL[level]}"
        )
    return ComplexityDecision(level, ROUTE_OF_LEVEL[level], score, reason, features)
