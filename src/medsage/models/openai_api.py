"""OpenAI-compatible chat endpoints: ``openai/<model>``.

Works with OpenAI, DeepSeek, Qwen's compatible mode, vLLM, SGLang, the llama.cpp
server and Ollama through the official ``openai`` SDK.

Options (``-M``) and env fallbacks: ``base_url`` (``MEDSAGE_OPENAI_BASE_URL``,
``OPENAI_BASE_URL``), ``api_key`` (``MEDSAGE_OPENAI_API_KEY``, ``OPENAI_API_KEY``;
a local server without auth needs none), ``max_connections`` (default 32),
``timeout`` (s, default 120), ``max_retries`` (default 5), ``backoff_cap`` (s, default 30).

Several endpoints serving the same model (a fleet): ``base_url=http://a/v1,http://b/v1``
or ``base_url=@FILE``; requests are spread over them (least busy first,
``max_connections`` slots each), an endpoint that cannot be reached is skipped with a
warning and its request retried on another (see :mod:`medsage.models.fleet`);
``fleet_wait`` (s, default 30) is how long a request waits when every endpoint is down.

Non-streaming requests go through the SDK's generic ``client.post`` with a plain
JSON body and the reply parsed as JSON: the same client, auth, timeouts and error
types, without the SDK's typed-dict transform of the request and pydantic models
of the reply (about 1.5 ms of CPU per request, which matters to a harness sending
hundreds of requests a second to a local server). Streaming uses ``create``.

Retries use capped exponential backoff with jitter and happen only for 429, 5xx
and timeouts (in a fleet, on another endpoint when there is one). 401/403/404, and a
server that cannot be reached on the first call (a bad base URL; in a fleet: no
endpoint reachable), raise :class:`~medsage.errors.ModelError` at once.
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
from medsage.models.fleet import Endpoint, Fleet, FleetDown, parse_base_urls
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
        raw_url = option(opts, "base_url", "MEDSAGE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
        raw_url = str(raw_url).strip() if raw_url else ""
        urls = parse_base_urls(raw_url) if ("," in raw_url or raw_url.startswith("@")) else [raw_url] * bool(raw_url)
        # the cache key: one URL as given, a fleet as its sorted list (any order, same answers)
        self.base_url = urls[0] if len(urls) == 1 else (",".join(sorted(urls)) or None)
        api_key = option(opts, "api_key", "MEDSAGE_OPENAI_API_KEY", "OPENAI_API_KEY")
        if not api_key:
            if not urls:
                raise ModelError("openai/: no API key: set OPENAI_API_KEY or pass -M api_key=…, "
                                 "or -M base_url=… for a local server")
            api_key = "not-needed"
        self.max_retries = int(option(opts, "max_retries", default=5))
        self.backoff_cap = float(option(opts, "backoff_cap", default=30.0))
        self.backoff_base = float(option(opts, "backoff_base", default=0.5))
        self.fleet_wait = float(option(opts, "fleet_wait", default=30.0))
        slots = int(option(opts, "max_connections", default=32))
        timeout = float(option(opts, "timeout", default=120.0))
        self.fleet = Fleet([
            Endpoint(url or "https://api.openai.com/v1", openai.AsyncOpenAI(
                base_url=url, api_key=str(api_key), max_retries=0, timeout=timeout), slots)
            for url in (urls or [None])  # type: ignore[list-item]
        ], probe_timeout=min(timeout, 3.0), name=self.name)
        self.client = self.fleet.endpoints[0].client

    @property
    def cache_key(self) -> dict[str, Any]:
        """The spec plus the server's base URL: one model name on two servers is two models."""
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
        """Send one request, retrying 429/5xx/timeouts with backoff.

        In a fleet it fails over to another endpoint; at most ``max_retries + endpoints`` tries.
        """
        oa = self._openai
        fleet = self.fleet
        many = len(fleet) > 1
        if many:
            await fleet.check_all()
            if not fleet.any_reached:
                raise ModelError(f"{self.name}: cannot reach any endpoint of {self.base_url}")
        tried: set[str] = set()
        backoffs = 0
        for _ in range(self.max_retries + len(fleet)):
            try:
                ep = await fleet.acquire(tried, self.fleet_wait)
            except FleetDown as exc:
                raise _GaveUp(f"every endpoint is down ({exc}) for {self.fleet_wait:.0f}s") from exc
            tried.add(ep.url)
            ok = False
            try:
                if raw:
                    resp = await ep.client.post("/chat/completions", cast_to=str, body=kwargs)
                else:
                    resp = await ep.client.chat.completions.create(**kwargs)
                ok = True
                return resp
            except (oa.APIConnectionError, oa.APIStatusError) as exc:
                if self._retry_at_once(exc, ep, many):
                    continue
            finally:
                await fleet.release(ep, ok)
            if backoffs == self.max_retries:
                break
            await self._backoff(backoffs)
            backoffs += 1
        raise _GaveUp(f"gave up after {self.max_retries + 1} attempts (429/5xx/timeout)")

    def _retry_at_once(self, exc: Exception, ep: Endpoint, many: bool) -> bool:
        """Whether a failed try goes on at once (another endpoint) rather than after a backoff.

        Raises:
            ModelError: The error will not go away (auth, unknown model, no server reachable).
            openai.APIStatusError: ``exc`` itself, for a status other than 429 or 5xx.
        """
        oa = self._openai
        if isinstance(exc, oa.AuthenticationError | oa.PermissionDeniedError | oa.NotFoundError):
            raise ModelError(f"{self.name}: {exc.status_code} {_msg(exc)} (base_url={ep.url})") from exc
        if isinstance(exc, oa.APITimeoutError):
            return many  # a slow endpoint: try another at once
        if isinstance(exc, oa.APIConnectionError):
            if many:
                self.fleet.mark_down(ep, f"refused or dropped the connection ({exc})")
                if not self.fleet.any_reached and all(e.down for e in self.fleet.endpoints):
                    raise ModelError(f"{self.name}: cannot reach any endpoint of {self.base_url}") from exc
                return True
            if not ep.reached:
                raise ModelError(f"{self.name}: cannot reach {self.base_url or 'api.openai.com'}: {exc}") from exc
            return False
        status = int(getattr(exc, "status_code", 0))  # an APIStatusError by now
        if not (status == 429 or status >= 500):
            raise exc
        return False

    async def _backoff(self, backoffs: int) -> None:
        """Sleep before retry ``backoffs + 1``: capped exponential backoff with jitter."""
        delay = min(self.backoff_cap, self.backoff_base * 2**backoffs) * (0.5 + random.random() / 2)
        log.info("%s: retry %d in %.1fs", self.name, backoffs + 1, delay)
        await asyncio.sleep(delay)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """One chat-completion request; HTTP errors and malformed replies become error outputs."""
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
        """Stop the fleet's health probes and close its HTTP clients."""
        await self.fleet.aclose()


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
