"""AgentClinic simulated-patient diagnosis (``agentclinic``).

Each sample is one OSCE case (MIT-licensed AgentClinic data, read from the
path given with ``--data``). With ``--pipeline consult`` or ``--pipeline route``
the doctor interviews a simulated patient and orders tests within a turn budget
(``-P turns=N``; see :mod:`medsage.tasks.simulated_patient`). A bare model gets the
whole case file at once and names the diagnosis (the static, full-information
setting). Scoring: exact or fuzzy match of the committed diagnosis against the
case's ``Correct_Diagnosis``, or a grader model's yes/no when ``--grader`` is given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.models.base import Model
from medsage.pipeline import Interactive
from medsage.tasks.base import LoadResult, Task
from medsage.tasks.simulated_patient import (
    DIAGNOSIS_RE,
    NO_DIAGNOSIS,
    flatten,
    load_cases,
    run_osce,
)
from medsage.types import CaseState, GenerateConfig, Message, Sample, Score

GRADER_PROMPT = (
    "Here is the correct diagnosis: {target}\nHere was the doctor's diagnosis: {answer}\n"
    "Are these the same disease? Respond only with Yes or No."
)


# "the most likely diagnosis (for the patient …) is X." / "诊断为X" — prose replies without the marker
_PROSE_DX_RE = re.compile(
    r"(?:most\s+likely|probable|final|working)\s+diagnosis\b[^.\n:]{0,120}?\b(?:is|would\s+be|:)\s+"
    r"(?:likely\s+)?(?:to\s+be\s+)?(?:an?\s+|the\s+)?[\"“']?(?P<dx>[^.\n\"”;(]{2,120})",
    re.IGNORECASE)
_PROSE_DX_ZH_RE = re.compile(r"(?:最可能的|初步|最终)?诊断(?:为|是|考虑)[:：]?\s*(?P<dx>[^。；，,\n]{2,40})")


def extract_diagnosis(text: str) -> str | None:
    """The diagnosis a reply commits to.

    In order: the text after ``DIAGNOSIS READY:``; a prose statement such as "the most
    likely diagnosis for this patient is X" (or 诊断为X); else the reply's first line.
    """
    if not text or not text.strip() or text.strip() == NO_DIAGNOSIS:
        return None
    m = DIAGNOSIS_RE.search(text)
    if m:
        line = m.group(1)
    else:
        prose = _PROSE_DX_RE.search(text) or _PROSE_DX_ZH_RE.search(text)
        line = prose.group("dx") if prose else text.strip().splitlines()[0]
    line = re.sub(r"[\*\[\]]", "", line).strip().rstrip(".。")
    return line or None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def diagnosis_match(answer: str, target: str) -> tuple[bool, str]:
    """Exact or fuzzy agreement of two diagnosis strings, with the rule that decided."""
    from rapidfuzz import fuzz

    a, t = _norm(answer), _norm(target)
    if not a or not t:
        return False, "empty"
    if a == t:
        return True, "exact"
    numbers = re.compile(r"\b(?:\d+|i{1,3}|iv|v|vi{0,3})\b")
    if set(numbers.findall(a)) != set(numbers.findall(t)):
        return False, "different type/number"
    if re.search(rf"\b{re.escape(t)}\b", a) and len(a) <= 3 * len(t) + 20:
        return True, "contains"
    if fuzz.token_set_ratio(a, t) >= 90 and fuzz.ratio(a, t) >= 70:
        return True, "fuzzy"
    return False, "no match"


class AgentClinicTask(Task):
    """Simulated-patient diagnosis on AgentClinic OSCE cases."""

    name = "agentclinic"
    description = "AgentClinic-MedQA simulated-patient diagnosis (doctor/patient/measurement agents)"
    metric = "accuracy"
    citation = "Schmidgall et al. 2024, AgentClinic (MIT)"
    default_data = "exams/agentclinic_medqa.jsonl"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """The OSCE cases of an AgentClinic JSONL file (``--data`` is required)."""
        if not data:
            raise DataError("agentclinic needs --data PATH (an AgentClinic *.jsonl file)")
        path = Path(data)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read ({exc})") from exc
        result = LoadResult()
        for i, (loc, osce) in enumerate(load_cases(text, str(path))):
            target = str((osce or {}).get("Correct_Diagnosis", "")).strip()
            if osce is None or not target:
                result.problems.append(f"{loc}: not an OSCE case with a Correct_Diagnosis")
                continue
            objective = str(osce.get("Objective_for_Doctor", "")).strip()
            result.samples.append(Sample(str(i), objective or "Diagnose the patient.", target=target,
                                         metadata={"osce": osce, "language": "en", "source": loc}))
        if not result.samples:
            raise DataError(f"{path}: no usable AgentClinic cases")
        return result

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """The whole case file (no diagnosis) in one prompt, for a one-shot diagnosis."""
        osce = sample.metadata.get("osce", {})
        case = {k: v for k, v in osce.items() if k != "Correct_Diagnosis"}
        body = "\n".join(f"{p.replace('_', ' ')}: {v}" for p, v in flatten(case))
        return [Message("system", "You are a physician. Decision support only."),
                Message("user", f"Case file:\n{body}\n\nWhat is the most likely diagnosis? "
                                "Reply 'DIAGNOSIS READY: <diagnosis>'.")]

    async def solve(self, state: CaseState, solver: Model) -> CaseState:
        """The simulated interview with an interactive pipeline; else the whole case file at once."""
        if isinstance(solver, Interactive):
            return await solver.encounter(state, run_osce)
        return await super().solve(state, solver)

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Match the committed diagnosis to the target, by the grader when given else by rules."""
        text = state.output.text if state.output else ""
        answer = extract_diagnosis(text)
        target = state.sample.target
        if answer is None:
            return Score(0.0, None, target, "no diagnosis committed")
        if grader is not None:
            out = await grader.generate([Message("user", GRADER_PROMPT.format(target=target, answer=answer))],
                                        GenerateConfig(max_tokens=5, temperature=0.0))
            verdict = (out.text or "").strip().lower()
            if not out.error and verdict[:3] in ("yes", "no"):
                ok = verdict.startswith("yes")
                return Score(float(ok), answer, target, f"grader: {verdict[:20]}", {"match": "grader"})
        ok, rule = diagnosis_match(answer, target)
        return Score(float(ok), answer, target, rule, {"match": rule})


TASK = AgentClinicTask()
