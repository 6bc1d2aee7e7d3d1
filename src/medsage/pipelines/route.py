"""Routed answering: one agent, a specialist panel or a full MDT per question.

Registered as pipeline ``route``. The complexity rules of
:mod:`medsage.route.complexity` pick the path; the decision, its reason and the
measured features go first in the trace. Options:

* ``panel_at`` / ``mdt_at``: complexity-score thresholds (default 3 / 6).
* ``intent``: ``auto`` (default: classify open questions, not exam items),
  ``on`` or ``off``; ``intent_model``: a directory from ``medsage route train``
  (default: the shipped seed model). A query classified as not medical is
  answered by the single agent, and the trace says so.
* Any :class:`~medsage.pipelines.consult.ConsultPipeline` option (``kb``,
  ``max_tokens``, ``agent_timeout``, ``moderator`` …) is passed to the panel and
  the MDT; ``panel_rounds``/``mdt_rounds`` override their discussion rounds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from medsage.errors import SpecError
from medsage.models.base import Model
from medsage.pipeline import Pipeline, Procedure
from medsage.pipelines.consult import ConsultPipeline, read_case
from medsage.route.complexity import ComplexityDecision, assess_complexity
from medsage.types import CaseState, ModelOutput

log = logging.getLogger(__name__)
_CONSULT_KEYS = ("kb", "kb_k", "max_tokens", "agent_timeout", "moderator", "concurrency", "safety", "turns")


class RoutePipeline(Pipeline):
    """Pick single / panel / MDT per question and record why.

    Args:
        model: The base model (the single agent, and every consult agent).
        options: See the module docstring.
    """

    pipeline_name = "route"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        self.panel_at = int(self.options.get("panel_at", 3))
        self.mdt_at = int(self.options.get("mdt_at", 6))
        if not 0 < self.panel_at <= self.mdt_at:
            raise SpecError(f"route thresholds need 0 < panel_at ≤ mdt_at, got {self.panel_at}, {self.mdt_at}")
        self.intent = str(self.options.get("intent", "auto"))
        if self.intent not in ("auto", "on", "off"):
            raise SpecError(f"route option intent must be auto, on or off, got '{self.intent}'")
        shared = {k: self.options[k] for k in _CONSULT_KEYS if k in self.options}
        panel = {**shared, "mode": "panel"}
        mdt = {**shared, "mode": "mdt"}
        if "panel_rounds" in self.options:
            panel["rounds"] = self.options["panel_rounds"]
        if "mdt_rounds" in self.options:
            mdt["rounds"] = self.options["mdt_rounds"]
        self.panel = ConsultPipeline(model, panel)
        self.mdt = ConsultPipeline(model, mdt)

    def decide(self, state: CaseState, interactive: bool = False) -> tuple[ComplexityDecision, dict[str, Any]]:
        """The routing decision for ``state`` and its trace entry.

        ``interactive``: the case is a task's own procedure (a simulated interview), whose
        intent is known; with ``intent=auto`` it is not classified.
        """
        case = read_case(state)
        text = case.question + "\n" + "\n".join(case.choices.values())
        decision = assess_complexity(text, panel_at=self.panel_at, mdt_at=self.mdt_at)
        entry: dict[str, Any] = {"round": 0, "agent": "router", "role": "router", "decision": decision.route,
                                 "level": decision.level, "score": decision.score, "reason": decision.reason,
                                 "features": decision.features, "content": decision.reason}
        if self.intent == "on" or (self.intent == "auto" and not case.choices and not interactive):
            entry["intent"] = self._intent(case.question)
            if entry["intent"].get("medical") is False and decision.route != "single":
                decision = replace(decision, route="single", reason="not a health question: " + decision.reason)
                entry.update(decision="single", reason=decision.reason, content=decision.reason)
        return decision, entry

    def _intent(self, text: str) -> dict[str, Any]:
        from medsage.route.intent import IntentClassifier, default_classifier

        try:
            path = self.options.get("intent_model")
            clf = IntentClassifier.load(path) if path else default_classifier()
            pred = clf.classify(text[:1000])
        except Exception as exc:  # intent is advisory: routing goes on without it
            log.warning("intent classification failed: %s", exc)
            return {"error": str(exc)}
        return {"label": pred.label, "confidence": round(pred.confidence, 4), "medical": pred.is_medical}

    async def run(self, state: CaseState) -> CaseState:
        """Route the case to a single answer, a panel or an MDT and run that."""
        return await self._routed(state, None)

    async def encounter(self, state: CaseState, procedure: Procedure) -> CaseState:
        """Run a task's procedure with the team the complexity rules pick (none: a lone doctor)."""
        return await self._routed(state, procedure)

    async def _routed(self, state: CaseState, procedure: Procedure | None) -> CaseState:
        start = time.perf_counter()
        decision, entry = self.decide(state, interactive=procedure is not None)
        trace = [*state.trace, entry]
        team = {"panel": self.panel, "mdt": self.mdt}.get(decision.route)
        if procedure is not None:
            options = team.options if team is not None else self.options
            out_state = await procedure(state.evolve(trace=tuple(trace)), team, self.model, options)
        elif team is not None:
            out_state = await team.consult(state, trace=trace)
        else:
            out_state = await self._single(state, trace)
        output = out_state.output or ModelOutput(model=self.name, error="route produced no output")
        extras = {**output.extras, "route": decision.to_dict(), "trace": list(out_state.trace)}
        output = replace(output, model=self.name, extras=extras,
                         latency_s=output.latency_s or time.perf_counter() - start)
        return out_state.evolve(output=output)

    async def _single(self, state: CaseState, trace: list[dict[str, Any]]) -> CaseState:
        output = await self.model.generate(list(state.messages), state.config)
        trace = [*trace, {"round": 0, "agent": "single", "role": "single", "content": output.text,
                          "usage": {"prompt_tokens": output.usage.prompt_tokens,
                                    "completion_tokens": output.usage.completion_tokens},
                          "latency_s": round(output.latency_s, 3), **({"error": output.error} if output.error else {})}]
        state = state.evolve(output=output, trace=tuple(trace))
        if state.sample.choices:
            return state
        from medsage.safety.carry import carry

        return carry(state)  # the single agent gets the same safety carry-through as the panels
