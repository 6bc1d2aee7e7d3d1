"""OpenAI-compatible chat endpoints: ``openai/<model>``.

Works with OpenAI, DeepSeek, Qwen's compatible mode, vLLM, SGLang, the llama.cpp
server and Ollama through the official ``openai`` SDK.

Options (``-M``) and env fallbacks: ``base_url`` (``MEDSAGE_OPENAI_BASE_URL``,
``OPENAI_BASE_URL``), ``api_key`` (``MEDSAGE_OPENAI_API_KEY``, ``OPENAI_API_KEY``;
a local server without auth needs none), ``max_connections`` (default 32),
``timeout`` (s, default 120), ``max_retries`` (default 5), ``backoff_cap`` (s, default 30).

Retries use capped exponential backoff with jitter and happen only for 429, 5xx
and timeouts. 401/403/404, and a server that cannot be reached on the first call
(a bad base URL), raise :class:`~medsage.errors.ModelError` at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from medsage.errors import MissingExtraError, ModelError
from medsage.models.base import Model, ModelSpec, option
from medsage.types import GenerateConfig, Message, ModelOutput, Usage

log = logging.getLogger(__name__)


class OpenAIModel(Model):
    """A chat model behind an OpenAI-compatible HTTP API."""

    supports_logprobs = True

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        try:
            import openai
        except ImportError as exc:
            raise MissingExtraError("openai", "openai", "OpenAI-compatible endpoints") from exc
        self._openai = openai
        opts = spec.options
        self.base_url = option(opts, "base_url", "MEDSAGE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
        api_key = option(opts, "api_key", "MEDSAGE_OPENAI_API_KEY", "OPENAI_API_KEY")
        if not api_key:
            if not self.base_url:
                raise ModelError("openai/: no API key: set OPENAI_API_KEY or pass -M api_key=…, "
                                 "or -M base_url=… for a local server")
            api_key = "not-needed"
        self.max_retries = int(option(opts, "max_retries", default=5))
        self.backoff_cap = float(option(opts, "backoff_cap", default=30.0))
        self.backoff_base = float(option(opts, "backoff_base", default=0.5))
        self._sem = asyncio.Semaphore(int(option(opts, "max_connections", default=32)))
        self._reached = False
        self.client = openai.AsyncOpenAI(
            base_url=self.base_url, api_key=str(api_key), max_retries=0,
            timeout=float(option(opts, "timeout", default=120.0)),
        )

    @property
    def cache_key(self) -> dict[str, Any]:
        return {"spec": self.name, "base_url": self.base_url or "api.openai.com"}

    def _kwargs(self, messages: list[Message], config: GenerateConfig) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": self.spec.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
        }
        if config.top_p is not None:
            kw["top_p"] = config.top_p
        if config.seed is not None:
            kw["seed"] = config.seed
        if config.stop:
            kw["stop"] = list(config.stop)
        if config.top_logprobs:
            kw["logprobs"] = True
            kw["top_logprobs"] = min(config.top_logprobs, 20)
        return kw

    async def _call(self, kwargs: dict[str, Any]) -> Any:
        oa = self._openai
        for attempt in range(self.max_retries + 1):
            try:
                async with self._sem:
                    resp = await self.client.chat.completions.create(**kwargs)
                self._reached = True
                return resp
            except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
                raise ModelError(f"{self.name}: {exc.status_code} {_msg(exc)} (base_url={self.base_url or 'default'})") from exc
            except oa.APITimeoutError:
                retryable = True
            except oa.APIConnectionError as exc:
                if not self._reached:
                    raise ModelError(f"{self.name}: cannot reach {self.base_url or 'api.openai.com'}: {exc}") from exc
                retryable = True
            except oa.APIStatusError as exc:
                retryable = exc.status_code == 429 or exc.status_code >= 500
                if not retryable:
                    raise
            if attempt == self.max_retries:
                break
            delay = min(self.backoff_cap, self.backoff_base * 2**attempt) * (0.5 + random.random() / 2)
            log.info("%s: retry %d in %.1fs", self.name, attempt + 1, delay)
            await asyncio.sleep(delay)
        raise _GaveUp(f"gave up after {self.max_retries + 1} attempts (429/5xx/timeout)")

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        start = time.perf_counter()
        try:
            resp = await self._call(self._kwargs(messages, config))
        except ModelError:
            raise
        except (self._openai.APIStatusError, _GaveUp) as exc:
            return ModelOutput(model=self.name, latency_s=time.perf_counter() - start, error=_msg(exc))
        choice = resp.choices[0]
        top: dict[str, float] | None = None
        lp = getattr(choice, "logprobs", None)
        if config.top_logprobs and lp is not None and lp.content:
            top = {alt.token: alt.logprob for alt in (lp.content[0].top_logprobs or [])}
        usage = resp.usage
        return ModelOutput(
            text=choice.message.content or "",
            model=self.name,
            usage=Usage(usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0),
            top_logprobs=top,
            latency_s=time.perf_counter() - start,
            extras={"finish_reason": choice.finish_reason},
        )

    async def astream(self, messages: list[Message], config: GenerateConfig) -> AsyncIterator[str]:
        """Yield text deltas from a streaming completion."""
        kwargs = dict(self._kwargs(messages, config), stream=True)
        stream = await self._call(kwargs)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    async def aclose(self) -> None:
        await self.client.close()


class _GaveUp(Exception):
    pass


def _msg(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc)
