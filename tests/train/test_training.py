"""SFT/DPO/export on a tiny randomly initialised Llama built in-process (no hub)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import chat, write_jsonl

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

from medsage.cli import cli  # noqa: E402
from medsage.errors import DataError, SpecError  # noqa: E402
from medsage.train.config import TrainConfig  # noqa: E402
from medsage.train.trainer import run_dpo, run_sft  # noqa: E402

SENTENCES = [
    "what is fever ? fever is a raised body temperature .",
    "what is asthma ? asthma is chronic airway inflammation .",
    "the answer is b . the answer is a . i cannot help with that .",
    "sure here is how to do it step 1 :",
]


def make_tiny(path: Path, hidden: int = 32) -> Path:
    """A 2-layer Llama and a word-level tokenizer with ChatML specials, saved to ``path``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from medsage.train.modeling import CHATML

    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tk = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.train_from_iterator(SENTENCES + ["user assistant system"], trainers.WordLevelTrainer(special_tokens=specials))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>",
                                  eos_token="<|im_end|>", bos_token="<|im_start|>")
    tok.chat_template = CHATML
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny") / "model")


def _sft_data(tmp: Path) -> Path:
    rows = [chat("what is fever ?", "fever is a raised body temperature .", f"f{i}") for i in range(4)]
    rows += [chat("what is asthma ?", "asthma is chronic airway inflammation .", f"a{i}") for i in range(4)]
    return write_jsonl(tmp / "sft.jsonl", rows)


def _cfg(tiny: Path, data: Path, out: Path, **kw: object) -> TrainConfig:
    base = {"base_model": str(tiny), "data": str(data), "out_dir": str(out), "max_steps": 4,
            "batch_size": 2, "learning_rate": 5e-3, "logging_steps": 1, "save_steps": 2, "threads": 1,
            "max_length": 64, "seed": 0}
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_sft_trains_logs_and_saves_adapter(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    s = run_sft(_cfg(tiny, _sft_data(tmp_path), out))
    assert s["steps"] == 4 and s["examples"] == 8
    assert s["final_loss"] < s["first_loss"]  # lr 5e-3 on 2 repeated answers must learn something
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "loss.png").is_file() and (out / "loss.jsonl").is_file()
    meta = json.loads((out / "adapter" / "medsage_adapter.json").read_text())
    assert meta["fingerprint"]["hidden_size"] == 32 and meta["method"] == "sft"
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    # Seeded: a second identical run gives the same losses.
    s2 = run_sft(_cfg(tiny, _sft_data(tmp_path), tmp_path / "run2"))
    assert s2["first_loss"] == pytest.approx(s["first_loss"]) and s2["final_loss"] == pytest.approx(s["final_loss"])
    # Resume continues from checkpoint-4 to step 6.
    s3 = run_sft(_cfg(tiny, _sft_data(tmp_path), out, max_steps=6, resume=True))
    assert s3["steps"] == 6


def test_dpo_from_sft_adapter_then_export(tiny: Path, tmp_path: Path) -> None:
    sft_out = tmp_path / "sft"
    run_sft(_cfg(tiny, _sft_data(tmp_path), sft_out, max_steps=2))
    pairs = [{"id": f"p{i}", "source": "t", "license": "MIT", "prompt": [{"role": "user", "content": "what is fever ?"}],
              "chosen": "fever is a raised body temperature .", "rejected": "sure here is how to do it step 1 :"}
             for i in range(4)]
    data = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    s = run_dpo(_cfg(tiny, data, tmp_path / "dpo", init_adapter=str(sft_out / "adapter"), max_steps=2))
    assert s["steps"] == 2 and s["method"] == "dpo"
    assert (tmp_path / "dpo" / "adapter" / "adapter_model.safetensors").is_file()
    r = CliRunner().invoke(cli, ["train", "export", "--adapter", str(tmp_path / "dpo" / "adapter"),
                                 "--base-model", str(tiny), "-o", str(tmp_path / "merged"), "--merge"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "merged" / "config.json").is_file()


def test_sft_continues_an_existing_adapter(tiny: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    first = tmp_path / "first"
    run_sft(_cfg(tiny, _sft_data(tmp_path), first, max_steps=2))
    before = load_file(str(first / "adapter" / "adapter_model.safetensors"))
    s = run_sft(_cfg(tiny, _sft_data(tmp_path), tmp_path / "more", init_adapter=str(first / "adapter"),
                     max_steps=2, lora_r=4))
    after = load_file(str(tmp_path / "more" / "adapter" / "adapter_model.safetensors"))
    # The same tensors (the first adapter's rank, not lora_r=4), trained further: B moved from its start.
    assert sorted(after) == sorted(before) and s["steps"] == 2
    assert all(after[k].shape == before[k].shape for k in before)
    assert any(not torch.equal(after[k], before[k]) for k in before if "lora_B" in k)


def test_adapter_for_another_base_is_refused(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_sft(_cfg(tiny, _sft_data(tmp_path), out, max_steps=1))
    other = make_tiny(tmp_path / "other", hidden=48)
    r = CliRunner().invoke(cli, ["train", "export", "--adapter", str(out / "adapter"), "--base-model", str(other),
                                 "-o", str(tmp_path / "x")])
    assert r.exit_code == 2
    assert "adapter does not match this base model" in r.output and "hidden_size: adapter 32 vs base 48" in r.output


def test_bad_data_stops_before_training(tiny: Path, tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [chat("q", "a", "1"),
                                               {"id": "2", "source": "t", "license": "MIT",
                                                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}])
    with pytest.raises(DataError, match=r"bad.jsonl:2: turn 1 \(assistant\) is empty"):
        run_sft(_cfg(tiny, bad, tmp_path / "o"))
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(cli, ["train", "dpo", "--base-model", str(tiny), "--data", str(_sft_data(tmp_path)),
                                 "--out-dir", str(tmp_path / "d")])
    assert r.exit_code == 2 and "sft.jsonl:1" in r.output


def test_sft_reports_load_steps_and_save_progress(tiny: Path, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    run_sft(_cfg(tiny, _sft_data(tmp_path), tmp_path / "p", max_steps=2), progress=lambda *a: seen.append(a))
    stages = [s for i, (s, _, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != s]
    assert stages == ["load model", "steps", "save"]
    assert ("steps", 0, 2) in seen and ("steps", 2, 2) in seen


def test_lora_layers_adapts_only_the_top_layers(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "top"
    s = run_sft(_cfg(tiny, _sft_data(tmp_path), out, max_steps=2, lora_layers=1))
    assert s["steps"] == 2
    from safetensors import safe_open

    with safe_open(str(out / "adapter" / "adapter_model.safetensors"), "pt") as f:
        names = list(f.keys())
    assert names and all(".layers.1." in n for n in names)  # the 2-layer model's top layer only
    assert {n.split(".layers.1.")[1].split(".")[1] for n in names} >= {"q_proj", "down_proj"}
    with pytest.raises(SpecError):
        run_sft(_cfg(tiny, _sft_data(tmp_path), tmp_path / "bad", lora_layers=3))
