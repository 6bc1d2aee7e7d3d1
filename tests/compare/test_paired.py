"""Paired statistics against hand computation and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from medsage.rubric.agreement import cohen_kappa
from medsage.scoring.paired import mcnemar, paired_bootstrap, paired_difference, permutation_test


def test_mcnemar_exact_and_mid_p_by_hand() -> None:
    out = mcnemar(2, 8)
    assert out["p_exact"] == pytest.approx(112 / 1024)  # 2 * (1 + 10 + 45) / 2^10
    assert out["p_mid"] == pytest.approx((112 - 45) / 1024)
    assert out["p_exact"] == pytest.approx(binomtest(2, 10, 0.5).pvalue)
    assert mcnemar(0, 0)["p_exact"] == 1.0
    assert mcnemar(5, 5)["p_exact"] == 1.0


def test_permutation_exact_small_n() -> None:
    # 4 non-zero differences all positive: only all-plus / all-minus reach the observed mean
    assert permutation_test([0, 0, 0, 0], [1, 1, 1, 0.5]) == pytest.approx(2 / 16)
    assert permutation_test([1, 2], [1, 2]) == 1.0


def test_permutation_large_n_detects_shift_and_null() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 60)
    assert permutation_test(a, a + 0.8) < 0.01
    assert permutation_test(a, a + rng.normal(0, 0.01, 60)) > 0.05


def test_paired_bootstrap_ci_contains_true_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 200)
    out = paired_bootstrap(a, a + 0.1 + rng.normal(0, 0.05, 200))
    assert out["ci95"][0] < 0.1 < out["ci95"][1]
    assert out["p"] < 0.01
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_paired_difference_binary_uses_mcnemar() -> None:
    out = paired_difference([1, 1, 0, 0, 0], [1, 0, 1, 1, 1], binary=True)
    assert out["test"] == "mcnemar" and out["wins_b"] == 3 and out["wins_a"] == 1
    assert out["diff"] == pytest.approx(0.4)


def test_cohen_kappa_by_hand() -> None:
    # 2x2 table: both yes 20, a-yes b-no 5, a-no b-yes 10, both no 15 -> po=.7, pe=.5*.6+.5*.4=.5 -> .4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([True, False], [True, False]) == 1.0
    assert cohen_kappa([], []) is None
