"""The OpenAI-compatible routes: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Medsage extras (citations, safety findings, whether de-identification was
applied, the clinician disclaimer) travel in an extra top-level ``medsage``
object that plain OpenAI clients ignore. In a stream they arrive on the last
chunk before ``[DONE]``.

Every answer, from a base model or a pipeline, carries the safety findings of the
user's message as ``medsage safety check`` reports them (:mod:`medsage.safety.carry`):
``medsage.input_safety`` (triage level, strongest action, findings), the findings merged
into ``medsage.findings``, and emergency guidance / blocking findings before the answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from medsage.models.base import Model
from medsage.server import services
from medsage.server.audit import findings_summary
from medsage.server.config import is_remote
from medsage.server.deps import Caller, service
from medsage.server.errors import APIError
from medsage.server.schemas import ChatRequest, jsonable
from medsage.server.streaming import chunk_obj, sse, text_pieces
from medsage.types import DISCLAIMER, GenerateConfig, Message, ModelOutput

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models")
async def list_models(request: Request, _: Caller) -> dict[str, Any]:
    """The base models and the medsage pipelines this server answers to."""
    svc = service(request)
    created = int(time.time())
    return {"object": "list", "data": [
        {"id": mid, "object": "model", "created": created, "owned_by": owner}
        for mid, owner in svc.model_ids()
    ]}


def _messages(body: ChatRequest) -> list[Message]:
    out: list[Message] = []
    for i, m in enumerate(body.messages):
        if m.role == "tool":
            raise APIError(400, "tool messages are not supported", "unsupported_role",
                           f"messages.{i}.role")
        role = "system" if m.role == "developer" else m.role
        out.append(Message(role, m.text()))  # type: ignore[arg-type]
    if not any(m.role == "user" for m in out):
        raise APIError(400, "messages must contain at least one user message",
                       "no_user_message", "messages")
    return out


def _config(body: ChatRequest) -> GenerateConfig:
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return GenerateConfig(
        max_tokens=body.max_completion_tokens or body.max_tokens or 512,
        temperature=body.temperature if body.temperature is not None else 0.0,
        top_p=body.top_p, seed=body.seed, stop=stop,
    )


async def _deidentify(messages: list[Message]) -> tuple[list[Message], list[dict[str, Any]]]:
    out: list[Message] = []
    entities: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "user":
            text, found = await services.deid(m.content)
            entities.extend(found)
            out.append(Message(m.role, text))
        else:
            out.append(m)
    return out, entities


def _extras(output: ModelOutput, deid_applied: bool, entities: list[dict[str, Any]]) -> dict[str, Any]:
    extras = jsonable(output.extras)
    return {
        "citations": [services.public_citation(c) for c in extras.get("citations", []) or []],
        "findings": extras.get("findings", []),
        "input_safety": extras.get("input_safety"),
        "deid_applied": deid_applied,
        "deid_entities": len(entities),
        "disclaimer": DISCLAIMER,
    }


def carry_input(messages: list[Message], output: ModelOutput) -> ModelOutput:
    """``output`` with the last user message's safety findings carried in (once)."""
    if "input_safety" in output.extras:  # a pipeline already did
        return output
    from medsage.safety.carry import carry
    from medsage.types import CaseState, Sample

    question = next((m.content for m in reversed(messages) if m.role == "user"), "")
    state = CaseState(sample=Sample(id="-", question=question), messages=tuple(messages),
                      config=GenerateConfig(), output=output)
    return carry(state).output or output


def _usage(output: ModelOutput) -> dict[str, int]:
    return {"prompt_tokens": output.usage.prompt_tokens,
            "completion_tokens": output.usage.completion_tokens,
            "total_tokens": output.usage.total_tokens}


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request,
                           _: Caller) -> dict[str, Any] | StreamingResponse:
    """OpenAI chat completions, streamed (SSE) or not, over a base model or a pipeline."""
    svc = service(request)
    request.state.model = body.model
    spec, _pipeline = svc.resolve(body.model)
    messages = _messages(body)
    config = _config(body)
    deid_applied = body.deid or (svc.config.deid_remote and is_remote(spec))
    entities: list[dict[str, Any]] = []
    if deid_applied:
        request.state.deid_applied = True  # the audit log never keeps this request's raw text
        messages, entities = await _deidentify(messages)
    model = await svc.get_model(body.model)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        request.state.streaming = True
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        first = await _first_step(model, messages, config)
        reply = _StreamReply(completion_id, created, body.model, deid_applied, entities, include_usage)
        gen = _stream(request, model, messages, first, reply)
        return StreamingResponse(gen, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    output = await model.generate(messages, config)
    if output.error:
        raise APIError(502, f"the model failed: {output.error}", "model_error", "model")
    output = carry_input(messages, output)
    extras = _extras(output, deid_applied, entities)
    request.state.findings = findings_summary(extras["findings"])
    return {
        "id": completion_id, "object": "chat.completion", "created": created,
        "model": body.model, "system_fingerprint": None,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": output.text,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(output),
        "medsage": extras,
    }


async def _first_step(model: Model, messages: list[Message],
                      config: GenerateConfig) -> ModelOutput | AsyncIterator[str]:
    """Either a token iterator (models with ``astream``) or the finished output.

    Running the model before the response starts lets a failing model still get
    a proper 502 instead of a broken stream.
    """
    astream = getattr(model, "astream", None)
    if callable(astream):
        stream: AsyncIterator[str] = astream(messages, config)
        return stream
    output = await model.generate(messages, config)
    if output.error:
        raise APIError(502, f"the model failed: {output.error}", "model_error", "model")
    return output


@dataclass(frozen=True)
class _StreamReply:
    """One streamed completion: what every chunk repeats and what the final chunk reports."""

    cid: str
    created: int
    model_id: str
    deid_applied: bool
    entities: list[dict[str, Any]]
    include_usage: bool

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        """One ``chat.completion.chunk`` as an SSE event."""
        return sse(chunk_obj(self.cid, self.created, self.model_id, delta, finish, **extra))


async def _stream(request: Request, model: Model, messages: list[Message],
                  first: ModelOutput | AsyncIterator[str], reply: _StreamReply) -> AsyncIterator[bytes]:
    """The SSE events of a streamed completion, ending with the medsage extras and ``[DONE]``."""
    # Every piece is followed by a checkpoint: without one the loop never hands control
    # back to the event loop, so a client that hung up is not noticed (the stream runs
    # to the end, writing into a dead socket). At the checkpoint the response's
    # disconnect listener cancels the stream, and the model's iterator is closed.
    yield reply.chunk({"role": "assistant", "content": ""})
    if isinstance(first, ModelOutput):
        output = carry_input(messages, first)
        async for piece in text_pieces(output.text):
            yield reply.chunk({"content": piece})
            await anyio.sleep(0)
    else:
        head = carry_input(messages, ModelOutput(text="", model=model.name))  # guidance goes first
        parts: list[str] = [head.text + "\n\n"] if head.text else []
        if parts:
            yield reply.chunk({"content": parts[0]})
        try:
            async for piece in first:
                parts.append(piece)
                yield reply.chunk({"content": piece})
                await anyio.sleep(0)
        except Exception as exc:  # noqa: BLE001 - report in-band; headers are already sent
            yield sse({"error": {"message": f"the model failed: {type(exc).__name__}",
                                 "type": "model_error", "param": None, "code": "model_error"}})
            return
        finally:
            closer = getattr(first, "aclose", None)
            if callable(closer):
                with anyio.CancelScope(shield=True):
                    await closer()  # stop generating when the client went away
        text = "".join(parts)
        output = ModelOutput(text=text, model=model.name, extras=head.extras)
    extras = _extras(output, reply.deid_applied, reply.entities)
    request.state.findings = findings_summary(extras["findings"])
    yield reply.chunk({}, "stop", medsage=extras)
    if reply.include_usage:
        usage_chunk = chunk_obj(reply.cid, reply.created, reply.model_id, {}, None, usage=_usage(output))
        usage_chunk["choices"] = []
        yield sse(usage_chunk)
    yield sse("[DONE]")
