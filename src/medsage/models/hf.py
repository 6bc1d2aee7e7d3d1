"""Hugging Face transformers provider: ``hf/<hub id or local path>`` (extra ``[hf]``).

Options (``-M``): ``adapter`` (a PEFT/LoRA adapter path), ``device`` (default
``cuda`` when available, else ``cpu``), ``dtype`` (``auto``/``bfloat16``/``float32``),
``gguf_file`` (load a GGUF file from the folder; ``hf/<path>.gguf`` names one directly), ``local_only`` (default true:
never download; set false to allow the hub).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from medsage.errors import MissingExtraError, ModelError
from medsage.models.base import Model, ModelSpec, option
from medsage.types import GenerateConfig, Message, ModelOutput, Usage


def gguf_location(model: str, gguf_file: Any = None) -> tuple[str, str | None]:
    """Where transformers should load from: ``(folder or hub id, GGUF file name or None)``.

    ``hf/<path>.gguf`` names a GGUF file directly (transformers dequantises it); it is split into
    its folder and file name. Otherwise ``-M gguf_file=NAME`` picks a GGUF inside the folder.
    """
    path = Path(model).expanduser()
    if not gguf_file and path.suffix.lower() == ".gguf":
        return str(path.parent), path.name
    return model, (str(gguf_file) if gguf_file else None)


class HFModel(Model):
    """A causal LM run in-process with transformers (optionally with a LoRA adapter)."""

    supports_logprobs = True

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingExtraError("transformers", "hf", "the hf/ provider (also needs torch)") from exc
        opts = spec.options
        self._torch = torch
        local_only = bool(option(opts, "local_only", default=True))
        device = option(opts, "device", default="cuda" if torch.cuda.is_available() else "cpu")
        dtype_name = str(option(opts, "dtype", default="auto"))
        dtype: Any = "auto" if dtype_name == "auto" else getattr(torch, dtype_name)
        where, gguf = gguf_location(spec.model, option(opts, "gguf_file"))
        load_kw: dict[str, Any] = {"local_files_only": local_only}
        if gguf:
            load_kw["gguf_file"] = gguf
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(where, **load_kw)
            model: Any = transformers.AutoModelForCausalLM.from_pretrained(where, dtype=dtype, **load_kw)
        except OSError as exc:
            raise ModelError(f"cannot load {spec.model}: {exc}") from exc
        adapter = option(opts, "adapter")
        if adapter:
            try:
                from peft import PeftModel
            except ImportError as exc:
                raise MissingExtraError("peft", "hf", "LoRA adapters") from exc
            try:
                model = PeftModel.from_pretrained(model, str(adapter))
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelError(f"adapter {adapter} does not fit {spec.model}: {exc}") from exc
        self.model = model.to(device).eval()
        self.device = device
        self._lock = threading.Lock()

    @property
    def cache_key(self) -> dict[str, Any]:
        """The spec plus the LoRA adapter path, which changes the answers."""
        return {"spec": self.name, "adapter": str(self.spec.options.get("adapter", ""))}

    def _generate_sync(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        torch = self._torch
        tok = self.tokenizer
        chat = [m.to_dict() for m in messages]
        ids: Any
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
            if not hasattr(ids, "shape"):  # transformers 5 returns a BatchEncoding
                ids = ids["input_ids"]
        else:
            text = "\n".join(f"{m['role']}: {m['content']}" for m in chat) + "\nassistant:"
            ids = tok(text, return_tensors="pt").input_ids
        ids = ids.to(self.device)
        if config.seed is not None:
            torch.manual_seed(config.seed)
        gen_kw: dict[str, Any] = {"max_new_tokens": config.max_tokens, "output_scores": True,
                                  "return_dict_in_generate": True, "pad_token_id": tok.pad_token_id or tok.eos_token_id}
        if config.temperature > 0:
            gen_kw.update(do_sample=True, temperature=config.temperature, top_p=config.top_p or 1.0)
        else:
            gen_kw["do_sample"] = False
        with self._lock, torch.no_grad():
            out = self.model.generate(ids, **gen_kw)
        new = out.sequences[0, ids.shape[1]:]
        text = str(tok.decode(new, skip_special_tokens=True))
        for stop in config.stop:
            if stop in text:
                text = text[: text.index(stop)]
        top: dict[str, float] | None = None
        if config.top_logprobs and out.scores:
            logp = torch.log_softmax(out.scores[0][0].float(), dim=-1)
            values, idx = logp.topk(config.top_logprobs)
            top = {}
            for v, i in zip(values.tolist(), idx.tolist(), strict=True):
                token = str(tok.decode([i]))
                top[token] = max(v, top.get(token, -1e9))
        return ModelOutput(text=text, model=self.name, usage=Usage(int(ids.shape[1]), int(new.shape[0])), top_logprobs=top)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """Generate in a worker thread; a runtime error (CUDA OOM …) becomes an error output."""
        start = time.perf_counter()
        try:
            out = await asyncio.to_thread(self._generate_sync, messages, config)
        except RuntimeError as exc:  # e.g. CUDA OOM, sequence too long
            return ModelOutput(model=self.name, latency_s=time.perf_counter() - start, error=str(exc))
        from dataclasses import replace

        return replace(out, latency_s=time.perf_counter() - start)
