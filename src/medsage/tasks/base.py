"""The task interface: load samples, build prompts, score outputs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

from medsage.models.base import Model
from medsage.types import CaseState, Message, Sample, Score


class Scorer(Protocol):
    """What scores one answered case: :meth:`Task.score`, or a stand-alone function like it."""

    async def __call__(self, state: CaseState, grader: Model | None = None) -> Score:
        """Score ``state.output`` against ``state.sample``."""
        ...


@dataclass
class LoadResult:
    """Samples read from a source plus the rows that were skipped.

    ``problems`` holds one ``"file:line: reason"`` string per skipped row; ``note`` says
    which part of the source was selected when it was not all of it.
    """

    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    note: str = ""


class Task(ABC):
    """A benchmark.

    Subclass it and register an instance (or factory) in :data:`medsage.registry.tasks`.

    Attributes:
        name: Registry name, e.g. ``medqa_us``.
        description: One line for ``medsage list``.
        metric: ``accuracy`` (per-sample 0/1) or ``mean`` (per-sample fraction).
        citation: The source paper/data, shown in reports.
        default_data: Where the data usually lives, relative to a data root (docs only).
        needs_grader: Whether :meth:`score` uses a grader model.
    """

    name: str = ""
    description: str = ""
    metric: str = "accuracy"
    citation: str = ""
    default_data: str | None = None
    needs_grader: bool = False
    modes: tuple[str, ...] = ("generate",)

    @abstractmethod
    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """Read samples from ``data`` (a local path); raise DataError if unusable."""

    @abstractmethod
    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """The chat messages to send for ``sample``."""

    async def solve(self, state: CaseState, solver: Model) -> CaseState:
        """Answer one case with ``solver`` (a model or a pipeline).

        The runner passes the sample without its answer.

        A pipeline runs the whole case, a bare model answers the task's messages. A task
        with its own procedure (a simulated-patient interview) overrides this.
        """
        run = getattr(solver, "run", None)
        if run is not None:
            result: CaseState = await run(state)
            return result
        return state.evolve(output=await solver.generate(list(state.messages), state.config))

    @abstractmethod
    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Score ``state.output`` against ``state.sample`` (a :class:`Scorer`)."""
