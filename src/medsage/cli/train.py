"""``medsage train``: LoRA SFT, DPO and adapter export (needs the ``[train]`` extra)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False), help="JSON or TOML config."),
        click.option("--base-model", help="Local HF model dir, a .gguf file, or 'smollm2' (embedded)."),
        click.option("--data", help="Records JSONL (sft) or preference pairs JSONL (dpo)."),
        click.option("--out-dir", help="Output directory (checkpoints, adapter, loss curve)."),
        click.option("--lora-r", type=int), click.option("--lora-alpha", type=int),
        click.option("--lora-layers", type=int, help="Adapt only the top N layers (0: all; faster on CPU)."),
        click.option("--bf16/--no-bf16", default=None, help="bfloat16 autocast (only where measured faster)."),
        click.option("--qlora/--no-qlora", default=None, help="4-bit base (CUDA only)."),
        click.option("--epochs", type=float), click.option("--max-steps", type=int),
        click.option("--learning-rate", "--lr", "learning_rate", type=float),
        click.option("--batch-size", type=int), click.option("--grad-accum", type=int),
        click.option("--max-length", type=int), click.option("--seed", type=int),
        click.option("--save-steps", type=int), click.option("--logging-steps", type=int),
        click.option("--threads", type=int, help="torch CPU threads (default 2)."),
        click.option("--resume", is_flag=True, default=None, help="Resume from the last checkpoint."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _dry_run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--load-model", is_flag=True,
                     help="With --dry-run: also load the base weights (4-bit under qlora on a GPU) and wrap them.")(f)
    return click.option("--dry-run", is_flag=True,
                        help="Check config, data, QLoRA availability and the LoRA setup; print the plan "
                             "as JSON; do not train. A local HF model dir is read as an empty "
                             "(meta-device) skeleton; nothing is downloaded.")(f)


def _run(method: str, config_path: str | None, flags: dict[str, Any]) -> None:
    """Run ``sft``/``dpo``: progress on stderr, the run summary as JSON on stdout.

    Progress shows the stages and the optimiser steps with rate, ETA and loss. With
    ``--dry-run`` the plan (:func:`medsage.train.plan.plan_run`) is printed instead.
    """
    from medsage.progress import StageProgress
    from medsage.train import trainer
    from medsage.train.config import load_config

    dry_run, load_model = flags.pop("dry_run"), flags.pop("load_model")
    if load_model and not dry_run:
        raise click.UsageError("--load-model goes with --dry-run")
    cfg = load_config(config_path, flags)
    if dry_run:
        from medsage.train.plan import plan_run

        click.echo(json.dumps(plan_run(cfg, method=method, load_model=load_model), indent=2, ensure_ascii=False))
        return
    with StageProgress(f"train {method}", units={"steps": "steps", "eval": "batches"}) as stages:
        summary = (trainer.run_sft if method == "sft" else trainer.run_dpo)(cfg, progress=stages)
    click.echo(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))


@click.group()
def train() -> None:
    """Fine-tune an open model on curated medical data (LoRA SFT, then DPO).

    Progress (model load, optimiser steps with rate, ETA and loss, save) goes to stderr;
    the run summary is JSON on stdout.
    """


@train.command()
@_options
@click.option("--init-adapter", type=click.Path(file_okay=False),
              help="Continue training this adapter instead of a fresh LoRA.")
@_dry_run_options
def sft(config_path: str | None, **flags: Any) -> None:
    """Supervised LoRA fine-tuning on chat-format records."""
    _run("sft", config_path, flags)


@train.command()
@_options
@click.option("--init-adapter", type=click.Path(file_okay=False), help="Start from this SFT adapter.")
@click.option("--beta", type=float, help="DPO beta (default 0.1).")
@_dry_run_options
def dpo(config_path: str | None, **flags: Any) -> None:
    """Direct preference optimisation on chosen/rejected pairs."""
    _run("dpo", config_path, flags)


@train.command()
@click.option("--adapter", required=True, type=click.Path(file_okay=False))
@click.option("--base-model", required=True, help="The base the adapter was trained on.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False))
@click.option("--merge", is_flag=True, help="Fold the adapter into the base (safetensors).")
@click.option("--gguf", is_flag=True, help="Also convert the merged model to GGUF (needs llama.cpp).")
def export(adapter: str, base_model: str, out: str, merge: bool, gguf: bool) -> None:
    """Check an adapter against its base and export it (adapter, merged, GGUF)."""
    from medsage.train.adapter import export_adapter

    for p in export_adapter(adapter, base_model, out, merge=merge, gguf=gguf):
        click.echo(p)


@train.command("export-lora")
@click.argument("adapter_dir", type=click.Path(file_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="The .gguf file to write.")
@click.option("--base", "base_gguf", type=click.Path(dir_okay=False),
              help="The base model's GGUF: its architecture, and a shape check of every adapted weight.")
@click.option("--f16", is_flag=True, help="Store the adapter as F16 (default F32).")
def export_lora(adapter_dir: str, out: str, base_gguf: str | None, f16: bool) -> None:
    """Convert a PEFT LoRA adapter to a llama.cpp LoRA GGUF (use with local/... -M lora=FILE)."""
    from medsage.train.gguf_lora import convert_adapter

    s = convert_adapter(adapter_dir, out, base_gguf=base_gguf, f16=f16)
    click.echo(f"{s['out']}: {s['architecture']} LoRA, {s['tensors']} tensors over {s['layers']} layers "
               f"({', '.join(s['modules'])}), r={s['rank']}, alpha={s['alpha']:g}, {s['bytes']:,} bytes")
