"""The ``safety`` pipeline: the base model wrapped in medsage's safety layer.

Per case:

1. The question is checked first (harmful-request policy, red-flag triage,
   patient context). A harmful request is refused with a safe alternative and a
   self-harm request gets crisis support — the model is not called.
2. The base model answers.
3. The draft answer is checked together with the question and the context
   (medications, interactions, doses, allergies, pregnancy/lactation, renal/hepatic).
   Blocking findings withhold the draft (kept in ``extras["withheld_draft"]``) and
   the user gets the findings instead; warnings are appended as safety notes.
4. Emergency red flags put emergency guidance before the answer.

Findings go to ``CaseState.findings`` and ``ModelOutput.extras["findings"]``.

Options (``-P key=value``): ``context`` (path to a patient-context JSON),
``ddinter`` (path to a local DDInter copy), ``on_block`` (``withhold`` (default) or
``annotate``: keep the draft and put the blocking findings first),
``notes`` (true: append warnings), ``triage`` (true).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from medsage.lang import detect_language
from medsage.models.base import Model
from medsage.pipeline import Pipeline
from medsage.safety import check
from medsage.safety._common import finding_to_dict, msg
from medsage.safety.carry import safety_block
from medsage.safety.context import PatientContext
from medsage.safety.triage import emergency_guidance
from medsage.types import CaseState, Finding, ModelOutput

_TRUE = {"1", "true", "yes", "on"}


class SafetyPipeline(Pipeline):
    """Base model + deterministic safety checks before and after the answer."""

    pipeline_name = "safety"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        ctx_path = self.options.get("context")
        self.context = PatientContext.from_json_file(str(ctx_path)) if ctx_path else None
        self.ddinter = str(self.options["ddinter"]) if self.options.get("ddinter") else None
        self.on_block = str(self.options.get("on_block", "withhold"))
        self.notes = str(self.options.get("notes", "true")).lower() in _TRUE
        self.use_triage = str(self.options.get("triage", "true")).lower() in _TRUE

    def _context(self, state: CaseState) -> PatientContext | dict[str, Any] | None:
        meta_ctx = state.sample.metadata.get("patient_context") if state.sample.metadata else None
        return meta_ctx if meta_ctx is not None else self.context

    async def run(self, state: CaseState) -> CaseState:
        """Check the question, ask the model, check its draft, and withhold or annotate it.

        A refused request is answered without the model; a failed draft shows no unchecked
        text. The findings of both checks go to ``state.findings`` and the output's ``extras``.
        """
        start = time.perf_counter()
        question = state.sample.question or next(
            (m.content for m in reversed(state.messages) if m.role == "user"), "")
        lang = detect_language(question)
        context = self._context(state)
        pre = check(question, context, lang=lang, ddinter=self.ddinter, run_triage=self.use_triage)
        trace: list[dict[str, Any]] = [{"stage": "safety_pre", "blocked": pre.blocked,
                                        "urgency": pre.urgency, "findings": len(pre.findings)}]
        # 1. harmful request / self-harm: answer without the model
        if pre.policy is not None and pre.policy.refused:
            findings = tuple(pre.findings)
            out = ModelOutput(text=pre.policy.response, model=self.name,
                              latency_s=time.perf_counter() - start,
                              extras={"findings": [finding_to_dict(f) for f in findings],
                                      "input_safety": safety_block(pre),
                                      "safety": {"decision": pre.policy.decision, "category": pre.policy.category,
                                                 "model_called": False}})
            return state.evolve(output=out, findings=state.findings + findings,
                                trace=state.trace + tuple(trace))
        # 2. the model's draft
        draft = await self.model.generate(list(state.messages), state.config)
        if draft.error:
            text = msg(lang, "The model failed to answer; no unchecked content is shown.",
                       "模型未能作答；不显示未经检查的内容。")
            guidance = pre.triage.guidance if pre.triage and pre.triage.is_emergency else ""
            out = replace(draft, text="\n\n".join(t for t in (guidance, text) if t), model=self.name,
                          extras={**draft.extras, "findings": [finding_to_dict(f) for f in pre.findings],
                                  "input_safety": safety_block(pre)})
            return state.evolve(output=out, findings=state.findings + tuple(pre.findings),
                                trace=state.trace + tuple(trace))
        # 3. check the draft with the question (drugs named in either) and the context
        combined = f"{question}\n\n{draft.text}"
        post = check(combined, context, lang=lang, ddinter=self.ddinter, run_triage=False, run_policy=False)
        offset = len(question) + 2
        known = {m.drug_id for m in pre.medications}
        answer_findings = [_user_raised(_shift(f, offset), known) for f in post.findings]
        trace.append({"stage": "safety_post", "blocked": post.blocked, "findings": len(post.findings)})
        answer_findings += await self._attributed_doses(question, draft.text, pre, post, context, lang)
        # the question's own findings keep the action `medsage safety check` gives them; a drug
        # pair the user named only downgrades the *answer's* finding (the draft is not withheld)
        all_findings = _merge(list(pre.findings), answer_findings)
        blocking = [f for f in answer_findings if f.action == "block"]
        warnings = [f for f in answer_findings if f.action == "warn"]
        parts: list[str] = []
        kinds: set[str] = set()
        if pre.triage is not None and pre.triage.is_emergency:
            kinds = {str(f.data.get("guidance", "emergency")) for f in pre.triage.findings
                     if f.data.get("level") == "emergency"}
            parts.append(emergency_guidance(lang, kinds))
        extras = dict(draft.extras)
        if blocking and self.on_block != "annotate":
            parts.append(msg(lang, "The draft answer was withheld by the safety check:",
                             "安全检查拦截了草拟的回答："))
            parts.append(_bullets(blocking))
            parts.append(msg(lang, "Please review these issues with a clinician or pharmacist before acting.",
                             "请在采取行动前与医生或药师核实上述问题。"))
            extras["withheld_draft"] = draft.text
        else:
            if blocking:
                parts.append(msg(lang, "⚠ Safety check — must be resolved before acting:", "⚠ 安全检查——采取行动前必须处理：")
                             + "\n" + _bullets(blocking))
            parts.append(draft.text)
            if warnings and self.notes:
                parts.append(msg(lang, "Safety notes:", "安全提示：") + "\n" + _bullets(warnings))
        extras["findings"] = [finding_to_dict(f) for f in all_findings]
        extras["input_safety"] = safety_block(pre)
        extras["safety"] = {"blocked": bool(blocking), "urgency": pre.urgency, "model_called": True,
                            "withheld": bool(blocking) and self.on_block != "annotate"}
        out = replace(draft, text="\n\n".join(p for p in parts if p), model=self.name,
                      latency_s=draft.latency_s or (time.perf_counter() - start), extras=extras)
        return state.evolve(output=out, findings=state.findings + tuple(all_findings),
                            trace=state.trace + tuple(trace))


    async def _attributed_doses(self, question: str, answer: str, pre: Any, post: Any, context: Any,
                                lang: str) -> list[Finding]:
        """Read a dose without a drug as the dose of the one drug the question asked about.

        For example "What's the dose of acetaminophen?" answered with "2000 mg q4h".
        """
        drugs = {m.drug_id: m for m in pre.medications if m.source == "text"}
        offset = len(question) + 2
        in_answer = [m for m in post.medications if m.span and m.span[0] >= offset]
        if len(drugs) != 1 or in_answer:
            return []
        med = next(iter(drugs.values()))
        prefix = f"{med.name}: "
        sub = check(prefix + answer, context, lang=lang, run_triage=False, run_policy=False)
        out = []
        for f in sub.findings:
            if f.type in ("dose", "pediatric") and f.data.get("drug") == med.drug_id:
                span = (f.span[0] - len(prefix), f.span[1] - len(prefix)) if f.span and f.span[0] >= len(prefix) else None
                out.append(replace(f, span=span, data={**f.data, "in": "answer", "attributed": True}))
        return out


def _shift(f: Finding, offset: int) -> Finding:
    """Spans of the combined text -> spans of the answer (question spans become None)."""
    if f.span is None:
        return f
    start, end = f.span
    if start < offset:
        return replace(f, span=None, data={**f.data, "in": "question"})
    return replace(f, span=(start - offset, end - offset), data={**f.data, "in": "answer"})


def _user_raised(f: Finding, known: set[str]) -> Finding:
    """Whether a blocking finding about drugs the user named becomes a warning.

    A block about drugs the user already named (question/context) is a warning on the answer,
    not a reason to withhold it, unless the answer itself states the offending dose.
    """
    if f.action != "block":
        return f
    drugs = f.data.get("drugs") or ([f.data["drug"]] if f.data.get("drug") else [])
    if not drugs or not set(drugs) <= known:
        return f
    if f.type == "dose" and f.data.get("in") == "answer":
        return f
    return replace(f, action="warn", data={**f.data, "raised_by_user": True})


def _merge(first: list[Finding], second: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in list(first) + list(second):
        key = (f.type, f.message)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def _bullets(findings: list[Finding]) -> str:
    return "\n".join(f"- [{f.severity}] {f.message}" + (f" ({f.evidence.split(' | ')[0]})" if f.evidence else "")
                     for f in findings)
