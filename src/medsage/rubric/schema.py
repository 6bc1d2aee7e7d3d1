"""Rubric items and their validation.

A rubric item is ``{"criterion": str, "points": number in [-10, 10], "tags": [str]}``
(the official HealthBench format). Dual-track items add ``track`` (``safety`` or
``effectiveness``) and ``source`` (the guideline or label the criterion comes from).
Validation never raises: it returns the items plus one reason per problem, so a
loader can skip the row and report why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIN_POINTS = -10.0
MAX_POINTS = 10.0
TRACKS = ("safety", "effectiveness")


@dataclass(frozen=True)
class RubricItem:
    """One rubric criterion.

    Attributes:
        criterion: What the grader checks, in plain language.
        points: Points awarded when met; negative for undesirable behaviour.
        tags: e.g. ``level:example``, ``axis:accuracy``, ``cluster:...``.
        track: ``safety`` / ``effectiveness`` for dual-track items, else ``""``.
        source: Guideline or label behind the criterion (dual track).
    """

    criterion: str
    points: float
    tags: tuple[str, ...] = ()
    track: str = ""
    source: str = ""

    def __str__(self) -> str:
        # Same rendering as the reference RubricItem.__str__: "[points] criterion".
        return f"[{_fmt_points(self.points)}] {self.criterion}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``track`` and ``source`` only when set."""
        out: dict[str, Any] = {"criterion": self.criterion, "points": self.points, "tags": list(self.tags)}
        if self.track:
            out["track"] = self.track
        if self.source:
            out["source"] = self.source
        return out


@dataclass
class RubricCheck:
    """The result of validating a row's rubric list."""

    items: list[RubricItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the rubric list had no problems."""
        return not self.problems


def _fmt_points(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else str(points)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def parse_items(raw: Any, *, require_track: bool = False) -> RubricCheck:
    """Validate a list of rubric dicts.

    Problems reported (the caller should skip the row when any occur): not a
    list, empty list, an item that is not an object, missing or empty
    ``criterion``, missing or non-numeric ``points``, points outside
    [-10, 10], ``tags`` that is not a list of strings, a bad ``track`` (when
    required), and no positive points at all (the score would divide by zero).
    """
    check = RubricCheck()
    if not isinstance(raw, list):
        check.problems.append("rubrics is missing or not a list")
        return check
    if not raw:
        check.problems.append("rubrics is empty")
        return check
    for i, item in enumerate(raw):
        where = f"rubric {i}"
        if not isinstance(item, dict):
            check.problems.append(f"{where}: not an object")
            continue
        criterion = item.get("criterion")
        if not isinstance(criterion, str) or not criterion.strip():
            check.problems.append(f"{where}: missing criterion")
            continue
        points = _number(item.get("points"))
        if points is None:
            check.problems.append(f"{where}: points missing or not a number ({item.get('points')!r})")
            continue
        if not MIN_POINTS <= points <= MAX_POINTS:
            check.problems.append(f"{where}: points {points:g} outside [-10, 10]")
            continue
        tags = item.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            check.problems.append(f"{where}: tags must be a list of strings")
            continue
        track = str(item.get("track", "") or "")
        if require_track and track not in TRACKS:
            check.problems.append(f"{where}: track must be safety or effectiveness, got {track!r}")
            continue
        source = str(item.get("source", "") or "")
        if require_track and not source.strip():
            check.problems.append(f"{where}: missing source (guideline or label)")
            continue
        check.items.append(RubricItem(criterion.strip(), points, tuple(tags), track, source))
    if not check.problems and not any(it.points > 0 for it in check.items):
        check.problems.append("no rubric item has positive points (score would be undefined)")
    return check
