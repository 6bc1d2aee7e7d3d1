"""Golden tests: HealthBench scoring exactly as simple-evals healthbench_eval.py (hand-computed)."""

from __future__ import annotations

import math

import pytest

from medsage.rubric.schema import RubricItem
from medsage.rubric.scoring import (
    aggregate,
    calculate_score,
    clipped_mean,
    example_metrics,
    per_example_clipped_mean,
    resolve,
)

A = [
    RubricItem("rest", 5, ("axis:accuracy",)),
    RubricItem("red flags", 3, ("axis:completeness",)),
    RubricItem("opioids", -4, ("axis:accuracy",)),
    RubricItem("duration", 2, ("axis:completeness",)),
]


def test_example_score_counts_negative_points_and_divides_by_positive_sum() -> None:
    # met: +5, -4, +2 ; possible = 5 + 3 + 2 = 10 ; achieved = 3
    assert calculate_score(A, [True, False, True, True]) == pytest.approx(0.3)


def test_example_score_is_not_clipped() -> None:
    items = [RubricItem("good", 4), RubricItem("harmful", -10)]
    assert calculate_score(items, [True, True]) == pytest.approx(-1.5)


def test_zero_positive_points_is_none() -> None:
    assert calculate_score([RubricItem("bad", -3)], [True]) is None


def test_overall_mean_is_clipped_after_averaging() -> None:
    scores = [0.3, -1.5, 1.0]  # mean = -0.0667
    assert clipped_mean(scores) == 0.0
    # the variant used by ports that clip per example gives (0.3 + 0 + 1) / 3
    assert per_example_clipped_mean(scores) == pytest.approx(1.3 / 3)
    assert clipped_mean([1.2, 1.4]) == 1.0
    assert clipped_mean([0.2, 0.4]) == pytest.approx(0.3)


def test_tag_metrics_example_and_rubric_level() -> None:
    m = example_metrics(A, [True, False, True, True], ["theme:hedging"])
    assert m["overall_score"] == pytest.approx(0.3)
    assert m["theme:hedging"] == pytest.approx(0.3)  # example tag gets the overall score
    assert m["axis:accuracy"] == pytest.approx((5 - 4) / 5)
    assert m["axis:completeness"] == pytest.approx(2 / 5)


def test_rubric_tag_with_only_negative_items_is_skipped() -> None:
    items = [RubricItem("good", 5, ("axis:a",)), RubricItem("bad", -5, ("axis:b",))]
    m = example_metrics(items, [True, True], [])
    assert "axis:b" not in m
    assert m["overall_score"] == 0.0


def test_unparsed_rule_exclude_and_worst() -> None:
    met = [True, None, None, True]  # +3 and -4 unusable
    # exclude: items +5, +2 remain -> 7/7
    assert example_metrics(A, met, [], "exclude")["overall_score"] == pytest.approx(1.0)
    # worst: +3 unmet, -4 met -> (5 - 4 + 2) / 10
    assert example_metrics(A, met, [], "worst")["overall_score"] == pytest.approx(0.3)
    # every positive verdict unusable -> unscorable, never a silent 0 or 1
    assert example_metrics(A, [None, None, True, None], [], "exclude") == {}
    with pytest.raises(ValueError):
        resolve(A, [True], "exclude")


def test_aggregate_mean_n_and_bootstrap_std() -> None:
    per = [{"overall_score": 0.3, "t": 1.0}, {"overall_score": -1.5}, {"overall_score": 1.0, "t": 0.5}]
    agg = aggregate(per, n_boot=2000, seed=1)
    assert agg["overall_score"]["mean"] == 0.0
    assert agg["overall_score"]["n_samples"] == 3
    assert agg["t"]["n_samples"] == 2
    assert agg["t"]["mean"] == pytest.approx(0.75)
    # bootstrap std of clipped means: positive, below the unclipped sd of the mean
    unclipped_sd = math.sqrt(sum((x - (-0.2 / 3)) ** 2 for x in [0.3, -1.5, 1.0]) / 3 / 3)
    assert 0 < agg["overall_score"]["bootstrap_std"] < unclipped_sd
    lo, hi = agg["t"]["ci95"]
    assert 0.5 <= lo <= hi <= 1.0


def test_single_value_bootstrap_has_zero_std() -> None:
    agg = aggregate([{"overall_score": 0.4}] * 5)
    assert agg["overall_score"]["bootstrap_std"] == pytest.approx(0.0, abs=1e-12)
