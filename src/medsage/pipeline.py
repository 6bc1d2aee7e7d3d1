"""Pipelines: chains of stages around a model, usable wherever a model is.

A pipeline is a :class:`~medsage.models.Model` (so ``bench`` and ``serve`` take
it like any model spec) whose :meth:`Pipeline.run` turns a
:class:`~medsage.types.CaseState` into a new one. Pipelines register in
:data:`medsage.registry.pipelines` as ``name -> factory(model, options)``.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from typing import Any

from medsage.models.base import Model, ModelSpec
from medsage.types import CaseState, GenerateConfig, Message, ModelOutput, Sample, Stage


class Pipeline(Model):
    """Base class for medsage pipelines (rag, consult, route, note …).

    Args:
        model: The base model the pipeline calls.
        options: Pipeline options (from ``--pipeline-option key=value`` or config).
    """

    pipeline_name = "pipeline"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(ModelSpec(model.spec.provider, model.spec.model, model.spec.options))
        self.model = model
        self.options = dict(options or {})
        self.name = f"{self.pipeline_name}:{model.name}"
        self.supports_logprobs = False

    @property
    def cache_key(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline_name, "options": self.options, "model": self.model.cache_key}

    @abstractmethod
    async def run(self, state: CaseState) -> CaseState:
        """Process one case; must set ``state.output``."""

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        state = CaseState(sample=Sample(id="-", question=question), messages=tuple(messages), config=config)
        start = time.perf_counter()
        out = await self.run(state)
        output = out.output or ModelOutput(model=self.name, error="pipeline produced no output")
        extras = dict(output.extras)
        if out.citations:
            extras.setdefault("citations", [c.__dict__ for c in out.citations])
        if out.findings:
            extras.setdefault("findings", [f.__dict__ for f in out.findings])
        if out.trace:
            extras.setdefault("trace", list(out.trace))
        from dataclasses import replace

        return replace(output, extras=extras, latency_s=output.latency_s or time.perf_counter() - start)

    async def aclose(self) -> None:
        await self.model.aclose()


def generate_stage(model: Model) -> Stage:
    """A stage that calls ``model`` on the state's messages (the default solver)."""

    async def stage(state: CaseState) -> CaseState:
        output = await model.generate(list(state.messages), state.config)
        return state.evolve(output=output)

    return stage


class Chain(Pipeline):
    """A pipeline that runs a fixed list of stages in order."""

    pipeline_name = "chain"

    def __init__(self, model: Model, stages: list[Stage], options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        self.stages = stages

    async def run(self, state: CaseState) -> CaseState:
        for stage in self.stages:
            state = await stage(state)
        return state


def get_pipeline(name: str, model: Model, options: dict[str, Any] | None = None) -> Pipeline:
    """Build the registered pipeline ``name`` around ``model``."""
    from medsage.registry import pipelines

    factory = pipelines.get(name)
    return factory(model, dict(options or {}))  # type: ignore[no-any-return]
