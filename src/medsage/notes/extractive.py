"""A model-free drafting strategy: pick the transcript turns that best fit each section.

Used as a baseline, as the fallback when no model is given, and for transcripts
too long for any model budget. Sentences are the speakers' own words (fillers
removed), attributed (``Patient reports: …``), so they are always grounded.
"""

from __future__ import annotations

import re

from medsage.notes.lexicon import find_concepts
from medsage.notes.templates import Section, Template
from medsage.notes.transcript import Transcript, Turn

_FILLER_EN = re.compile(r"\b(um+|uh+|hmm+|mm-hmm|mhm|uh-huh|you know|i mean|like,|okay|ok|alright|"
                        r"so|well|yeah|oh)\b[,.]?\s*", re.I)
_FILLER_ZH = re.compile(r"(嗯+|啊+|哦+|呃+|那个|就是说|对对)[，,]?")
# Which speaker a section mostly draws on.
_DOCTOR_SECTIONS = ("exam", "results", "assessment", "plan", "imp", "tigejiancha", "fuzhujiancha",
                    "chubuzhenduan", "chuliyijian")
_KIND_BONUS = {"symptom": ("cc", "hpi", "hpc", "ros", "pc", "zhusu", "xianbingshi"),
               "problem": ("hpi", "pmh", "assessment_plan", "imp", "jiwangshi", "chubuzhenduan"),
               "drug": ("hpi", "dh", "assessment_plan", "plan", "chuliyijian"),
               "test": ("results", "fuzhujiancha", "exam"),
               "finding": ("exam", "tigejiancha")}


def strip_fillers(text: str, lang: str) -> str:
    """Remove spoken fillers and repeated spaces."""
    out = _FILLER_ZH.sub("", text) if lang == "zh" else _FILLER_EN.sub("", text)
    out = re.sub(r"\s+", " ", out)
    out = re.sub(r" ?n't\b", "n't", re.sub(r"\s+([,.?!;:])", r"\1", out))
    out = re.sub(r"^[,.\s]+|(?<=[,.])[,.\s]*(?=[,.])", "", out).strip(" ,，")
    return out[:1].upper() + out[1:] if out else out


def _score(turn: Turn, section: Section, lang: str) -> float:
    low = turn.text.lower()
    score = sum(1.0 for k in section.keywords if k in low)
    for m in find_concepts(turn.text, lang):
        if any(section.id.startswith(s) for s in _KIND_BONUS.get(m.kind, ())):
            score += 1.5
    doctorish = any(section.id.startswith(s) for s in _DOCTOR_SECTIONS)
    if (turn.role == "doctor") != doctorish:
        score *= 0.4
    n = len(turn.text.split()) if lang != "zh" else len(turn.text) / 2
    if n < 4:
        score *= 0.3
    return score


def extract_sections(transcript: Transcript, template: Template, per_section: int = 3) -> dict[str, str]:
    """Choose up to ``per_section`` turns for each section (each turn used once)."""
    lang = transcript.lang
    # Each turn goes to the section it fits best; each section keeps its top turns.
    chosen: dict[str, list[tuple[float, int, Turn]]] = {s.id: [] for s in template.sections}
    for i, turn in enumerate(transcript.turns):
        scores = [(_score(turn, sec, lang), sec.id) for sec in template.sections]
        best, sec_id = max(scores, key=lambda x: x[0])
        if best >= (1.0 if len(template.sections) > 1 else 0.3):
            chosen[sec_id].append((best, i, turn))
    out: dict[str, str] = {}
    for section in template.sections:
        picked = sorted(sorted(chosen[section.id], key=lambda x: (-x[0], x[1]))[:per_section], key=lambda x: x[1])
        sentences = []
        for _, _, turn in picked:
            text = strip_fillers(turn.text, lang)
            if not text:
                continue
            who = {"doctor": "医生", "patient": "患者"}.get(turn.role, "家属") if lang == "zh" else \
                {"doctor": "Doctor", "patient": "Patient"}.get(turn.role, "Companion")
            verb = "：" if lang == "zh" else " reports: " if turn.role != "doctor" else " states: "
            end = "" if text.endswith(("。", ".", "！", "？", "?", "!")) else ("。" if lang == "zh" else ".")
            sentences.append(f"{who}{verb}{text}{end}")
        out[section.id] = " ".join(sentences) if lang != "zh" else "".join(sentences)
    return out
