"""Speaker-role inference for transcripts with missing, generic or swapped tags.

Each turn gets a doctor-likeness score from surface cues (questions, second
person, examination and plan language versus first-person symptom reports).
Speakers are then assigned roles as a whole, which is robust to single noisy
turns: generic labels (``Speaker 1``) are mapped by score, an unlabelled
transcript is assumed to alternate and the better-scoring phase is chosen, and
labelled doctor/patient roles are swapped when the evidence is clearly
reversed. Every decision is recorded as a transcript warning.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace

from medsage.notes.transcript import Transcript, Turn

_DOC_EN = re.compile(
    r"\b(how long|how often|how many|how much|do you|did you|have you|are you|can you|any (?:fever|pain|"
    r"history|allergies|chest|shortness|nausea)|tell me|i'?m going to|i'?ll|i will|we'?ll|let'?s|"
    r"i want you to|i'?d like (?:you|to)|prescribe|recommend|exam(?:ine|ination)?|take a deep breath|"
    r"on (?:your )?exam|your (?:blood|x-?ray|labs?|results?|heart|lungs)|follow ?up|refer|"
    r"diagnos\w*|assessment|plan|milligrams?|mg\b|does it|is it|where is|when did)\b"
)
_PAT_EN = re.compile(
    r"\b(i have|i'?ve been|i'?ve had|i feel|i felt|i get|i got|it hurts|my (?:pain|back|chest|"
    r"head|stomach|knee|wife|husband|mom|doctor)|i was|i think i|i can'?t|doctor|doc\b|thank you)\b"
)
_DOC_ZH = re.compile(r"(您|你(?!们家)|多久|多长时间|有没有|是否|建议|检查一下|需要做|考虑|诊断|开(?:点|些)?药|"
                     r"复查|注意|一般|可以(?:吃|服|用)|服用|每日|每天.次|治疗)")
_PAT_ZH = re.compile(r"(我|医生|大夫|谢谢|怎么办|严重吗|能治|请问)")


def doctor_score(text: str) -> float:
    """How doctor-like one utterance reads (positive) versus patient-like (negative)."""
    low = text.lower()
    score = 0.6 * low.count("?") + 0.6 * low.count("？")
    score += len(_DOC_EN.findall(low)) + len(_DOC_ZH.findall(text))
    score -= len(_PAT_EN.findall(low)) + len(_PAT_ZH.findall(text))
    if re.search(r"\b(you|your)\b", low):
        score += 0.5
    return score


def infer_roles(transcript: Transcript) -> Transcript:
    """Return ``transcript`` with roles inferred or corrected (see module docstring)."""
    turns = list(transcript.turns)
    speakers = {t.speaker for t in turns}
    roles = {t.role for t in turns}
    if speakers == {""}:
        return _alternate(transcript)
    if "unknown" in roles:
        transcript = _assign_generic(transcript)
    return _check_swap(transcript)


def _speaker_scores(turns: list[Turn], key: str = "speaker") -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for t in turns:
        k = getattr(t, key)
        total[k] += doctor_score(t.text)
        count[k] += 1
    return {k: total[k] / count[k] for k in total}


def _alternate(transcript: Transcript) -> Transcript:
    turns = list(transcript.turns)
    if len(turns) == 1:
        return replace(transcript, turns=(replace(turns[0], role="patient"),)).with_warning(
            "no speaker labels and a single turn: treated as the patient's account")
    phase_score = [sum(doctor_score(t.text) * (1 if (i % 2 == p) else -1) for i, t in enumerate(turns))
                   for p in (0, 1)]
    first_doc = 0 if phase_score[0] >= phase_score[1] else 1
    new = tuple(replace(t, role="doctor" if i % 2 == first_doc else "patient") for i, t in enumerate(turns))
    return replace(transcript, turns=new).with_warning(
        "no speaker labels: roles inferred assuming doctor and patient alternate "
        f"(doctor speaks {'first' if first_doc == 0 else 'second'}); check the speaker assignment")


def _assign_generic(transcript: Transcript) -> Transcript:
    turns = list(transcript.turns)
    unknown = [t for t in turns if t.role == "unknown"]
    scores = _speaker_scores(unknown)
    known_roles = {t.role for t in turns if t.role != "unknown"}
    mapping: dict[str, str] = {}
    ranked = sorted(scores, key=lambda s: -scores[s])
    counts = {s: sum(1 for t in unknown if t.speaker == s) for s in scores}
    if "doctor" not in known_roles and ranked:
        mapping[ranked[0]] = "doctor"
    rest = [s for s in ranked if s not in mapping]
    if "patient" not in known_roles and rest:
        mapping[max(rest, key=lambda s: counts[s])] = "patient"
    for s in ranked:
        mapping.setdefault(s, "other")
    new = tuple(replace(t, role=mapping.get(t.speaker, t.role)) if t.role == "unknown" else t for t in turns)
    desc = ", ".join(f"{s or '(none)'}→{r}" for s, r in mapping.items())
    return replace(transcript, turns=new).with_warning(f"speaker roles inferred from content: {desc}")


def _check_swap(transcript: Transcript, margin: float = 0.5) -> Transcript:
    turns = list(transcript.turns)
    scores = _speaker_scores(turns, key="role")
    doc, pat = scores.get("doctor"), scores.get("patient")
    if doc is None or pat is None:
        return transcript
    n_doc = sum(1 for t in turns if t.role == "doctor")
    n_pat = sum(1 for t in turns if t.role == "patient")
    if min(n_doc, n_pat) >= 3 and pat - doc > margin:
        swap = {"doctor": "patient", "patient": "doctor"}
        new = tuple(replace(t, role=swap.get(t.role, t.role)) for t in turns)
        return replace(transcript, turns=new).with_warning(
            f"doctor and patient tags look swapped (doctor-likeness {doc:.2f} vs {pat:.2f}); "
            "roles exchanged")
    return transcript
