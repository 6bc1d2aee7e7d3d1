"""HealthBench scoring, exactly as openai/simple-evals ``healthbench_eval.py``.

Per example (``calculate_score``)::

    score = sum(points of met items, negative ones included) / sum(positive points)

*not* clipped, so a single example can be negative (or, in principle, above 1).
Over examples (``_compute_clipped_stats``): the mean of the per-example values
clipped to [0, 1]; ``bootstrap_std`` is the standard deviation of the clipped
means of 1000 resamples with replacement; ``n_samples`` the count.

The same aggregation is applied to every metric: ``overall_score``, each
*example-level* tag (``theme:*``, ``physician_agreed_category:*``: the
example's overall score is credited to each of its tags) and each
*rubric-level* tag (``axis:*``, ``cluster:*``, ``level:*``: the score
recomputed on only the example's items with that tag, and skipped for that
example when those items have no positive points).

Where other ports differ: several re-implementations clip each example's score
to [0, 1] *before* averaging (e.g. ``max(0, min(1, achieved/possible))``),
which removes the penalty of negative criteria beyond zero and gives higher
means on hard sets; some also drop negative items from the numerator. Use
:func:`per_example_clipped_mean` to reproduce that variant for comparison.
The reference's bootstrap uses the unseeded global NumPy RNG; we use a seeded
generator so reruns agree (the estimate itself is the same procedure).

Unusable grader verdicts (``None``): the reference retries forever; we retry
a bounded number of times and then apply ``unparsed_rule``:

* ``exclude`` (default): drop the item from numerator *and* denominator; an
  example left with no positive item is *unscorable* (``None``) and is left
  out of every mean and counted separately;
* ``worst``: count the item against the response (positive item unmet,
  negative item met), a conservative lower bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from medsage.rubric.schema import RubricItem

UNPARSED_RULES = ("exclude", "worst")


def resolve(items: Sequence[RubricItem], met: Sequence[bool | None], rule: str = "exclude") -> tuple[list[RubricItem], list[bool]]:
    """Apply the unparsed-verdict rule: return the items and boolean verdicts to score."""
    if rule not in UNPARSED_RULES:
        raise ValueError(f"unknown unparsed rule {rule!r} (use exclude or worst)")
    if len(items) != len(met):
        raise ValueError(f"{len(items)} rubric items but {len(met)} verdicts")
    kept_items: list[RubricItem] = []
    kept_met: list[bool] = []
    for item, verdict in zip(items, met, strict=True):
        if verdict is None:
            if rule == "exclude":
                continue
            verdict = item.points < 0
        kept_items.append(item)
        kept_met.append(bool(verdict))
    return kept_items, kept_met


def calculate_score(items: Sequence[RubricItem], met: Sequence[bool]) -> float | None:
    """Met points (negative included) over positive points; ``None`` if no positive points."""
    possible = sum(it.points for it in items if it.points > 0)
    if possible == 0:
        return None
    achieved = sum(it.points for it, m in zip(items, met, strict=True) if m)
    return float(achieved / possible)


def example_metrics(
    items: Sequence[RubricItem],
    met: Sequence[bool | None],
    example_tags: Iterable[str] = (),
    rule: str = "exclude",
) -> dict[str, float]:
    """All metrics of one example: ``overall_score``, example tags, rubric tags.

    Returns an empty dict when the example is unscorable (no positive item
    left after the unparsed rule).
    """
    kept, verdicts = resolve(items, met, rule)
    overall = calculate_score(kept, verdicts)
    if overall is None:
        return {}
    metrics: dict[str, float] = {"overall_score": overall}
    for tag in dict.fromkeys(example_tags):
        metrics[tag] = overall
    by_tag: dict[str, list[tuple[RubricItem, bool]]] = defaultdict(list)
    for item, verdict in zip(kept, verdicts, strict=True):
        for tag in dict.fromkeys(item.tags):
            by_tag[tag].append((item, verdict))
    for tag, pairs in by_tag.items():
        score = calculate_score([p[0] for p in pairs], [p[1] for p in pairs])
        if score is not None:
            metrics[tag] = score
    return metrics


def clipped_mean(values: Sequence[float]) -> float:
    """The mean clipped to [0, 1] (``nan`` for no values)."""
    if not len(values):
        return float("nan")
    return float(np.clip(np.mean(values), 0.0, 1.0))


def bootstrap_clipped(values: Sequence[float], n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Bootstrap of the clipped mean: (std, 2.5th percentile, 97.5th percentile)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        nan = float("nan")
        return nan, nan, nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    means = np.clip(arr[idx].mean(axis=1), 0.0, 1.0)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(np.std(means)), float(lo), float(hi)


def aggregate(per_example: Sequence[dict[str, float]], n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Aggregate example metric dicts, per metric name.

    Each name gets ``mean`` (clipped), ``n_samples``, ``bootstrap_std`` and a percentile
    ``ci95`` of the clipped bootstrap means.
    """
    by_name: dict[str, list[float]] = defaultdict(list)
    for metrics in per_example:
        for name, value in metrics.items():
            by_name[name].append(value)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(by_name, key=lambda n: (n != "overall_score", n)):
        values = by_name[name]
        std, lo, hi = bootstrap_clipped(values, n_boot, seed)
        out[name] = {"mean": clipped_mean(values), "n_samples": len(values), "bootstrap_std": std, "ci95": [lo, hi]}
    return out


def per_example_clipped_mean(scores: Sequence[float]) -> float:
    """The variant used by some ports: clip each example to [0, 1], then average."""
    if not len(scores):
        return float("nan")
    return float(np.mean(np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)))
