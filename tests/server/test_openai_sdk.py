"""The official ``openai`` SDK, unchanged, against a live uvicorn on 127.0.0.1."""

from __future__ import annotations

import pytest

from .conftest import Live

openai = pytest.importorskip("openai")


def client(live: Live, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url + "/v1", api_key=key or live.clinician, max_retries=0,
                         timeout=20)


def test_sdk_lists_models(live: Live) -> None:
    ids = [m.id for m in client(live).models.list()]
    assert "mock/echo" in ids and "mock/fixed" in ids


def test_sdk_chat_non_streaming(live: Live) -> None:
    r = client(live).chat.completions.create(
        model="mock/echo", messages=[{"role": "user", "content": "BP 150/95, headache"}])
    assert r.choices[0].message.content == "BP 150/95, headache"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.total_tokens > 0
    extra = r.model_extra or {}
    assert extra["medsage"]["deid_applied"] is False  # extras ride along, SDK ignores them


def test_sdk_chat_streaming(live: Live) -> None:
    text = "Metformin 500 mg twice daily with meals; review renal function in three months."
    stream = client(live).chat.completions.create(
        model="mock/echo", messages=[{"role": "user", "content": text}], stream=True,
        stream_options={"include_usage": True})
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == text
    assert sum(1 for p in pieces if p) > 3
    assert finish == "stop" and usage is not None


def test_sdk_async_streaming(live: Live) -> None:
    import asyncio

    async def go() -> str:
        c = openai.AsyncOpenAI(base_url=live.url + "/v1", api_key=live.clinician, max_retries=0)
        stream = await c.chat.completions.create(
            model="mock/fixed", messages=[{"role": "user", "content": "q"}], stream=True)
        out = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        await c.close()
        return out

    assert asyncio.run(go()) == "The answer is A."


def test_sdk_errors_map_to_sdk_exceptions(live: Live) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(live, "msk_bad_key").models.list()
    with pytest.raises(openai.NotFoundError) as exc:
        client(live).chat.completions.create(model="gpt-unknown",
                                             messages=[{"role": "user", "content": "x"}])
    assert exc.value.code == "model_not_found"
    with pytest.raises(openai.UnprocessableEntityError):
        client(live).chat.completions.create(model="mock/echo", messages=[])


def test_live_requests_are_audited(live: Live) -> None:
    before = live.store.count_audit()
    client(live).chat.completions.create(model="mock/echo", messages=[{"role": "user", "content": "y"}])
    assert live.store.count_audit() == before + 1
