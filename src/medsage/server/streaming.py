"""Server-sent events for ``/v1/chat/completions`` with ``stream: true``.

Models that expose ``astream(messages, config)`` (an async iterator of text
pieces) are streamed token by token. Other models (the ``Model.generate``
interface is not streaming) are streamed by sending the final text in small
word/character groups, the first as soon as the model returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

_PIECE = re.compile(r"\S+\s*|\s+")
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def chunk_text(text: str, words: int = 3, cjk_chars: int = 6) -> list[str]:
    """Split ``text`` into small pieces that concatenate back to ``text`` exactly.

    Latin text goes in groups of ``words`` words (with their trailing spaces);
    runs of CJK characters, which have no spaces, in groups of ``cjk_chars``.
    """
    pieces: list[str] = []
    buf: list[str] = []
    for tok in _PIECE.findall(text):
        if CJK.search(tok) and len(tok) > cjk_chars:
            if buf:
                pieces.append("".join(buf))
                buf = []
            pieces.extend(tok[i:i + cjk_chars] for i in range(0, len(tok), cjk_chars))
            continue
        buf.append(tok)
        if len(buf) >= words:
            pieces.append("".join(buf))
            buf = []
    if buf:
        pieces.append("".join(buf))
    return pieces


def sse(data: dict[str, Any] | str) -> bytes:
    """One SSE ``data:`` event."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


def chunk_obj(completion_id: str, created: int, model: str, delta: dict[str, Any],
              finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``chat.completion.chunk`` object."""
    obj: dict[str, Any] = {
        "id": completion_id, "object": "chat.completion.chunk", "created": created,
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    obj.update(extra)
    return obj


async def text_pieces(text: str) -> AsyncIterator[str]:
    """Async iterator over :func:`chunk_text` pieces."""
    for piece in chunk_text(text):
        yield piece
