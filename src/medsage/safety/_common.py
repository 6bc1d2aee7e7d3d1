"""Shared helpers of the safety layer: severities, findings, data files (language: :mod:`medsage.lang`)."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from medsage.types import Finding

SEVERITIES = ("info", "low", "moderate", "high", "critical")
ACTIONS = ("annotate", "warn", "block")
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_ACT_RANK = {a: i for i, a in enumerate(ACTIONS)}



def sev_rank(severity: str) -> int:
    return _SEV_RANK.get(severity, 0)


def act_rank(action: str) -> int:
    return _ACT_RANK.get(action, 0)


def msg(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


def finding(
    type: str,
    severity: str,
    message: str,
    evidence: str = "",
    span: tuple[int, int] | None = None,
    action: str | None = None,
    **data: Any,
) -> Finding:
    """Build a :class:`~medsage.types.Finding`; the action defaults from the severity."""
    if action is None:
        action = "block" if sev_rank(severity) >= _SEV_RANK["critical"] else (
            "warn" if sev_rank(severity) >= _SEV_RANK["moderate"] else "annotate")
    return Finding(type=type, severity=severity, message=message, evidence=evidence,
                   span=span, action=action, data={k: v for k, v in data.items() if v is not None})


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {
        "type": f.type,
        "severity": f.severity,
        "action": f.action,
        "message": f.message,
        "evidence": f.evidence,
        "span": list(f.span) if f.span else None,
        "data": f.data,
    }


def data_path(name: str) -> Any:
    return resources.files("medsage").joinpath("data", "safety", name)


@cache
def load_json(name: str) -> Any:
    return json.loads(data_path(name).read_text(encoding="utf-8"))


def load_text(name: str) -> str:
    return str(data_path(name).read_text(encoding="utf-8"))


def lower_same_length(text: str) -> str:
    """``text.lower()`` with offsets preserved (characters whose lowercase is longer stay)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


SENTENCE_BREAK_RE = re.compile(r"[.!?。！？;；\n]")


def sentence_bounds(text: str, pos: int, limit: int = 400) -> tuple[int, int]:
    """(start, end) of the sentence around ``pos`` (bounded to ``limit`` characters each side)."""
    lo = max(0, pos - limit)
    start = lo
    for m in SENTENCE_BREAK_RE.finditer(text, lo, pos):
        # a period inside a number (0.5) is not a sentence break
        if m.group() == "." and m.start() + 1 < len(text) and text[m.start() + 1: m.start() + 2].isdigit():
            continue
        start = m.end()
    hi = min(len(text), pos + limit)
    end = hi
    for m in SENTENCE_BREAK_RE.finditer(text, pos, hi):
        if m.group() == "." and m.start() + 1 < len(text) and text[m.start() + 1: m.start() + 2].isdigit():
            continue
        end = m.start()
        break
    return start, end
