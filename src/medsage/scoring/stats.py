"""Confidence intervals for proportions and means."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def wilson_ci(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion; ``(0, 0)`` when ``n == 0``."""
    if n <= 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = rng.choice(arr, size=(n_boot, arr.size), replace=True).mean(axis=1)
    return (float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2)))


def bootstrap_std(values: Sequence[float], n_boot: int = 1000, seed: int = 0) -> float:
    """Bootstrap standard deviation of the mean."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    means = rng.choice(arr, size=(n_boot, arr.size), replace=True).mean(axis=1)
    return float(means.std())


def mean_ci(values: Sequence[float], binary: bool) -> tuple[float, tuple[float, float]]:
    """Mean and 95% CI: Wilson for 0/1 values, bootstrap otherwise."""
    n = len(values)
    if n == 0:
        return 0.0, (0.0, 0.0)
    mean = float(sum(values) / n)
    return mean, (wilson_ci(sum(values), n) if binary else bootstrap_ci(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), 0 for an empty list."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0
