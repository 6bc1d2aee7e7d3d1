"""Training configuration: a dataclass, read from JSON or TOML, overridden by CLI flags."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from medsage.errors import SpecError


@dataclass
class TrainConfig:
    """Everything one SFT or DPO run needs.

    Attributes:
        base_model: A local Hugging Face model directory, or a ``.gguf`` file
            (dequantised by transformers; needs the ``gguf`` package).
        data: SFT records JSONL (``sft``) or preference pairs JSONL (``dpo``).
        out_dir: Where checkpoints, the adapter, logs and the loss curve go.
        init_adapter: Start from this adapter instead of a fresh one (SFT: continue
            training it; DPO: the SFT adapter to optimise).
        qlora: Load the base in 4 bits (bitsandbytes; GPU only).
        max_steps: Stop after this many optimiser steps (-1: run ``epochs``).
        lora_layers: Adapt only the top N transformer layers (0: all). On CPU this also
            stops the backward pass at the lowest adapted layer, so it trains faster.
        bf16: bfloat16 autocast (CPU or GPU); use only where measured faster.
        threads: torch CPU threads (keep 1-2 on a shared machine).
        beta: DPO temperature.
    """

    base_model: str = ""
    data: str = ""
    out_dir: str = "runs/train"
    init_adapter: str | None = None
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    lora_layers: int = 0
    bf16: bool = False
    qlora: bool = False
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    batch_size: int = 2
    grad_accum: int = 1
    max_length: int = 512
    seed: int = 0
    save_steps: int = 50
    logging_steps: int = 5
    threads: int | None = 2
    beta: float = 0.1
    resume: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields, as recorded in ``train_summary.json``."""
        return asdict(self)


def load_config(path: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Read ``path`` (``.json`` or ``.toml``; may be ``None``) and apply non-``None`` overrides.

    Raises:
        SpecError: unknown keys, an unreadable file, or a missing base model/data.
    """
    raw: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise SpecError(f"{p}: training config file not found")
        try:
            raw = tomllib.loads(p.read_text()) if p.suffix == ".toml" else json.loads(p.read_text())
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise SpecError(f"{p}: cannot parse training config ({exc})") from None
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SpecError(f"unknown training option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    cfg = TrainConfig(**raw)
    for key in ("base_model", "data"):
        if not getattr(cfg, key):
            raise SpecError(f"training needs '{key}' (config file or --{key.replace('_', '-')})")
    return cfg
