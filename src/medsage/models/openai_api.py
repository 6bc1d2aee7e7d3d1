"""OpenAI-compatible chat endpoints: ``openai/<model>``.

Works with OpenAI, DeepSeek, Qwen's compatible mode, vLLM, SGLang, the llama.cpp
server and Ollama through the official ``openai`` SDK.

Options (``-M``) and env fallbacks: ``base_url`` (``MEDSAGE_OPENAI_BASE_URL``,
``OPENAI_BASE_URL``), ``api_key`` (``MEDSAGE_OPENAI_API_KEY``, ``OPENAI_API_KEY``;
a local server without auth needs none), ``max_connections`` (default 32),
``timeout`` (s, default 120), ``max_retries`` (default 5), ``backoff_cap`` (s, default 30).

Non-streaming requests go through the SDK's generic ``client.post`` with a plain
JSON body and the reply parsed as JSON: the same client, auth, timeouts and error
types, without the SDK's typed-dict transform of the request and pydantic models
of the reply (about 1.5 ms of CPU per request, which matters to a harness sending
hundreds of requests a second to a local server). Streaming uses ``create``.

Retries use capped exponential backoff with jitter and happen only for 429, 5xx
and timeouts. 401/403/404, and a server that cannot be reached on the first call
(a bad base URL), raise :class:`~medsage.errors.ModelError` at once.
"""

from __future__ import annotations

import asyncio
import json
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

    async def _call(self, kwargs: dict[str, Any], *, raw: bool = False) -> Any:
        oa = self._openai
        for attempt in range(self.max_retries + 1):
            try:
                async with self._sem:
                    if raw:
                        resp = await self.client.post("/chat/completions", cast_to=str, body=kwargs)
                    else:
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
            text = await self._call(self._kwargs(messages, config), raw=True)
        except ModelError:
            raise
        except (self._openai.APIStatusError, _GaveUp) as exc:
            return ModelOutput(model=self.name, latency_s=time.perf_counter() - start, error=_msg(exc))
        try:
            resp = json.loads(text)
            choice = resp["choices"][0]
            content = (choice.get("message") or {}).get("content") or ""
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return ModelOutput(model=self.name, latency_s=time.perf_counter() - start,
                               error=f"malformed reply from the server: {type(exc).__name__}: {str(text)[:200]}")
        top: dict[str, float] | None = None
        if config.top_logprobs:
            top = _first_token_logprobs(choice.get("logprobs"))
        usage = resp.get("usage") or {}
        return ModelOutput(
            text=content,
            model=self.name,
            usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
            top_logprobs=top,
            latency_s=time.perf_counter() - start,
            extras={"finish_reason": choice.get("finish_reason")},
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


def _first_token_logprobs(logprobs: Any) -> dict[str, float] | None:
    """``{token: logprob}`` of the first generated token's alternatives, if the server sent them."""
    if not isinstance(logprobs, dict) or not logprobs.get("content"):
        return None
    first = logprobs["content"][0]
    alts = first.get("top_logprobs") if isinstance(first, dict) else None
    if not alts:
        return None
    return {str(a["token"]): float(a["logprob"]) for a in alts if isinstance(a, dict) and "token" in a}


class _GaveUp(Exception):
    pass


def _msg(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc)
