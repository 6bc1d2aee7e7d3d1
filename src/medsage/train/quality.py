"""Quality filters: language, length, licence and exam answer-key consistency.

Each filter returns a reason string for a record it rejects (``None`` keeps
it), so the caller can report exactly what was dropped and why.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medsage.lang import identify_language
from medsage.train.records import Pair, Record

# Explanations that state an answer: "Ans. is 'a'", "Ans-b", "Answer: (c)", "答案：D", "Ans. A".
_EXP_ANSWER = re.compile(
    r"^\s*(?:ans(?:wer)?s?\.?\s*(?:is|:|-|=)?\s*|答案\s*[:：是为]?\s*)[\(\['\"‘“]?([a-eA-E])(?![a-zA-Z])",
    re.IGNORECASE,
)
_NONCOMMERCIAL = re.compile(r"\bNC\b|non-?commercial|research[- ]only", re.IGNORECASE)


def is_commercial_ok(license: str) -> bool:
    """Whether a licence string allows commercial use.

    Fails closed: ``unknown``/empty licences and any NC/research-only
    licence count as not allowed.
    """
    lic = license.strip().lower()
    if not lic or lic in ("unknown", "none", "proprietary"):
        return False
    return not _NONCOMMERCIAL.search(license)


def stated_answer(explanation: str) -> str | None:
    """The option letter an explanation states at its start, if it states one."""
    m = _EXP_ANSWER.match(explanation or "")
    return m.group(1).upper() if m else None


def answer_key_problem(meta: dict[str, Any]) -> str | None:
    """Why an exam record's key is inconsistent, or ``None`` when it is fine.

    Checks: the key is one of the options; options are non-empty and
    distinct; an explanation that states a letter states the same letter.
    """
    choices = meta.get("choices") or {}
    key = str(meta.get("answer", ""))
    if key not in choices:
        return f"answer key {key!r} not among options {sorted(choices)}"
    texts = [str(v).strip().lower() for v in choices.values()]
    if any(not t for t in texts):
        return "an option is empty"
    if len(set(texts)) != len(texts):
        return "two options are identical"
    said = stated_answer(str(meta.get("explanation", "")))
    if said is not None and said != key:
        return f"explanation says {said} but the key is {key}"
    return None


@dataclass
class FilterConfig:
    """Which filters to apply.

    Attributes:
        languages: Keep only these detected languages (empty: keep all).
        min_answer_chars: Minimum characters of the (chosen) answer.
        max_total_chars: Maximum characters of the whole record.
        commercial_only: Drop records whose licence is non-commercial or unknown.
        check_answer_key: Drop exam records whose key is inconsistent.
    """

    languages: tuple[str, ...] = ()
    min_answer_chars: int = 1
    max_total_chars: int = 20000
    commercial_only: bool = False
    check_answer_key: bool = True


@dataclass
class FilterReport:
    """Counts of kept and dropped items and the reasons, with a few examples."""

    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, item_id: str) -> None:
        """Count a drop under the reason's prefix (before ``:``), keeping five examples."""
        key = reason.split(":")[0]
        self.dropped[key] += 1
        ex = self.examples.setdefault(key, [])
        if len(ex) < 5:
            ex.append(f"{item_id}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: kept, dropped by reason, and examples."""
        return {"kept": self.kept, "dropped": dict(self.dropped), "examples": self.examples}


def rejection(item: Record | Pair, cfg: FilterConfig) -> str | None:
    """The reason ``item`` fails ``cfg`` (``None``: it passes)."""
    if cfg.commercial_only and not is_commercial_ok(item.license):
        return f"licence: {item.license!r} does not allow commercial use"
    text = item.all_text()
    if cfg.languages:
        lang = identify_language(item.prompt_text())
        if lang not in cfg.languages:
            return f"language: detected {lang!r}, wanted {'/'.join(cfg.languages)}"
    answer = item.chosen if isinstance(item, Pair) else item.messages[-1]["content"]
    if len(answer.strip()) < cfg.min_answer_chars:
        return f"too_short: answer has {len(answer.strip())} chars (< {cfg.min_answer_chars})"
    if len(text) > cfg.max_total_chars:
        return f"too_long: {len(text)} chars (> {cfg.max_total_chars})"
    if cfg.check_answer_key and item.meta.get("kind") == "exam":
        problem = answer_key_problem(item.meta)
        if problem:
            return f"answer_key: {problem}"
    return None


def apply_filters(items: list[Any], cfg: FilterConfig,
                  progress: Callable[[str, int, int], None] | None = None) -> tuple[list[Any], FilterReport]:
    """Keep the items that pass every filter; report the others by reason.

    ``progress`` gets ``("filter", done, total)`` (:data:`medsage.progress.StageCallback`).
    """
    kept, rep = [], FilterReport()
    for i, it in enumerate(items, 1):
        if progress:
            progress("filter", i, len(items))
        why = rejection(it, cfg)
        if why is None:
            kept.append(it)
        else:
            rep.add(why, it.id)
    rep.kept = len(kept)
    return kept, rep
