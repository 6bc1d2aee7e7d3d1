"""Issue #20 step 5: the adapter published under ``benchmarks/train/artifacts`` is the one described.

Reads the committed files only (the safetensors header is JSON; no torch, no model), so a
truncated, swapped or re-trained weight file is caught before anyone evaluates it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from medsage.models.local import file_sha256

ART = Path(__file__).resolve().parents[2] / "benchmarks/train/artifacts/qwen-1.5b-medsage-lora"
MODULES = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}


def _header(path: Path) -> dict[str, dict]:
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        head = json.loads(f.read(size))
    head.pop("__metadata__", None)
    return head


def test_weights_match_the_recorded_hash() -> None:
    meta = json.loads((ART / "medsage_adapter.json").read_text(encoding="utf-8"))
    assert file_sha256(ART / "adapter_model.safetensors") == meta["weights_sha256"]
    assert meta["weights_sha256"] in (ART / "README.md").read_text(encoding="utf-8")


def test_tensors_are_the_configured_lora() -> None:
    config = json.loads((ART / "adapter_config.json").read_text(encoding="utf-8"))
    fp = json.loads((ART / "medsage_adapter.json").read_text(encoding="utf-8"))["fingerprint"]
    r, hidden, inter = config["r"], fp["hidden_size"], fp["intermediate_size"]
    kv = hidden // fp["num_attention_heads"] * fp["num_key_value_heads"]
    out_dim = {"self_attn.q_proj": hidden, "self_attn.k_proj": kv, "self_attn.v_proj": kv,
               "self_attn.o_proj": hidden, "mlp.gate_proj": inter, "mlp.up_proj": inter, "mlp.down_proj": hidden}
    in_dim = {m: (inter if m == "mlp.down_proj" else hidden) for m in MODULES}
    head = _header(ART / "adapter_model.safetensors")
    expected = {}
    for layer in config["layers_to_transform"]:
        for m in MODULES:
            stem = f"base_model.model.model.layers.{layer}.{m}"
            expected[f"{stem}.lora_A.weight"] = [r, in_dim[m]]
            expected[f"{stem}.lora_B.weight"] = [out_dim[m], r]
    assert {k: v["shape"] for k, v in head.items()} == expected
    assert {v["dtype"] for v in head.values()} == {"F32"}
    assert len(head) == 2 * 7 * len(config["layers_to_transform"]) == 112
