"""The shared vocabulary of medsage.

Data flows one way: a task yields :class:`Sample` objects, a pipeline (or a bare
model) turns each into a :class:`CaseState` carrying a :class:`ModelOutput`, the
task's scorer (:class:`medsage.tasks.base.Scorer`) turns that state into a
:class:`Score`, and the report aggregates the scores. Everything here is plain, typed data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
DISCLAIMER = "Decision support for clinicians — not a diagnosis; verify before acting."


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        """The OpenAI chat form ``{role, content}``."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Sample:
    """One benchmark item.

    Attributes:
        id: The source's own id where it has one, else the zero-based row number.
        question: The question text (stem), without the options.
        choices: Option letter -> option text, in display order. Empty for open questions.
        target: The correct option letter (or reference answer for open tasks).
        metadata: language, discipline, tier, year, question_type, source file/line …
    """

    id: str
    question: str
    choices: dict[str, str] = field(default_factory=dict)
    target: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The sample's language code from its metadata (``en`` when unset)."""
        return str(self.metadata.get("language", "en"))


@dataclass(frozen=True)
class GenerateConfig:
    """Generation parameters; part of the cache key."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    top_logprobs: int | None = None  # ask for the first token's top-k log-probabilities

    def to_dict(self) -> dict[str, Any]:
        """All parameters, tuples as lists (JSON-ready, part of the cache key)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Usage:
    """Token counts of one or more model calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ModelOutput:
    """What a model (or a pipeline) returned for one request.

    ``top_logprobs`` holds the first generated token's alternatives
    (token text -> log-probability) when the config asked for them.
    ``error`` is set instead of raising when the call failed for this sample.
    """

    text: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    top_logprobs: dict[str, float] | None = None
    latency_s: float = 0.0
    error: str | None = None
    cached: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """A numbered reference from an answer to a retrieved source chunk."""

    n: int
    doc_id: str
    title: str = ""
    url: str = ""
    snippet: str = ""
    source: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class Finding:
    """A structured safety finding.

    Attributes:
        type: e.g. ``interaction``, ``dose``, ``allergy``, ``unknown_drug``, ``red_flag``, ``phi``.
        severity: ``info`` | ``low`` | ``moderate`` | ``high`` | ``critical``.
        message: Human-readable, in the text's language.
        evidence: The rule's source (list, label, guideline).
        span: (start, end) character offsets in the checked text, if any.
        action: ``block`` | ``warn`` | ``annotate``.
    """

    type: str
    severity: str
    message: str
    evidence: str = ""
    span: tuple[int, int] | None = None
    action: str = "warn"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    """A scorer's verdict on one output.

    ``value`` is 1.0/0.0 for exam items, a fraction for rubric tasks.
    ``answer`` is what was extracted from the output; ``None`` means unparsed.
    """

    value: float
    answer: str | None = None
    target: str = ""
    explanation: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseState:
    """The state a pipeline stage receives and returns (never mutated in place)."""

    sample: Sample
    messages: tuple[Message, ...]
    config: GenerateConfig = field(default_factory=GenerateConfig)
    output: ModelOutput | None = None
    citations: tuple[Citation, ...] = ()
    findings: tuple[Finding, ...] = ()
    trace: tuple[dict[str, Any], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> CaseState:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)


class Generator(Protocol):
    """Anything that answers chat messages: a model or a pipeline."""

    name: str

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """Answer ``messages``."""
        ...

