"""A PEFT LoRA adapter as a llama.cpp LoRA adapter GGUF (``medsage train export-lora``).

Mirrors llama.cpp's ``convert_lora_to_gguf.py`` for llama, qwen2 and qwen3 decoders: metadata
``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``; per adapted weight
``blk.{i}.{attn_q…ffn_down}.weight.lora_a`` = PEFT's ``lora_A`` ``[r, in]`` and ``.lora_b`` =
``lora_B`` ``[out, r]``. llama.cpp applies ``scale · alpha / r · B·A`` (``r`` from each ``lora_b``)
as PEFT does. llama GGUFs store q/k rows permuted for llama.cpp's RoPE, so q/k ``lora_b`` are too.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MissingExtraError, SpecError
from medsage.train.adapter import META

log = logging.getLogger(__name__)

TARGETS = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
           "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
           "mlp.down_proj": "ffn_down"}
ARCH_OF = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"}
PERMUTED_QK = {"llama"}  # archs whose GGUF stores q/k rows permuted for llama.cpp's RoPE
_NAME = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)"
                   r"\.lora_([AB])\.weight$")
_REFUSED = {"use_dora": "DoRA", "alpha_pattern": "per-module alphas (alpha_pattern)", "rank_pattern": "per-module ranks (rank_pattern)",
            "modules_to_save": "fully trained modules (modules_to_save)", "lora_bias": "LoRA biases", "fan_in_fan_out": "Conv1D weights"}


def _adapter_config(d: Path) -> dict[str, Any]:
    """Read ``adapter_config.json`` and refuse what a llama.cpp LoRA cannot express."""
    path = d / "adapter_config.json"
    if not path.is_file():
        raise DataError(f"{d}: not a PEFT adapter (no adapter_config.json)")
    try:
        cfg: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
    if str(cfg.get("peft_type", "LORA")).upper() != "LORA":
        raise SpecError(f"{d}: a {cfg.get('peft_type')} adapter, not LoRA: llama.cpp loads only LoRA adapters")
    bad = [what for key, what in _REFUSED.items() if cfg.get(key)]
    bad += [f"trained biases (bias={cfg['bias']})"] if str(cfg.get("bias", "none")) != "none" else []
    if bad:
        raise SpecError(f"{d}: the adapter uses {', '.join(bad)}, which llama.cpp's LoRA format cannot express; "
                        "retrain with plain LoRA on the attention/MLP projections or merge it instead "
                        "(medsage train export --merge)")
    return cfg


def _arch_from_config(d: Path, cfg: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """Architecture and head counts from medsage's metadata or a local base ``config.json``."""
    facts: dict[str, Any] = {}
    if (d / META).is_file():
        facts = json.loads((d / META).read_text(encoding="utf-8")).get("fingerprint") or {}
    base = Path(str(cfg.get("base_model_name_or_path") or "")) / "config.json"
    if not facts.get("model_type") and base.is_file():
        facts = json.loads(base.read_text(encoding="utf-8"))
    model_type = str(facts.get("model_type") or "")
    if model_type not in ARCH_OF:
        what = f"model type '{model_type}'" if model_type else "an unknown architecture"
        raise SpecError(f"{d}: {what}; supported: {', '.join(sorted(ARCH_OF))} (pass the base GGUF with --base)")
    heads = {"n_head": int(facts.get("num_attention_heads") or 0),
             "n_head_kv": int(facts.get("num_key_value_heads") or facts.get("num_attention_heads") or 0)}
    return ARCH_OF[model_type], heads


def _arch_from_gguf(base: Path) -> tuple[str, dict[str, int], dict[str, tuple[int, ...]]]:
    """Architecture, head counts and tensor shapes (ggml order: ``[in, out]``) of a base GGUF."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(base))
    except (ValueError, OSError) as exc:  # missing file, bad magic …
        raise DataError(f"{base}: not a readable base GGUF file ({exc})") from None
    value = {k: f.contents() for k, f in reader.fields.items() if k.split(".")[0] not in ("tokenizer", "GGUF")}.get
    arch = str(value("general.architecture") or "")
    if arch not in set(ARCH_OF.values()):
        raise SpecError(f"{base}: architecture '{arch}' is not supported (supported: llama, qwen2, qwen3)")
    heads = {"n_head": int(value(f"{arch}.attention.head_count") or 0),
             "n_head_kv": int(value(f"{arch}.attention.head_count_kv") or value(f"{arch}.attention.head_count") or 0)}
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    return arch, heads, shapes


def _load_tensors(d: Path) -> dict[str, Any]:
    """The adapter's tensors as float32 numpy arrays (safetensors, else ``adapter_model.bin``)."""
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "train", "reading a PEFT adapter") from exc
    st, pt = d / "adapter_model.safetensors", d / "adapter_model.bin"
    if st.is_file():
        from safetensors.torch import load_file

        raw = load_file(str(st), device="cpu")
    elif pt.is_file():
        raw = torch.load(str(pt), map_location="cpu", weights_only=True)
    else:
        raise DataError(f"{d}: no adapter_model.safetensors or adapter_model.bin")
    return {k: v.detach().to(torch.float32).numpy() for k, v in raw.items()}


def _permute(w: Any, n_head: int) -> Any:
    """llama.cpp's ``LlamaModel.permute`` on the rows of ``w`` (HF rotate-half → GGUF RoPE)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _pairs(d: Path, tensors: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Map PEFT names to GGUF base weight names, each with its ``A`` and ``B``; refuse the rest."""
    pairs: dict[str, dict[str, Any]] = {}
    unmapped = []
    for name, arr in tensors.items():
        m = _NAME.match(name)
        if not m:
            unmapped.append(name)
            continue
        pairs.setdefault(f"blk.{m[1]}.{TARGETS[m[2]]}.weight", {})[m[3]] = arr
    if unmapped:
        shown = ", ".join(sorted(unmapped)[:4]) + (f" (+{len(unmapped) - 4} more)" if len(unmapped) > 4 else "")
        raise SpecError(f"{d}: tensors that llama.cpp's LoRA format cannot map: {shown}; only the "
                        f"attention and MLP projections ({', '.join(k.split('.')[1] for k in TARGETS)}) convert")
    if not pairs:
        raise DataError(f"{d}: the adapter holds no LoRA tensors")
    for base, ab in pairs.items():
        if set(ab) != {"A", "B"} or ab["A"].ndim != 2 or ab["A"].shape[0] != ab["B"].shape[1]:
            raise DataError(f"{d}: {base}: lora_A/lora_B missing or of mismatched rank")
    return pairs


def convert_adapter(adapter_dir: str | Path, out_file: str | Path, *, base_gguf: str | Path | None = None,
                    f16: bool = False) -> dict[str, Any]:
    """Write a PEFT LoRA adapter as a llama.cpp LoRA adapter GGUF.

    Args:
        adapter_dir: A PEFT adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``).
        out_file: The ``.gguf`` file to write (its folder is created).
        base_gguf: The base model's GGUF. Gives the architecture and head counts, and every
            adapted weight is checked against its shape. Without it they come from medsage's
            ``medsage_adapter.json`` or a local base ``config.json``.
        f16: Store the tensors as F16 instead of F32.

    Returns:
        A summary: ``out``, ``architecture``, ``tensors``, ``layers``, ``modules``, ``rank``,
        ``alpha`` (as written), ``bytes``.

    Raises:
        SpecError: modules or options llama.cpp cannot load; unknown or unsupported architecture.
        DataError: unreadable adapter or base, or an adapter that does not fit the base.
        MissingExtraError: ``gguf`` or ``torch`` is not installed.
    """
    try:
        import gguf
        import numpy as np
    except ImportError as exc:
        raise MissingExtraError("gguf", "train", "writing llama.cpp LoRA adapters") from exc
    d = Path(adapter_dir)
    cfg = _adapter_config(d)
    arch, heads, shapes = _arch_from_gguf(Path(base_gguf)) if base_gguf else (*_arch_from_config(d, cfg), {})
    pairs = _pairs(d, _load_tensors(d))
    rank = int(cfg.get("r") or 0)
    if {ab["A"].shape[0] for ab in pairs.values()} != {rank}:
        raise SpecError(f"{d}: tensor ranks differ from the config's r={rank}, which PEFT scales by")
    alpha = float(cfg.get("lora_alpha", 8))  # 8: PEFT's default
    if cfg.get("use_rslora"):  # PEFT scales by alpha/sqrt(r), llama.cpp by alpha/r
        alpha *= math.sqrt(rank)
    for base, ab in sorted(pairs.items()):
        a, b = ab["A"], ab["B"]
        if shapes and shapes.get(base, ())[:2] != (a.shape[1], b.shape[0]):
            raise DataError(f"{d}: {base} is [{b.shape[0]}, {a.shape[1]}] in the adapter but "
                            f"{list(shapes.get(base, ()))[::-1] or 'absent'} in {base_gguf}: wrong base model")
        kind = base.split(".")[2]
        if arch in PERMUTED_QK and kind in ("attn_q", "attn_k"):
            n = heads["n_head"] if kind == "attn_q" else heads["n_head_kv"]
            if n <= 0 or b.shape[0] % (2 * n):
                raise SpecError(f"{d}: cannot permute {base} for llama.cpp: head count unknown (pass --base)")
            ab["B"] = _permute(b, n)
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    dtype = np.float16 if f16 else np.float32
    for base, ab in sorted(pairs.items()):
        writer.add_tensor(f"{base}.lora_a", np.ascontiguousarray(ab["A"], dtype=dtype))
        writer.add_tensor(f"{base}.lora_b", np.ascontiguousarray(ab["B"], dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    n_layers = len({k.split(".")[1] for k in pairs})
    log.info("wrote %s: %d LoRA tensors over %d layers (%s, r=%d)", out, 2 * len(pairs), n_layers, arch, rank)
    return {"out": str(out), "architecture": arch, "tensors": 2 * len(pairs), "layers": n_layers,
            "modules": sorted({k.split(".")[2] for k in pairs}), "rank": rank, "alpha": alpha,
            "bytes": out.stat().st_size}
