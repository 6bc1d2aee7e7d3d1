"""Adapter metadata, compatibility checks, loading and export (merged / GGUF)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MissingExtraError
from medsage.train.modeling import base_fingerprint

META = "medsage_adapter.json"


def write_meta(adapter_dir: Path, model: Any, base: str, extra: dict[str, Any]) -> None:
    """Record which base the adapter was trained on, with its architecture fingerprint."""
    meta = {"base_model": base, "fingerprint": base_fingerprint(model), **extra}
    (adapter_dir / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")


def check_adapter(adapter_dir: str | Path, model: Any) -> dict[str, Any]:
    """Raise :class:`DataError` unless ``adapter_dir`` is a LoRA adapter for ``model``.

    Compares the architecture fingerprint medsage stored at training time with
    the given base; adapters from elsewhere are checked for their target
    modules existing in the base (shape mismatches surface on load).
    """
    d = Path(adapter_dir)
    cfg_path = d / "adapter_config.json"
    if not cfg_path.is_file():
        raise DataError(f"{d}: not a PEFT adapter (no adapter_config.json)")
    try:
        acfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{cfg_path}: not valid JSON ({exc.msg})") from None
    meta_path = d / META
    if meta_path.is_file():
        want = json.loads(meta_path.read_text(encoding="utf-8")).get("fingerprint", {})
        have = base_fingerprint(model)
        diff = {k: (want[k], have.get(k)) for k in want if want[k] != have.get(k)}
        if diff:
            detail = ", ".join(f"{k}: adapter {a} vs base {b}" for k, (a, b) in diff.items())
            raise DataError(f"{d}: adapter does not match this base model ({detail})")
    targets = acfg.get("target_modules") or []
    if isinstance(targets, list) and targets:
        names = [n for n, _ in model.named_modules()]
        missing = sorted(t for t in targets if not any(n == t or n.endswith("." + t) for n in names))
        if missing:
            raise DataError(f"{d}: adapter targets modules the base model lacks: {', '.join(missing)}")
    return dict(acfg)


def load_adapter(model: Any, adapter_dir: str | Path, trainable: bool = False) -> Any:
    """Wrap ``model`` with the checked adapter; shape mismatches become DataError."""
    check_adapter(adapter_dir, model)
    from peft import PeftModel

    try:
        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=trainable)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise DataError(f"{adapter_dir}: adapter does not fit this base model ({str(exc)[:300]})") from None


def export_adapter(adapter_dir: str | Path, base: str, out: str | Path, merge: bool = False,
                   gguf: bool = False) -> list[str]:
    """Check the adapter against ``base`` and write it (or a merged model) to ``out``.

    * plain: a copy of the PEFT adapter — loadable by ``peft`` (the ``hf``
      provider) and by vLLM (``--enable-lora --lora-modules name=OUT``);
    * ``merge``: the base with the adapter folded in, as a safetensors HF model;
    * ``gguf``: additionally convert the merged model with llama.cpp's
      ``convert_hf_to_gguf.py`` when it is on PATH (it is not a PyPI package).

    Returns the written paths.
    """
    from medsage.train.modeling import load_base

    model, tok = load_base(base)
    peft_model = load_adapter(model, adapter_dir)
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    if not merge and not gguf:
        for f in Path(adapter_dir).iterdir():
            if f.is_file():
                shutil.copy2(f, outp / f.name)
        return [str(outp)]
    merged = peft_model.merge_and_unload()
    merged.save_pretrained(str(outp))
    tok.save_pretrained(str(outp))
    written = [str(outp)]
    if gguf:
        script = shutil.which("convert_hf_to_gguf.py") or shutil.which("convert_hf_to_gguf")
        if script is None:
            raise MissingExtraError(
                "llama.cpp's convert_hf_to_gguf.py", "",
                f"GGUF export (the merged model is in {outp}; run  convert_hf_to_gguf.py {outp}  "
                "where llama.cpp is installed)",
                command="a llama.cpp checkout with convert_hf_to_gguf.py on PATH (not a PyPI package)",
            )
        import subprocess

        target = outp / "model.gguf"
        subprocess.run([script, str(outp), "--outfile", str(target)], check=True, timeout=3600)
        written.append(str(target))
    return written
