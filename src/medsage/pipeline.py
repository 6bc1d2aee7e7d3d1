"""Pipelines: procedures around a model, usable wherever a model is.

A pipeline is a :class:`~medsage.models.Model` (so ``bench`` and ``serve`` take
it like any model spec) whose :meth:`Pipeline.run` turns a
:class:`~medsage.types.CaseState` into a new one. Pipelines register in
:data:`medsage.registry.pipelines` as ``name -> factory(model, options)``.

An interactive task (a simulated-patient interview) drives the conversation itself:
it hands its :data:`Procedure` to a pipeline that is :class:`Interactive`, and the
pipeline answers with the team (a :class:`Consultant`, or none) and the doctor model
the procedure should use. Neither side imports the other.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from medsage.models.base import Model, ModelSpec
from medsage.types import CaseState, GenerateConfig, Message, ModelOutput, Sample


class Consultant(Protocol):
    """A specialist team that reviews a case and returns its consensus as the output."""

    @property
    def name(self) -> str:
        """The team's model name (e.g. ``consult-panel:mock/echo``)."""
        ...

    @property
    def mode(self) -> str:
        """``panel`` or ``mdt``."""
        ...

    async def consult(self, state: CaseState, trace: list[dict[str, Any]] | None = None) -> CaseState:
        """Run the consultation on ``state``; ``trace`` entries come first in the new trace."""
        ...


Procedure = Callable[[CaseState, "Consultant | None", Model, dict[str, Any]], Awaitable[CaseState]]
"""A task's own procedure for one case: ``(state, team or None, doctor model, options) -> state``."""


@runtime_checkable
class Interactive(Protocol):
    """A pipeline that can run a task's :data:`Procedure` with its own team."""

    async def encounter(self, state: CaseState, procedure: Procedure) -> CaseState:
        """Run ``procedure`` on ``state`` with this pipeline's team and doctor model."""
        ...


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
        """The pipeline name, its options and the wrapped model's key."""
        return {"pipeline": self.pipeline_name, "options": self.options, "model": self.model.cache_key}

    @abstractmethod
    async def run(self, state: CaseState) -> CaseState:
        """Process one case; must set ``state.output``."""

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """Run ``messages`` as a case; its citations, findings and trace go to ``extras``."""
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
        return replace(output, extras=extras, latency_s=output.latency_s or time.perf_counter() - start)

    async def aclose(self) -> None:
        """Close the wrapped model."""
        await self.model.aclose()


def get_pipeline(name: str, model: Model, options: dict[str, Any] | None = None) -> Pipeline:
    """Build the registered pipeline ``name`` around ``model``."""
    from medsage.registry import pipelines

    factory = pipelines.get(name)
    return factory(model, dict(options or {}))  # type: ignore[no-any-return]
