"""The model's prior over answer letters, estimated on question-bank items (PriDe).

Zheng et al., "Large Language Models Are Not Robust Multiple Choice Selectors" (ICLR 2024),
§4: a model's letter probabilities factor into a prior over the letters, independent of
content, and a debiased probability of each option. Asked with every cyclic rotation of
the options, the average log-probability of each letter cancels the content and leaves
the prior (their Eq. 6). PriDe estimates that prior on a few items, once, and divides
every later item's letter probabilities by it, so those items need one call instead of
one per option.

Here the estimation items are **bank** items: solved development items, asked without
their answers in exactly the format the pipeline uses (the same nearest solved examples,
the same likelihood prompt), so nothing of the evaluated set is used. One prior is kept
per language and option count, chosen reproducibly (seeded) from the bank. Every call
goes through the model as usual (response cache included).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Sequence

from medsage.runner import blind
from medsage.types import Sample

SEED = 0


def prior_items(items: Sequence[Sample], language: str, n_options: int, k: int) -> list[Sample]:
    """``k`` bank items (blinded) of ``language`` with ``n_options`` options, chosen reproducibly."""
    pool = [s for s in items if s.language == language and len(s.choices) == n_options]
    chosen = random.Random(SEED).sample(pool, min(k, len(pool)))
    return [blind(s) for s in chosen]


def item_prior(views: Sequence[Sequence[float]]) -> list[float]:
    """One item's letter prior from its letter probabilities in all cyclic rotations.

    Args:
        views: Per rotation, the probabilities of letters A.. (each view sums to 1).

    Returns:
        The softmax of each letter's mean log-probability over the views (PriDe, Eq. 6).
    """
    n = len(views[0])
    means = [sum(math.log(max(v[i], 1e-12)) for v in views) / len(views) for i in range(n)]
    peak = max(means)
    exp = [math.exp(m - peak) for m in means]
    z = sum(exp)
    return [e / z for e in exp]


def mean_prior(priors: Sequence[Sequence[float]]) -> list[float] | None:
    """The average of the items' priors, or None without any."""
    if not priors:
        return None
    n = len(priors[0])
    return [sum(p[i] for p in priors) / len(priors) for i in range(n)]


def debias(probs: Sequence[float], prior: Sequence[float] | None) -> list[float]:
    """Letter probabilities divided by the prior and renormalised (unchanged without one)."""
    if prior is None:
        return list(probs)
    raw = [p / max(q, 1e-12) for p, q in zip(probs, prior, strict=True)]
    z = sum(raw)
    return [r / z for r in raw] if z > 0 else list(probs)


async def estimate(items: Sequence[Sample], ask_views: Callable[[Sample], Awaitable[list[list[float]] | None]]
                   ) -> tuple[list[float] | None, int]:
    """The mean prior over ``items`` and how many items gave one.

    Args:
        items: The estimation items.
        ask_views: Asks one item in all rotations; returns its per-view letter
            probabilities, or None when a call failed (that item is left out).
    """
    priors = []
    for item in items:
        views = await ask_views(item)
        if views:
            priors.append(item_prior(views))
    return mean_prior(priors), len(priors)
