"""LoRA supervised fine-tuning and DPO with transformers + peft + trl.

Both runs read their data strictly first (any malformed record stops the run
before a model is loaded), are seeded, checkpoint every ``save_steps`` and can
resume, log the loss curve, and save a PEFT adapter with medsage metadata.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from medsage.errors import DataError, SpecError
from medsage.progress import StageCallback
from medsage.train.config import TrainConfig
from medsage.train.logs import peak_rss_mb, write_loss_log
from medsage.train.records import read_pairs, read_records

log = logging.getLogger(__name__)


def sft_rows(path: str) -> list[dict[str, Any]]:
    """Prompt/completion chat rows (loss on the final assistant turn) from a records file."""
    recs = read_records(path)
    return [{"prompt": r.messages[:-1], "completion": [r.messages[-1]]} for r in recs]


def dpo_rows(path: str) -> list[dict[str, Any]]:
    """Conversational preference rows from a pairs file."""
    pairs = read_pairs(path)
    return [{"prompt": p.prompt, "chosen": [{"role": "assistant", "content": p.chosen}],
             "rejected": [{"role": "assistant", "content": p.rejected}]} for p in pairs]


def _setup(cfg: TrainConfig) -> Any:
    from medsage.train.modeling import require_train

    require_train()
    import torch
    from transformers import set_seed

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    set_seed(cfg.seed)
    return torch


def _lora(cfg: TrainConfig, model: Any = None) -> Any:
    from peft import LoraConfig

    layers = None
    targets = cfg.target_modules
    if cfg.lora_layers:
        n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
        if not n_layers or cfg.lora_layers > n_layers:
            raise SpecError(f"lora_layers={cfg.lora_layers}: the model has {n_layers} layers")
        layers = list(range(n_layers - cfg.lora_layers, n_layers))
        if targets == "all-linear":  # peft needs names to restrict layers: every linear leaf but the head
            targets = _linear_names(model)
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, layers_to_transform=layers, task_type="CAUSAL_LM")


def _linear_names(model: Any) -> list[str]:
    import torch

    return sorted({name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
                   if isinstance(mod, torch.nn.Linear) and ".layers." in f".{name}"})


def _common_args(cfg: TrainConfig, torch: Any) -> dict[str, Any]:
    return {
        "output_dir": str(Path(cfg.out_dir) / "checkpoints"), "max_steps": cfg.max_steps,
        "num_train_epochs": cfg.epochs, "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum, "learning_rate": cfg.learning_rate,
        "logging_steps": cfg.logging_steps, "save_steps": cfg.save_steps, "save_total_limit": 2,
        "seed": cfg.seed, "data_seed": cfg.seed, "report_to": "none", "max_length": cfg.max_length,
        "use_cpu": not torch.cuda.is_available(), "bf16": cfg.bf16, "disable_tqdm": True,
        "logging_first_step": True, "dataloader_num_workers": 0,
    }


def _resume_arg(cfg: TrainConfig) -> bool | None:
    if not cfg.resume:
        return None
    ck = Path(cfg.out_dir) / "checkpoints"
    if not any(ck.glob("checkpoint-*")):
        raise SpecError(f"--resume: no checkpoint under {ck}")
    return True


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress reporting."""


def _load(cfg: TrainConfig, report: StageCallback) -> tuple[Any, Any]:
    from medsage.train.modeling import load_base

    report("load model", 0, 1)
    model, tok = load_base(cfg.base_model, qlora=cfg.qlora)
    report("load model", 1, 1)
    return model, tok


def _callbacks(progress: StageCallback | None) -> list[Any] | None:
    if progress is None:
        return None
    from medsage.train.callbacks import progress_callback

    return [progress_callback(progress)]


def _finish(trainer: Any, cfg: TrainConfig, method: str, n: int, t0: float, torch: Any) -> dict[str, Any]:
    from medsage.train.adapter import write_meta

    out = Path(cfg.out_dir)
    adapter = out / "adapter"
    trainer.model.save_pretrained(str(adapter))
    trainer.processing_class.save_pretrained(str(adapter))
    sha = hashlib.sha256(Path(cfg.data).read_bytes()).hexdigest()
    base_model = trainer.model.get_base_model() if hasattr(trainer.model, "get_base_model") else trainer.model
    write_meta(adapter, base_model, cfg.base_model,
               {"method": method, "data": cfg.data, "data_sha256": sha, "seed": cfg.seed})
    curve = write_loss_log(trainer.state.log_history, out, f"{method.upper()} loss ({n} examples)")
    summary = {
        "method": method, "base_model": cfg.base_model, "examples": n,
        "steps": int(trainer.state.global_step), "wall_s": round(time.time() - t0, 1),
        "peak_rss_mb": peak_rss_mb(),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None,
        "first_loss": curve["loss"][0] if curve["loss"] else None,
        "final_loss": curve["loss"][-1] if curve["loss"] else None,
        "adapter": str(adapter), "config": cfg.to_dict(),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def run_sft(cfg: TrainConfig, progress: StageCallback | None = None) -> dict[str, Any]:
    """LoRA/QLoRA supervised fine-tuning on a records file; returns the run summary.

    With ``init_adapter`` the given adapter is trained further (its rank, layers and
    modules; the LoRA options are then ignored) instead of a fresh one.

    ``progress`` gets the stages ``load model``, ``steps`` (optimiser steps), ``eval`` and ``save``.
    """
    rows = sft_rows(cfg.data)  # validate before anything heavy
    torch = _setup(cfg)
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    t0 = time.time()
    model, tok = _load(cfg, progress or _quiet)
    if cfg.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    peft_config = None
    if cfg.init_adapter:  # continue training an existing adapter (e.g. on a new prompt format)
        from medsage.train.adapter import load_adapter

        model = load_adapter(model, cfg.init_adapter, trainable=True)
    else:
        peft_config = _lora(cfg, model)
    args = SFTConfig(**_common_args(cfg, torch), completion_only_loss=True, packing=False)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tok, peft_config=peft_config, callbacks=_callbacks(progress))
    trainer.train(resume_from_checkpoint=_resume_arg(cfg))
    (progress or _quiet)("save", 0, 1)
    return _finish(trainer, cfg, "sft", len(rows), t0, torch)


def run_dpo(cfg: TrainConfig, progress: StageCallback | None = None) -> dict[str, Any]:
    """DPO on a preference-pairs file, from a fresh LoRA or an SFT adapter (``init_adapter``).

    ``progress`` gets the same stages as :func:`run_sft`.
    """
    rows = dpo_rows(cfg.data)
    torch = _setup(cfg)
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from medsage.train.adapter import load_adapter

    t0 = time.time()
    model, tok = _load(cfg, progress or _quiet)
    peft_config = None
    if cfg.init_adapter:
        model = load_adapter(model, cfg.init_adapter, trainable=True)
    else:
        peft_config = _lora(cfg, model)
    args = DPOConfig(**_common_args(cfg, torch), beta=cfg.beta)
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tok, peft_config=peft_config, callbacks=_callbacks(progress))
    trainer.train(resume_from_checkpoint=_resume_arg(cfg))
    if not trainer.state.log_history:
        raise DataError(f"{cfg.data}: DPO ran no step")
    (progress or _quiet)("save", 0, 1)
    return _finish(trainer, cfg, "dpo", len(rows), t0, torch)
