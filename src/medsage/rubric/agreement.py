"""Grader reliability: Cohen's kappa between two sets of rubric verdicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two label sequences.

    ``None`` when undefined (no items), and 1.0 when both raters use a single identical label
    throughout.
    """
    if len(a) != len(b):
        raise ValueError(f"label lists differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def _grades(rec: dict[str, Any]) -> list[dict[str, Any]]:
    extras = rec.get("extras") or {}
    grades = extras.get("rubric_grades") if isinstance(extras, dict) else None
    return grades if isinstance(grades, list) else []


def grader_agreement(records_a: Sequence[dict[str, Any]], records_b: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Agreement of two gradings of the *same responses* (two graders, or two runs of one).

    Records are run ``samples.jsonl`` rows, matched by (task, id); items are matched by
    criterion text. Pairs whose responses differ are skipped (their verdicts would not
    be comparable); items with an unusable verdict on either side are counted, not used.

    Returns:
        ``{"items", "agree", "percent_agreement", "kappa", "skipped_examples", "unusable_items"}``.
    """
    by_key = {(r.get("task"), str(r.get("id"))): r for r in records_b}
    xs: list[bool] = []
    ys: list[bool] = []
    skipped = unusable = 0
    for ra in records_a:
        rb = by_key.get((ra.get("task"), str(ra.get("id"))))
        if rb is None or ra.get("response") != rb.get("response"):
            skipped += rb is not None
            continue
        gb = {g.get("criterion"): g for g in _grades(rb)}
        for g in _grades(ra):
            other = gb.get(g.get("criterion"))
            if other is None:
                continue
            va, vb = g.get("criteria_met"), other.get("criteria_met")
            if not isinstance(va, bool) or not isinstance(vb, bool):
                unusable += 1
                continue
            xs.append(va)
            ys.append(vb)
    agree = sum(1 for x, y in zip(xs, ys, strict=True) if x == y)
    return {
        "items": len(xs),
        "agree": agree,
        "percent_agreement": agree / len(xs) if xs else None,
        "kappa": cohen_kappa(xs, ys),
        "skipped_examples": skipped,
        "unusable_items": unusable,
    }
