"""Chat-format SFT records that teach the reasoning or the fact, not only a letter.

The prompt is the one ``medsage bench`` sends (:func:`medsage.tasks.exams.common.exam_messages`),
so the adapter is trained on the evaluation format. An item with an explanation
gets the chain-of-thought prompt and a target of a short reasoning followed by the
answer; an item without one gets the direct prompt and a target of the answer
letter plus the option text (the fact).
"""

from __future__ import annotations

import re
from typing import Any

from medsage.tasks.exams.common import exam_messages
from medsage.train.curation.catalog import SOURCES_MD, SourceSpec
from medsage.train.curation.load import Item
from medsage.train.records import Record
from medsage.train.sources.builders import answer_text

_STOPS = "。！？；.!?;"
_META_KEYS = ("discipline", "topic", "tier", "year", "question_type")


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` at the last sentence end (or with "…")."""
    text = re.sub(r"[ \t]+", " ", re.sub(r"\s*\n\s*", "\n", text)).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    end = max(cut.rfind(c) for c in _STOPS)
    return cut[: end + 1] if end >= max_chars // 2 else cut.rstrip() + "…"


def reasoning(item: Item, max_chars: int) -> str:
    """The explanation as a short reasoning, or ``""`` (none, or too short to teach anything)."""
    if not item.explanation or max_chars <= 0:
        return ""
    text = item.explanation
    return shorten(text, max_chars) if len(re.sub(r"\W", "", text)) >= 8 else ""


def to_record(item: Item, spec: SourceSpec, max_reasoning_chars: int) -> Record:
    """One SFT record for ``item`` with its provenance and licence."""
    s = item.sample
    zh = s.language == "zh"
    why = reasoning(item, max_reasoning_chars)
    mode = "cot" if why else "generate"
    fact = answer_text(s.target, s.choices[s.target], zh)
    target = f"{why}\n{fact}" if why else fact
    messages = [m.to_dict() for m in exam_messages(s, mode)] + [{"role": "assistant", "content": target}]
    meta: dict[str, Any] = {
        "kind": "exam", "answer": s.target, "choices": dict(s.choices), "explanation": why,
        "target": "reasoning" if why else "fact", "mode": mode, "shippable": spec.shippable,
        "original_answer": s.metadata.get("original_target", s.target), "rotation": s.metadata.get("rotation", 0),
    }
    meta.update({k: s.metadata[k] for k in _META_KEYS if s.metadata.get(k) not in (None, "")})
    return Record(
        id=f"{spec.name}:{s.id}", messages=messages, source=spec.name, license=spec.licence, language=s.language,
        provenance={"path": item.path, "where": item.where, "source_id": s.id,
                    "origin": spec.origin, "licence_from": SOURCES_MD},
        meta=meta,
    )
