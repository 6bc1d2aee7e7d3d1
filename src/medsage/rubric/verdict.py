"""Parsing grader replies into verdicts.

A reply is *parsed* when it holds one JSON object (optionally in a markdown
```json fence, optionally surrounded by stray text) whose ``criteria_met`` is a
JSON boolean. Anything else gets a status instead of a guess:

* ``unparsed``: no JSON object, or ``criteria_met`` missing / not a boolean
  (``"yes"``, ``1`` and ``"true"`` are *not* accepted: the reference retries on them).
* ``contradictory``: the reply states two different verdicts (a duplicated
  ``criteria_met`` key with different values, or several JSON objects that disagree).

Graders are retried a bounded number of times on either status
(see :mod:`medsage.rubric.grading`); a verdict that stays bad is recorded with
its status and ``criteria_met = None``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    """A parsed grader reply.

    Attributes:
        criteria_met: The verdict, or ``None`` when the reply was not usable.
        explanation: The grader's explanation ("" if none).
        status: ``ok`` | ``unparsed`` | ``contradictory``.
        reason: Why the status is not ``ok``.
    """

    criteria_met: bool | None
    explanation: str = ""
    status: str = "ok"
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the reply gave one clear verdict (neither unparsed nor contradictory)."""
        return self.status == "ok"


class _DuplicateKeys(dict[str, Any]):
    """A dict that remembers every value given for ``criteria_met``."""

    seen: list[Any]


def _hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _DuplicateKeys()
    out.seen = []
    for key, value in pairs:
        if key == "criteria_met":
            out.seen.append(value)
        out[key] = value
    return out


def _candidates(text: str) -> list[str]:
    """JSON object candidates: fenced blocks first, then every balanced {...} span."""
    found = [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    if found:
        return found
    spans: list[str] = []
    depth, start, in_str, esc = 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def parse_verdict(text: str | None) -> Verdict:
    """Parse one grader reply (never raises)."""
    if not text or not text.strip():
        return Verdict(None, status="unparsed", reason="empty reply")
    objects: list[_DuplicateKeys] = []
    for cand in _candidates(text):
        try:
            obj = json.loads(cand, object_pairs_hook=_hook)
        except ValueError:
            continue
        if isinstance(obj, _DuplicateKeys):
            objects.append(obj)
    if not objects:
        return Verdict(None, status="unparsed", reason="no JSON object in reply")
    with_verdict = [o for o in objects if o.seen]
    if not with_verdict:
        return Verdict(None, status="unparsed", reason="no criteria_met field")
    values = [v for o in with_verdict for v in o.seen]
    if any(not isinstance(v, bool) for v in values):
        bad = next(v for v in values if not isinstance(v, bool))
        return Verdict(None, status="unparsed", reason=f"criteria_met is not a boolean: {bad!r}")
    explanation = str(with_verdict[-1].get("explanation", "") or "")
    if len(set(values)) > 1:
        return Verdict(None, explanation, "contradictory", "reply gives both true and false")
    return Verdict(bool(values[0]), explanation)
