from __future__ import annotations

import pytest

from medsage.scoring.stats import bootstrap_ci, mean_ci, wilson_ci


def test_wilson_matches_reference_values() -> None:
    lo, hi = wilson_ci(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4)
    assert hi == pytest.approx(0.5962, abs=1e-4)
    assert wilson_ci(0, 0) == (0.0, 0.0)
    lo, hi = wilson_ci(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)


def test_bootstrap_contains_mean_and_is_seeded() -> None:
    values = [0.1, 0.5, 0.9, 0.3, 0.7] * 10
    a = bootstrap_ci(values, seed=1)
    assert a == bootstrap_ci(values, seed=1)
    assert a[0] < 0.5 < a[1]


def test_mean_ci_switches_method() -> None:
    m, ci = mean_ci([1, 0, 1, 1], binary=True)
    assert m == 0.75 and ci == wilson_ci(3, 4)
