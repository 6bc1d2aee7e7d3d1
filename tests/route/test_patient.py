"""Reading the patient from a complaint: age group, sex, pregnancy."""

from __future__ import annotations

import pytest

from medsage.route.patient import profile


@pytest.mark.parametrize(("text", "group"), [
    ("孩子3岁，发烧两天了", "child"),
    ("宝宝出生10天，皮肤和眼睛越来越黄", "newborn"),
    ("我家宝宝8个月，拉肚子", "child"),
    ("孩子一岁半，手心长泡", "child"),
    ("baby 3 weeks old not feeding well", "newborn"),
    ("My daughter (6) had a seizure", "child"),
    ("我爸突然说话不清楚", "adult"),
    ("手腕疼，抱孩子后开始的", "adult"),
    ("Hot flushes, I'm 51", "adult"),
    ("咳嗽一个多月了", None),
])
def test_age_group(text: str, group: str | None) -> None:
    assert profile(text).group == group


def test_pregnancy_and_sex() -> None:
    assert profile("怀孕12周了，最近有点见红").pregnant
    assert profile("I'm 8 weeks pregnant and spotting").pregnant
    assert not profile("结婚三年了一直没怀上").pregnant
    assert profile("我老公勃起困难").sex == "male"
    assert profile("我老婆月经不调").sex == "female"
