"""A deterministic mock provider, used by the tests and for dry runs.

Models:
    ``mock/echo``    repeats the last user message.
    ``mock/fixed``   always answers ``-M text=...`` (default ``"The answer is A."``).
    ``mock/random``  picks one of the option letters it sees in the prompt, seeded
                     by ``-M seed=`` and the prompt text, so reruns agree.
    ``mock/script``  answers from ``-M file=script.json``: a list of
                     ``{"contains": "...", "response": "..."}`` (first match wins)
                     or a plain list of responses used in turn.
    ``mock/error``   fails every call (to test error handling).

Options for all: ``delay`` (seconds per call), ``block`` (seconds per call spent blocking a
worker thread, like a native model call that cannot be interrupted), ``fail_every`` (every
n-th call errors).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError, SpecError
from medsage.lang import detect_language
from medsage.models.base import Model, ModelSpec
from medsage.types import GenerateConfig, Message, ModelOutput, Usage

_OPTION_RE = re.compile(r"^\s*\(?([A-J])[\.\):：、]\s*\S", re.MULTILINE)
NAMES = ("echo", "fixed", "random", "script", "error")


class MockModel(Model):
    """Deterministic answers with no network and no weights."""

    supports_logprobs = True

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        if spec.model not in NAMES:
            raise SpecError(f"unknown mock model '{spec.model}' (known: {', '.join(NAMES)})")
        self.kind = spec.model
        self.delay = float(spec.options.get("delay", 0.0))
        self.block = float(spec.options.get("block", 0.0))
        self.fail_every = int(spec.options.get("fail_every", 0))
        self.seed = int(spec.options.get("seed", 0))
        self.text = str(spec.options.get("text", "The answer is A."))
        self.calls = 0
        self._script: list[Any] = []
        if self.kind == "script":
            self._script = _load_script(spec.options.get("file"))

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """A deterministic answer of the configured ``kind`` (with letter log-probs when asked)."""
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.block:
            import time

            from medsage.models.threads import call_in_daemon

            await call_in_daemon(time.sleep, self.block, name="medsage-mock")
        prompt = "\n".join(m.content for m in messages)
        usage = Usage(prompt_tokens=len(prompt.split()), completion_tokens=0)
        if self.kind == "error" or (self.fail_every and self.calls % self.fail_every == 0):
            return ModelOutput(model=self.name, usage=usage, error="mock failure")
        text = self._answer(messages, prompt)
        logprobs = _letter_logprobs(prompt, text, self.seed) if config.top_logprobs else None
        usage = Usage(usage.prompt_tokens, len(text.split()))
        return ModelOutput(text=text, model=self.name, usage=usage, top_logprobs=logprobs)

    def _answer(self, messages: list[Message], prompt: str) -> str:
        if self.kind == "echo":
            users = [m.content for m in messages if m.role == "user"]
            return users[-1] if users else ""
        if self.kind == "fixed":
            return self.text
        if self.kind == "random":
            letters = _letters(prompt)
            if not letters:
                return "I don't know."
            pick = letters[_hash(prompt, self.seed) % len(letters)]
            return f"答案：{pick}" if detect_language(prompt) == "zh" else f"The answer is {pick}."
        for i, item in enumerate(self._script):
            if isinstance(item, dict):
                if str(item.get("contains", "")) in prompt:
                    return str(item.get("response", ""))
            elif i == (self.calls - 1) % len(self._script):
                return str(item)
        return ""


def _load_script(path: Any) -> list[Any]:
    if not path:
        raise SpecError("mock/script needs -M file=script.json")
    try:
        data = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read mock script {path}: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise DataError(f"mock script {path} must be a non-empty JSON list")
    return data


def _letters(prompt: str) -> list[str]:
    seen: list[str] = []
    for letter in _OPTION_RE.findall(prompt):
        if letter not in seen:
            seen.append(letter)
    return seen


def _hash(text: str, seed: int) -> int:
    return int(hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:12], 16)


def _letter_logprobs(prompt: str, text: str, seed: int) -> dict[str, float]:
    """A normalised distribution over the prompt's option letters, peaked on the answer."""
    letters = _letters(prompt) or ["A", "B", "C", "D"]
    found = re.findall(r"\b([A-J])\b", text)
    chosen = found[-1] if found else letters[_hash(prompt, seed) % len(letters)]
    weights = {letter: (4.0 if letter == chosen else 1.0) for letter in letters}
    total = sum(weights.values())
    return {letter: math.log(w / total) for letter, w in weights.items()}
