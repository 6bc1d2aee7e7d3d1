"""Calling a grader model on every rubric item of one response.

One grader call per rubric item (as the reference does), run concurrently under
a shared semaphore, each retried at most ``max_attempts`` times when the reply
is unparsed or contradictory. Retries change the sampling config
(``temperature=1``, ``seed=attempt``) so that a cached or deterministic grader
is not asked the identical request again. Grader calls go through
:class:`medsage.cache.CachedModel`, so re-grading the same response is free.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.rubric.prompt import format_conversation, grader_messages
from medsage.rubric.schema import RubricItem
from medsage.rubric.verdict import Verdict, parse_verdict
from medsage.types import GenerateConfig, Message, Usage

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3
DEFAULT_CONCURRENCY = 32
GRADER_CONFIG = GenerateConfig(max_tokens=1024, temperature=0.0)


@dataclass(frozen=True)
class ItemGrade:
    """The grade of one rubric item: the item, the verdict and what it cost."""

    item: RubricItem
    verdict: Verdict
    attempts: int = 1
    usage: Usage = field(default_factory=Usage)
    cached_calls: int = 0
    error: str | None = None
    billed: Usage = field(default_factory=Usage)

    @property
    def criteria_met(self) -> bool | None:
        """The grader's verdict on the criterion (None when its reply was not usable)."""
        return self.verdict.criteria_met

    def to_dict(self) -> dict[str, Any]:
        """The record stored in ``samples.jsonl`` extras and read by ``rescore``."""
        out = self.item.to_dict()
        out.update(
            criteria_met=self.verdict.criteria_met,
            explanation=self.verdict.explanation,
            status=self.verdict.status,
            attempts=self.attempts,
        )
        if self.verdict.reason:
            out["reason"] = self.verdict.reason
        if self.error:
            out["error"] = self.error
        return out


def _retry_config(attempt: int) -> GenerateConfig:
    if attempt == 0:
        return GRADER_CONFIG
    return GenerateConfig(max_tokens=GRADER_CONFIG.max_tokens, temperature=1.0, seed=attempt)


async def grade_item(
    grader: Any, conversation: str, item: RubricItem, sem: asyncio.Semaphore, max_attempts: int = DEFAULT_ATTEMPTS
) -> ItemGrade:
    """Grade one item with at most ``max_attempts`` grader calls (never loops forever)."""
    messages: list[Message] = grader_messages(conversation, item)
    usage = Usage()
    billed = Usage()
    cached = 0
    verdict = Verdict(None, status="unparsed", reason="grader not called")
    error: str | None = None
    attempts = 0
    for attempt in range(max(1, max_attempts)):
        attempts = attempt + 1
        async with sem:
            out = await grader.generate(messages, _retry_config(attempt))
        usage = usage + out.usage
        cached += int(bool(out.cached))
        if not out.cached:
            billed = billed + out.usage
        if out.error:
            error = out.error
            verdict = Verdict(None, status="unparsed", reason=f"grader error: {out.error}")
            continue
        error = None
        verdict = parse_verdict(out.text)
        if verdict.ok:
            break
        log.debug("grader reply %s (%s), attempt %d", verdict.status, verdict.reason, attempts)
    return ItemGrade(item, verdict, attempts, usage, cached, error, billed)


async def grade_response(
    grader: Any,
    prompt: Sequence[Message],
    response: str,
    items: Sequence[RubricItem],
    sem: asyncio.Semaphore,
    max_attempts: int = DEFAULT_ATTEMPTS,
) -> list[ItemGrade]:
    """Grade ``response`` to the conversation ``prompt`` on every item, concurrently."""
    conversation = format_conversation(prompt, response)
    return list(await asyncio.gather(*(grade_item(grader, conversation, it, sem, max_attempts) for it in items)))


class GraderPool:
    """Per-event-loop semaphores and cache wrappers for graders.

    ``MEDSAGE_GRADER_CONCURRENCY`` bounds concurrent grader calls (default 32). A grader
    that comes as a :class:`~medsage.cache.CachedModel` (the runner wraps it according to
    the run config's ``cache``) is used as it is; any other grader is cached in the user's
    ``MEDSAGE_GRADER_CACHE`` (a SQLite path, or ``off``; default
    ``<cache dir>/grader.sqlite``, see :func:`medsage.cache.default_cache_dir`).
    """

    def __init__(self) -> None:
        self._sems: dict[int, asyncio.Semaphore] = {}
        self._wrapped: dict[int, Any] = {}

    def semaphore(self) -> asyncio.Semaphore:
        """The running event loop's semaphore bounding concurrent grader calls."""
        loop = asyncio.get_running_loop()
        sem = self._sems.get(id(loop))
        if sem is None:
            limit = int(os.environ.get("MEDSAGE_GRADER_CONCURRENCY", DEFAULT_CONCURRENCY))
            sem = self._sems[id(loop)] = asyncio.Semaphore(max(1, limit))
        return sem

    def cached(self, grader: Any) -> Any:
        """``grader`` wrapped in the on-disk cache (once per grader object)."""
        from medsage.cache import CachedModel, ResponseCache, default_cache_dir

        if isinstance(grader, CachedModel):
            return grader
        setting = os.environ.get("MEDSAGE_GRADER_CACHE", "")
        if setting.lower() in ("off", "0", "false", "no"):
            return grader
        wrapped = self._wrapped.get(id(grader))
        if wrapped is None or wrapped.model is not grader:
            path = Path(setting) if setting else default_cache_dir() / "grader.sqlite"
            wrapped = self._wrapped[id(grader)] = CachedModel(grader, ResponseCache(path))
        return wrapped


def grade_stats(grades: Sequence[ItemGrade]) -> dict[str, Any]:
    """Calls, tokens, cache hits and bad verdicts for a list of item grades."""
    usage = sum((g.usage for g in grades), Usage())
    billed = sum((g.billed for g in grades), Usage())
    return {
        "grader_calls": sum(g.attempts for g in grades),
        "grader_cached_calls": sum(g.cached_calls for g in grades),
        "grader_prompt_tokens": usage.prompt_tokens,
        "grader_completion_tokens": usage.completion_tokens,
        "grader_billed_prompt_tokens": billed.prompt_tokens,
        "grader_billed_completion_tokens": billed.completion_tokens,
        "unparsed_verdicts": sum(1 for g in grades if g.verdict.status == "unparsed"),
        "contradictory_verdicts": sum(1 for g in grades if g.verdict.status == "contradictory"),
    }
