"""Safety integration (present, absent, failing) and the route pipeline."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

import pytest

from medsage.models.base import get_model
from medsage.pipeline import get_pipeline
from medsage.types import Finding

from .conftest import COMPLEX_CASE, mcq_state, open_state


def _fake_safety(monkeypatch: pytest.MonkeyPatch, check: Any) -> None:
    mod = types.ModuleType("medsage.safety")
    mod.__spec__ = importlib.machinery.ModuleSpec("medsage.safety", None)
    mod.check = check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "medsage.safety", mod)


class _Report:
    def __init__(self, blocked: bool) -> None:
        self.blocked = blocked
        self.findings = [Finding("dose", "high", "dose too high", action="block" if blocked else "warn")]

    def to_dict(self) -> dict[str, Any]:
        return {"blocked": self.blocked, "findings": [f.__dict__ for f in self.findings]}


async def test_blocked_plan_is_withheld(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the plan names the overdose; the case text itself (checked too since #23) is clean
    _fake_safety(monkeypatch, lambda text, context=None, lang="auto", **kw: _Report("paracetamol" in text))
    out = await get_pipeline("consult", get_model("mock/fixed", {"text": "Give 50 g paracetamol."})).run(
        open_state("A 30-year-old woman with fever 38.5 °C and sore throat."))
    assert out.output is not None and out.output.text.startswith("[withheld by the safety check")
    assert out.findings and out.findings[0].type == "dose"
    assert out.trace[-1]["blocked"] is True


async def test_failing_safety_check_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str, context: Any = None, lang: str = "auto") -> Any:
        raise RuntimeError("rules missing")

    _fake_safety(monkeypatch, boom)
    out = await get_pipeline("consult", get_model("mock/fixed", {"text": "Rest."})).run(
        open_state("A 30-year-old woman with fever 38.5 °C and sore throat."))
    assert out.findings[0].type == "safety_error" and "withheld" in (out.output.text if out.output else "")


async def test_route_sends_knowledge_question_to_single_agent(script_model) -> None:
    model = script_model([{"contains": "", "response": "The answer is B."}])
    state = mcq_state("Which vitamin deficiency causes scurvy?", {"A": "Vitamin A", "B": "Vitamin C"})
    out = await get_pipeline("route", model, {}).run(state)
    assert out.trace[0]["agent"] == "router" and out.trace[0]["decision"] == "single"
    assert model.calls == 1 and out.output is not None and out.output.text == "The answer is B."
    assert out.output.extras["route"]["route"] == "single"


async def test_route_sends_complex_case_to_mdt(script_model) -> None:
    out = await get_pipeline("route", get_model("mock/random"), {}).run(mcq_state(COMPLEX_CASE))
    assert out.trace[0]["decision"] == "mdt" and "score" in out.trace[0]["reason"]
    recruit = next(e for e in out.trace if e.get("role") == "recruitment")
    assert recruit["mode"] == "mdt" and len(recruit["specialists"]) == 5
    assert out.output is not None and out.output.text.startswith("The answer is")


async def test_route_non_medical_query_goes_single(monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.pipelines import route as route_mod

    monkeypatch.setattr(route_mod.RoutePipeline, "_intent",
                        lambda self, text: {"label": "other", "confidence": 0.9, "medical": False})
    pipe = get_pipeline("route", get_model("mock/echo"), {"panel_at": 1, "mdt_at": 1})
    out = await pipe.run(open_state("A 30-year-old man presents asking about the football score."))
    assert out.trace[0]["decision"] == "single" and out.trace[0]["reason"].startswith("not a health question")
