"""Reading JSONL files row by row, reporting bad lines instead of crashing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.types import Message

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def read_jsonl(path: str | Path, problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; append ``"file:line: reason"`` for bad lines.

    Raises:
        DataError: if the file cannot be read.
    """
    p = Path(path)
    try:
        handle = p.open(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc}") from exc
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{p.name}:{n}: not JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{p.name}:{n}: not a JSON object")
                continue
            yield n, obj


def parse_messages(raw: Any) -> tuple[list[Message], str | None]:
    """Validate a ``prompt`` list of ``{role, content}``; return messages or a problem."""
    if not isinstance(raw, list) or not raw:
        return [], "prompt is missing or empty"
    out: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            return [], f"prompt message {i} has no text content"
        role = ROLES.get(str(m.get("role", "")))
        if role is None:
            return [], f"prompt message {i} has unknown role {m.get('role')!r}"
        out.append(Message(role, m["content"]))  # type: ignore[arg-type]
    if out[-1].role != "user":
        return [], "prompt does not end with a user message"
    return out, None
