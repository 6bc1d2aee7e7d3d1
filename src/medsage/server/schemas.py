"""Request bodies (pydantic). Unknown OpenAI fields are accepted and ignored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 200_000


class ContentPart(BaseModel):
    """One part of an OpenAI multi-part message (only text parts are used)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """An OpenAI chat message."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))


class StreamOptions(BaseModel):
    """OpenAI ``stream_options``."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; ``deid`` is a medsage extra."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32768)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=1)
    user: str | None = None
    deid: bool = False


class NoteRequest(BaseModel):
    """``POST /v1/notes`` (JSON form)."""

    transcript: str = Field(min_length=1, max_length=MAX_TEXT)
    model: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    template: str | None = Field(default=None, max_length=50)
    deid: bool = False


class PatientContext(BaseModel):
    """Patient context for the safety check."""

    model_config = ConfigDict(extra="allow")
    age: float | None = Field(default=None, ge=0, le=130)
    weight_kg: float | None = Field(default=None, gt=0, le=500)
    sex: str | None = Field(default=None, max_length=20)
    pregnant: bool | None = None
    egfr: float | None = Field(default=None, ge=0, le=200)
    allergies: list[str] = Field(default_factory=list, max_length=100)
    conditions: list[str] = Field(default_factory=list, max_length=100)


class SafetyRequest(BaseModel):
    """``POST /v1/safety/check``: a medication list and/or free text."""

    medications: list[str] = Field(default_factory=list, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    patient: PatientContext = Field(default_factory=PatientContext)
    language: str | None = Field(default=None, max_length=8)
    deid: bool = False


class DeidRequest(BaseModel):
    """``POST /v1/deid``."""

    text: str = Field(max_length=MAX_TEXT)
    language: str | None = Field(default=None, max_length=8)


def jsonable(obj: Any) -> Any:
    """Dataclasses, tuples and the like as plain JSON values."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    if hasattr(obj, "model_dump"):
        return jsonable(obj.model_dump())
    return str(obj)
