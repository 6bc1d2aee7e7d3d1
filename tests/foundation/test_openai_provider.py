from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from medsage.errors import ModelError
from medsage.models import get_model
from medsage.types import GenerateConfig, Message

from .stub_openai import Stub

MSGS = [Message("user", "Q?\nA. a\nB. b")]


@pytest.fixture()
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.close()


def model(url: str, **opts: object):
    return get_model("openai/test-model", {"base_url": url, "api_key": "k", "backoff_base": 0.01, **opts})


def test_answer_usage_and_logprobs(stub: Stub) -> None:
    out = asyncio.run(model(stub.url).generate(MSGS, GenerateConfig(top_logprobs=5, seed=1)))
    assert out.text == "The answer is B." and out.usage.prompt_tokens == 10
    assert out.top_logprobs == {"B": -0.1, "A": -2.5}
    assert stub.requests[0]["model"] == "test-model" and stub.requests[0]["seed"] == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(stub: Stub, status: int) -> None:
    stub.script = [status, status]
    out = asyncio.run(model(stub.url).generate(MSGS, GenerateConfig()))
    assert out.error is None and stub.calls == 3


def test_retries_are_bounded(stub: Stub) -> None:
    stub.script = [500] * 10
    out = asyncio.run(model(stub.url, max_retries=2).generate(MSGS, GenerateConfig()))
    assert out.error and stub.calls == 3


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_and_not_found_are_one_clear_error(stub: Stub, status: int) -> None:
    stub.script = [status]
    with pytest.raises(ModelError, match=str(status)):
        asyncio.run(model(stub.url).generate(MSGS, GenerateConfig()))
    assert stub.calls == 1


def test_bad_request_is_recorded_on_the_sample(stub: Stub) -> None:
    stub.script = [400]
    out = asyncio.run(model(stub.url).generate(MSGS, GenerateConfig()))
    assert out.error and stub.calls == 1


@pytest.mark.parametrize("raw", [b"<html>proxy error</html>", b'{"choices": []}', b'{"object": "x"}'])
def test_malformed_reply_is_recorded_on_the_sample(raw: bytes) -> None:
    s = Stub(raw=raw)
    try:
        out = asyncio.run(model(s.url).generate(MSGS, GenerateConfig()))
    finally:
        s.close()
    assert out.error and "malformed reply" in out.error and out.text == "" and s.calls == 1


def test_unreachable_base_url_is_one_clear_error() -> None:
    with pytest.raises(ModelError, match="cannot reach"):
        asyncio.run(model("http://127.0.0.1:9/v1", max_retries=3).generate(MSGS, GenerateConfig()))


def test_missing_key_without_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "MEDSAGE_OPENAI_API_KEY", "OPENAI_BASE_URL", "MEDSAGE_OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ModelError, match="API key"):
        get_model("openai/gpt-4o")


def test_env_base_url(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_OPENAI_BASE_URL", stub.url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = asyncio.run(get_model("openai/x").generate(MSGS, GenerateConfig()))
    assert out.text
