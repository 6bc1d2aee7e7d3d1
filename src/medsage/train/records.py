"""Chat-format training records and preference pairs, with strict validation.

One JSON object per line. An SFT record::

    {"id": "medmcqa:45258d3d", "messages": [{"role": "user", "content": "..."},
     {"role": "assistant", "content": "..."}], "source": "medmcqa",
     "license": "MIT", "language": "en",
     "provenance": {"path": "...", "line": 3}, "meta": {"kind": "exam", ...}}

A preference pair has ``prompt`` (messages ending with a user turn),
``chosen`` and ``rejected`` (assistant texts) instead of ``messages``.
Every reader raises :class:`~medsage.errors.DataError` naming ``file:line``
on the first malformed record: a training run never starts on partial data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import DataError

ROLES = ("system", "user", "assistant")


@dataclass
class Record:
    """One supervised example in chat format, with provenance and licence."""

    id: str
    messages: list[dict[str, str]]
    source: str
    license: str
    language: str = "en"
    provenance: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def prompt_text(self) -> str:
        """The concatenated non-assistant turns."""
        return "\n".join(m["content"] for m in self.messages if m["role"] != "assistant")

    def all_text(self) -> str:
        """Every turn's content, joined by newlines."""
        return "\n".join(m["content"] for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        """All fields, one JSON line of a training file."""
        return asdict(self)


@dataclass
class Pair:
    """One preference pair: a prompt and a chosen and a rejected answer."""

    id: str
    prompt: list[dict[str, str]]
    chosen: str
    rejected: str
    source: str
    license: str
    language: str = "en"
    provenance: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def prompt_text(self) -> str:
        """The prompt messages' contents joined by newlines."""
        return "\n".join(m["content"] for m in self.prompt)

    def all_text(self) -> str:
        """The prompt, chosen and rejected texts together (what deduplication compares)."""
        return "\n".join([self.prompt_text(), self.chosen, self.rejected])

    def to_dict(self) -> dict[str, Any]:
        """All fields, one JSON line of a DPO file."""
        return asdict(self)


def check_messages(messages: Any, where: str, *, need_final_assistant: bool = True) -> None:
    """Validate a chat: known roles, non-empty strings, roles alternating.

    Allowed shape: optional ``system`` first, then ``user``/``assistant``
    alternating starting with ``user``; SFT chats end with ``assistant``,
    preference prompts (``need_final_assistant=False``) end with ``user``.

    Raises:
        DataError: naming ``where`` and the offending turn.
    """
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list")
    expected = "user"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise DataError(f"{where}: turn {i} must be an object with a string 'content'")
        role = m.get("role")
        if role not in ROLES:
            raise DataError(f"{where}: turn {i} has unknown role {role!r}")
        if not m["content"].strip():
            raise DataError(f"{where}: turn {i} ({role}) is empty")
        if role == "system":
            if i != 0:
                raise DataError(f"{where}: turn {i} is a system message after the first turn")
            continue
        if role != expected:
            raise DataError(
                f"{where}: turn {i} is {role!r} but {expected!r} was expected "
                "(roles must alternate user/assistant after an optional system turn)"
            )
        expected = "assistant" if role == "user" else "user"
    last = messages[-1]["role"]
    want = "assistant" if need_final_assistant else "user"
    if last != want:
        raise DataError(f"{where}: the last turn must be {want!r}, got {last!r}")


def _common(obj: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("id", "source", "license"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise DataError(f"{where}: missing or empty {key!r}")
    return {
        "id": obj["id"],
        "source": obj["source"],
        "license": obj["license"],
        "language": str(obj.get("language", "en")),
        "provenance": dict(obj.get("provenance") or {}),
        "meta": dict(obj.get("meta") or {}),
    }


def record_from_dict(obj: Any, where: str) -> Record:
    """Build a validated :class:`Record` from a parsed JSON object."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object")
    if "messages" not in obj:
        raise DataError(f"{where}: missing 'messages' (is this a preference-pair file?)")
    check_messages(obj["messages"], where)
    msgs = [{"role": m["role"], "content": m["content"]} for m in obj["messages"]]
    return Record(messages=msgs, **_common(obj, where))


def pair_from_dict(obj: Any, where: str) -> Pair:
    """Build a validated :class:`Pair` from a parsed JSON object."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object")
    check_messages(obj.get("prompt"), where, need_final_assistant=False)
    for key in ("chosen", "rejected"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise DataError(f"{where}: {key!r} answer is missing or empty")
    if obj["chosen"].strip() == obj["rejected"].strip():
        raise DataError(f"{where}: 'chosen' and 'rejected' are identical")
    prompt = [{"role": m["role"], "content": m["content"]} for m in obj["prompt"]]
    return Pair(prompt=prompt, chosen=obj["chosen"], rejected=obj["rejected"], **_common(obj, where))


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None


def read_records(path: str | Path) -> list[Record]:
    """Read and validate an SFT JSONL file; raise on the first bad record or an empty file."""
    p = Path(path)
    out = [record_from_dict(obj, f"{p}:{n}") for n, obj in _lines(p)]
    _check_ids(out, p)
    if not out:
        raise DataError(f"{p}: no records")
    return out


def read_pairs(path: str | Path) -> list[Pair]:
    """Read and validate a preference-pair JSONL file; raise on the first bad pair."""
    p = Path(path)
    out = [pair_from_dict(obj, f"{p}:{n}") for n, obj in _lines(p)]
    _check_ids(out, p)
    if not out:
        raise DataError(f"{p}: no preference pairs")
    return out


def read_any(path: str | Path) -> list[Record] | list[Pair]:
    """Read a file of records or of pairs, deciding by its first object."""
    p = Path(path)
    for _, obj in _lines(p):
        if isinstance(obj, dict) and "prompt" in obj and "messages" not in obj:
            return read_pairs(p)
        break
    return read_records(p)


def _check_ids(items: list[Record] | list[Pair], path: Path) -> None:
    seen: set[str] = set()
    ids: list[str] = [it.id for it in items]
    for i, rid in enumerate(ids):
        if rid in seen:
            raise DataError(f"{path}: record {i + 1} repeats id {rid!r}")
        seen.add(rid)


def write_jsonl(items: Iterable[Record | Pair], path: str | Path) -> int:
    """Write records or pairs as JSONL (UTF-8, no ASCII escaping); return the count."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with p.open("w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n
