"""The model interface, spec parsing and option handling shared by all providers."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from medsage.errors import SpecError
from medsage.types import GenerateConfig, Message, ModelOutput

_SPEC_RE = re.compile(r"^(?P<provider>[a-z][a-z0-9_\-]*)/(?P<model>\S.*)$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``provider/model`` string plus ``-M key=value`` options."""

    provider: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_spec(spec: str, options: dict[str, Any] | None = None) -> ModelSpec:
    """Parse ``provider/model`` (e.g. ``openai/gpt-4o``, ``local/smollm2``).

    Raises:
        SpecError: if the string is not of that form.
    """
    m = _SPEC_RE.match(spec.strip()) if spec else None
    if not m or m.group("model").strip() in ("", "/"):
        raise SpecError(
            f"malformed model spec '{spec}': expected provider/model, "
            "e.g. local/smollm2, openai/gpt-4o, hf/Qwen/Qwen2.5-7B-Instruct, mock/echo"
        )
    return ModelSpec(m.group("provider"), m.group("model").strip(), dict(options or {}))


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` into a dict, converting ints, floats and booleans."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"model option '{pair}' is not key=value")
        out[key.strip()] = _coerce(raw.strip())
    return out


def _coerce(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw


def option(options: dict[str, Any], key: str, *env: str, default: Any = None) -> Any:
    """An option from ``-M``, else the first set env var, else ``default``."""
    if options.get(key) is not None:
        return options[key]
    for name in env:
        value = os.environ.get(name)
        if value:
            return _coerce(value)
    return default


class Model(ABC):
    """A chat model. Providers subclass this; pipelines wrap it.

    Subclasses implement :meth:`generate`; they return errors on the output
    (``ModelOutput.error``) for per-sample failures and raise
    :class:`~medsage.errors.ModelError` only for failures no retry can fix.
    """

    supports_logprobs: bool = False
    supports_prefill: bool = False  # continues a final assistant message instead of starting a new one

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = str(spec)

    @property
    def cache_key(self) -> dict[str, Any]:
        """What identifies this model's behaviour in the response cache."""
        return {"spec": self.name, "options": {k: v for k, v in sorted(self.spec.options.items())
                                               if k not in {"api_key", "concurrency", "timeout"}}}

    @abstractmethod
    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """Answer ``messages``."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources (threads, sockets, model memory)."""


def get_model(spec: str | ModelSpec, options: dict[str, Any] | None = None) -> Model:
    """Build a model from a spec string via the provider registry."""
    from medsage.registry import providers

    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec, options)
    factory = providers.get(parsed.provider)
    model = factory(parsed)
    if not isinstance(model, Model):
        raise SpecError(f"provider '{parsed.provider}' did not return a Model")
    return model
