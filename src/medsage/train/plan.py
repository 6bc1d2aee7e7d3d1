"""Dry run of ``train sft|dpo``: data, steps, QLoRA availability and the LoRA setup, no training.

Nothing is downloaded. A local HF model directory is built on the ``meta`` device from its
``config.json`` (no weights read), enough to resolve the adapted modules and count trainable
parameters even at 32B; ``load_model=True`` loads the real weights instead.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from typing import Any

from medsage.errors import MedsageError, SpecError
from medsage.train import trainer
from medsage.train.config import TrainConfig
from medsage.train.modeling import CHATML, load_base, resolve_base

QLORA_MISSING = "qlora: needs a CUDA GPU and bitsandbytes"


def _has(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


def _check(cfg: TrainConfig, method: str) -> None:
    bad = [k for k in ("batch_size", "grad_accum", "max_length", "lora_r", "save_steps", "logging_steps")
           if getattr(cfg, k) < 1] + (["lora_layers"] if cfg.lora_layers < 0 else [])
    if method not in ("sft", "dpo") or bad or (cfg.max_steps <= 0 and cfg.epochs <= 0):
        raise SpecError(f"invalid training setup: method '{method}' (sft|dpo), out of range {bad or '-'}, "
                        f"epochs {cfg.epochs} / max_steps {cfg.max_steps} (one must be positive)")


def estimate_steps(n: int, cfg: TrainConfig) -> dict[str, Any]:
    """Optimiser steps on one device, counted as the transformers Trainer counts them."""
    per_epoch = max(math.ceil(math.ceil(n / cfg.batch_size) / cfg.grad_accum), 1)
    total = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.epochs * per_epoch)
    return {"examples_per_step": cfg.batch_size * cfg.grad_accum, "steps_per_epoch": per_epoch,
            "total_steps": total, "epochs": round(total / per_epoch, 3), "checkpoints": total // cfg.save_steps}


def qlora_status() -> dict[str, Any]:
    """Whether 4-bit loading can work here, and what is missing (a CUDA GPU, bitsandbytes)."""
    cuda = False
    if _has("torch"):
        import torch

        cuda = bool(torch.cuda.is_available())
    missing = [name for name, ok in (("a CUDA GPU", cuda), ("bitsandbytes", _has("bitsandbytes"))) if not ok]
    return {"available": not missing, "missing": missing, "cuda": cuda}


def _base(name: str) -> tuple[Path | None, str]:
    try:
        p = Path(resolve_base(name))
    except MedsageError as exc:
        return None, f"not available here ({exc})"
    if p.suffix == ".gguf" and p.is_file():
        return p, "gguf"
    return (p, "hf-dir") if p.is_dir() else (None, "neither a local model directory nor a .gguf file")


def _model(cfg: TrainConfig, path: Path | None, kind: str, load: bool, qlora_ok: bool) -> tuple[Any, Any, str]:
    """``(model, tokenizer, how)``: the loaded base, a meta-device skeleton, or nothing."""
    if path is None or not _has("peft") or not (load or (kind == "hf-dir" and (path / "config.json").is_file())):
        return None, None, "not loaded"
    trainer._setup(cfg)
    if load:
        model, tok = load_base(str(path), qlora=cfg.qlora and qlora_ok)
        return model, tok, "loaded" + (" without 4-bit quantisation" if cfg.qlora and not qlora_ok else "")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(path), local_files_only=True))
    has_tok = any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True) if has_tok else None
    return model, tok, "architecture only (meta device, no weights read)"


def _lengths(rows: list[dict[str, Any]], tok: Any, max_length: int) -> dict[str, Any]:
    texts = [tok.apply_chat_template(r["prompt"] + r[k], tokenize=False, chat_template=tok.chat_template or CHATML)
             for r in rows for k in ("completion", "chosen", "rejected") if k in r]
    lens = sorted(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"])
    return {"sequences": len(lens), "median_tokens": lens[len(lens) // 2], "max_tokens": lens[-1],
            "over_max_length": sum(n > max_length for n in lens)}


def _lora(cfg: TrainConfig, model: Any) -> dict[str, Any]:
    """The LoRA config the run would use; with a model, wrapped to count what it adapts."""
    if not _has("peft") or (cfg.lora_layers and model is None):
        why = "peft is not installed" if not _has("peft") else f"lora_layers={cfg.lora_layers} needs the model"
        return {"unresolved": why}
    lc = trainer._lora(cfg, model)
    tm = sorted(lc.target_modules) if isinstance(lc.target_modules, (set, list)) else lc.target_modules
    out: dict[str, Any] = {"r": lc.r, "lora_alpha": lc.lora_alpha, "lora_dropout": lc.lora_dropout,
                           "target_modules": tm, "layers_to_transform": lc.layers_to_transform}
    if model is not None:
        from peft import get_peft_model

        pm = get_peft_model(model, lc)
        names = [n for n, m in pm.named_modules() if hasattr(m, "lora_A")]
        out["trainable_params"] = sum(p.numel() for p in pm.parameters() if p.requires_grad)
        out["total_params"] = sum(p.numel() for p in pm.parameters())
        out["resolved_targets"] = sorted({n.rsplit(".", 1)[-1] for n in names})
        out["adapted_layers"] = len({m.group(1) for n in names if (m := re.search(r"\.layers\.(\d+)\.", n))})
    return out


def plan_run(cfg: TrainConfig, *, method: str = "sft", load_model: bool = False) -> dict[str, Any]:
    """A dry run of ``run_sft``/``run_dpo``: validate, read the data, resolve the model setup.

    Args:
        cfg: The training configuration, as ``load_config`` returns it.
        method: ``"sft"`` or ``"dpo"``.
        load_model: Load the real base weights (else a local HF directory's meta-device skeleton).

    Returns:
        Data and step counts, QLoRA availability, the LoRA config (trainable parameters when a model
        or skeleton was built), token lengths (given a tokenizer), ``problems`` and ``ready``.

    Raises:
        MedsageError: SpecError for an invalid setting, DataError for a malformed record (as the run).
    """
    _check(cfg, method)
    rows = trainer.sft_rows(cfg.data) if method == "sft" else trainer.dpo_rows(cfg.data)
    q = qlora_status()
    problems = [msg for bad, msg in (
        (not all(map(_has, ("torch", "transformers", "peft", "trl"))), "the train extra (torch, peft, trl) is missing"),
        (cfg.qlora and not q["available"], f"{QLORA_MISSING} (missing here: {', '.join(q['missing'])})")) if bad]
    path, kind = _base(cfg.base_model)
    model, tok, how = _model(cfg, path, kind, load_model, q["available"])
    if path is None:
        problems.append(f"base model '{cfg.base_model}': {kind}; the model was not loaded")
    plan: dict[str, Any] = {
        "method": method, "data": {"path": cfg.data, "records": len(rows)}, "steps": estimate_steps(len(rows), cfg),
        "base_model": {"name": cfg.base_model, "path": str(path) if path else None, "kind": kind, "model": how},
        "qlora": {"requested": cfg.qlora, **q, "note": QLORA_MISSING if cfg.qlora and not q["available"] else None},
    }
    if cfg.init_adapter:
        found = (Path(cfg.init_adapter) / "adapter_config.json").is_file()
        plan["lora"] = {"from_adapter": cfg.init_adapter, "found": found}  # the run does not call _lora
        problems += [] if found else [f"init_adapter {cfg.init_adapter}: no adapter_config.json"]
    else:
        plan["lora"] = _lora(cfg, model)
    plan["lengths"] = _lengths(rows, tok, cfg.max_length) if tok is not None and rows else None
    plan.update(problems=problems, ready=not problems, config=cfg.to_dict())
    return plan
