"""Carry the input's safety findings through every pipeline (issue #23).

``medsage safety check`` on a case text says "Triage: emergency"; a pipeline given the
same text must say so too, with the same findings and the same actions. Every entry point
that answers a user's text (``consult``, ``note``, ``ask``/``rag``, ``domain``,
``serve``'s chat completions) calls :func:`carry` on its input:

* the input is checked exactly as the CLI checks it (:data:`INPUT_CHECK`);
* its findings join ``CaseState.findings`` and ``ModelOutput.extras["findings"]`` with
  their actions unchanged, and ``extras["input_safety"]`` holds the triage level, the
  strongest action and the findings (the same object everywhere);
* the text shown to the user starts with the emergency guidance when the triage level is
  ``emergency`` and with the blocking findings when there are any (``block`` means the
  input must not be acted on as is; the answer is kept, marked, for the clinician).

Exam items (samples with answer options) keep their text unchanged, so scoring is not
affected; their findings are still recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from medsage.lang import detect_language
from medsage.types import CaseState, Finding

#: The arguments ``medsage safety check`` passes to :func:`medsage.safety.check`.
INPUT_CHECK: dict[str, Any] = {"run_triage": True, "run_policy": True}
_ORDER = {"annotate": 0, "warn": 1, "block": 2}


def input_text(state: CaseState) -> str:
    """The user's text of a case: the question, else the last user message."""
    text = str(state.sample.metadata.get("transcript") or state.sample.question or "")
    if text.strip():
        return text
    return next((m.content for m in reversed(state.messages) if m.role == "user"), "")


@dataclass
class _Failed:
    """What a failed or missing check reports: one blocking finding (fail closed)."""

    findings: list[Finding] = field(default_factory=list)
    triage: Any = None
    urgency: str | None = None
    blocked: bool = True


def input_report(text: str, context: Any = None) -> Any:
    """``medsage.safety.check(text)`` as the CLI runs it; a failing check blocks (fails closed)."""
    try:
        from medsage.safety import check

        return check(text, context, **INPUT_CHECK)
    except Exception as exc:  # noqa: BLE001 - fail closed: an unchecked input is never passed silently
        return _Failed([Finding(type="safety_error", severity="high", action="block",
                                message=f"safety check failed: {exc}")])


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as JSON (the fields ``medsage safety check --json`` prints)."""
    return {"type": f.type, "severity": f.severity, "action": f.action, "message": f.message,
            "evidence": f.evidence, "span": list(f.span) if f.span else None, "data": dict(getattr(f, "data", {}) or {})}


def strongest(findings: list[Finding] | list[dict[str, Any]]) -> str | None:
    """The strongest action among ``findings`` (block > warn > annotate), None when there are none."""
    actions = [f["action"] if isinstance(f, dict) else f.action for f in findings]
    return max(actions, key=lambda a: _ORDER.get(a, 0)) if actions else None


def safety_block(report: Any) -> dict[str, Any]:
    """The ``extras["input_safety"]`` object: triage level, strongest action and findings."""
    triage = getattr(report, "triage", None)
    emergency = triage is not None and getattr(triage, "is_emergency", False)
    return {"urgency": getattr(report, "urgency", None), "action": strongest(report.findings),
            "blocked": bool(report.blocked), "findings": [finding_dict(f) for f in report.findings],
            "guidance": str(getattr(triage, "guidance", "") or "") if emergency else ""}


def carry(state: CaseState, text: str | None = None, context: Any = None, mark_text: bool = True) -> CaseState:
    """``state`` with the safety findings of its input carried into the output.

    Args:
        state: A case after the pipeline ran (its ``output`` set, or not).
        text: The input to check (default :func:`input_text`).
        context: A patient context for the check (as ``--patient`` of the CLI).
        mark_text: Put the guidance and blocking findings before the answer text (False for
            outputs whose text is a document scored as such, e.g. a note: they carry the
            findings in ``extras`` and show them in their own rendering).

    Returns:
        The state with findings, ``extras["input_safety"]`` and, for non-exam cases with
        an emergency or a blocking finding, the guidance and findings before the answer.
    """
    text = input_text(state) if text is None else text
    if not text.strip():
        return state
    report = input_report(text, context)
    block = safety_block(report)
    known = {(f.type, f.message) for f in state.findings}
    added = tuple(f for f in report.findings if (f.type, f.message) not in known)
    out = state.output
    if out is None:
        return state.evolve(findings=state.findings + added)
    extras = dict(out.extras)
    merged = _merge([finding_dict(f) for f in report.findings],
                    list(extras.get("findings") or []) + [finding_dict(f) for f in state.findings])
    extras["findings"] = merged
    extras["input_safety"] = block
    new_text = out.text
    if mark_text and not state.sample.choices:
        zh = detect_language(text) == "zh"
        head: list[str] = []
        if block["guidance"] and block["guidance"] not in new_text:
            head.append(block["guidance"])
        blocking = [f for f in report.findings if f.action == "block"]
        if blocking:
            head.append(("⚠ 输入内容安全检查——采取行动前必须处理：" if zh else
                         "⚠ Safety check of the input — must be resolved before acting:") + "\n"
                        + "\n".join(f"- [{f.severity}] {f.message}" for f in blocking))
        if head:
            new_text = "\n\n".join([*head, new_text] if new_text else head)
    output = replace(out, text=new_text, extras=extras)
    return state.evolve(output=output, findings=state.findings + added)


def _merge(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in first + second:
        key = (str(f.get("type")), str(f.get("message")))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
