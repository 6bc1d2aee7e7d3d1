"""Paired comparisons of two systems on the same items.

* :func:`mcnemar` — exact (binomial) McNemar test on discordant exam items,
  with the mid-p variant (Fagerland et al. 2013 recommend mid-p).
* :func:`paired_bootstrap` — CI of the mean paired difference and a two-sided
  bootstrap p-value (resampling items, keeping pairs together).
* :func:`permutation_test` — sign-flip permutation test of the mean difference.
* :func:`paired_difference` — one dict with n, mean difference, CI and the
  appropriate test (McNemar for 0/1 values, permutation otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binom


def mcnemar(b: int, c: int) -> dict[str, float]:
    """Exact McNemar test.

    Args:
        b: Items system A got right and B wrong.
        c: Items system B got right and A wrong.

    Returns:
        ``{"b", "c", "p_exact", "p_mid"}``; both p-values are 1.0 with no discordant pairs.
    """
    n = b + c
    if n == 0:
        return {"b": b, "c": c, "p_exact": 1.0, "p_mid": 1.0}
    k = min(b, c)
    p_exact = min(1.0, 2.0 * float(binom.cdf(k, n, 0.5)))
    p_mid = min(1.0, p_exact - float(binom.pmf(k, n, 0.5)))
    return {"b": b, "c": c, "p_exact": p_exact, "p_mid": p_mid}


def _diffs(a: Sequence[float], b: Sequence[float]) -> npt.NDArray[np.float64]:
    x: npt.NDArray[np.float64] = np.asarray(a, dtype=np.float64)
    y: npt.NDArray[np.float64] = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length ({x.size} vs {y.size})")
    return y - x


def paired_bootstrap(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Bootstrap of mean(b - a): ``{"diff", "ci95", "p"}``.

    ``p`` is the two-sided share of resampled means on the other side of 0, doubled.
    """
    d = _diffs(a, b)
    if d.size == 0:
        return {"diff": 0.0, "ci95": [0.0, 0.0], "p": 1.0}
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    p = 2.0 * min(float(np.mean(means <= 0)), float(np.mean(means >= 0)))
    return {"diff": float(d.mean()), "ci95": [float(lo), float(hi)], "p": min(1.0, p)}


def permutation_test(a: Sequence[float], b: Sequence[float], n_perm: int = 5000, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p-value for mean(b - a) = 0 (exact when n ≤ 12)."""
    d = _diffs(a, b)
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    observed = abs(d.mean())
    if d.size <= 12:
        signs = ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice([-1.0, 1.0], size=(n_perm, d.size))
    stats = np.abs((signs * d).mean(axis=1))
    hits = int(np.sum(stats >= observed - 1e-12))
    if d.size <= 12:
        return float(hits / signs.shape[0])
    return float((hits + 1) / (n_perm + 1))


def paired_difference(a: Sequence[float], b: Sequence[float], binary: bool, seed: int = 0) -> dict[str, Any]:
    """Mean of b - a with a bootstrap CI and the paired test for the data type."""
    boot = paired_bootstrap(a, b, seed=seed)
    out: dict[str, Any] = {"n": len(a), "mean_a": float(np.mean(a)) if len(a) else 0.0,
                           "mean_b": float(np.mean(b)) if len(b) else 0.0, "diff": boot["diff"],
                           "ci95": boot["ci95"]}
    if binary:
        wins_b = int(sum(1 for x, y in zip(a, b, strict=True) if y > x))
        wins_a = int(sum(1 for x, y in zip(a, b, strict=True) if x > y))
        test = mcnemar(wins_a, wins_b)
        out.update(test="mcnemar", p=test["p_mid"], p_exact=test["p_exact"], wins_a=wins_a, wins_b=wins_b)
    else:
        out.update(test="permutation", p=permutation_test(a, b, seed=seed), p_bootstrap=boot["p"],
                   wins_a=int(sum(1 for x, y in zip(a, b, strict=True) if x > y)),
                   wins_b=int(sum(1 for x, y in zip(a, b, strict=True) if y > x)))
    return out
