"""PriDe letter-prior debiasing in the domain pipeline: estimation on bank items, one call per item."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from medsage.errors import SpecError
from medsage.pipeline import get_pipeline
from medsage.pipelines.prior import debias, item_prior, mean_prior, prior_items
from medsage.tasks.exams.common import exam_messages
from medsage.types import CaseState, GenerateConfig, Sample

from .test_domain import MCMLE, BiasedReader, _question

LIKELIHOOD = GenerateConfig(max_tokens=1, top_logprobs=20)


def test_the_mean_log_probability_over_rotations_recovers_the_letter_prior() -> None:
    prior = [0.5, 0.2, 0.2, 0.1]
    content = [0.7, 0.1, 0.1, 0.1]  # option 0 is right; rotation r shows option (i + r) % 4 at letter i
    views = []
    for r in range(4):
        raw = [prior[i] * content[(i + r) % 4] for i in range(4)]
        views.append([x / sum(raw) for x in raw])
    est = item_prior(views)
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(est, prior, strict=True))
    assert mean_prior([]) is None and mean_prior([est, est]) == pytest.approx(prior)
    fixed = debias(views[0], est)  # one view divided by the prior gives the content back
    assert fixed == pytest.approx(content)


def test_estimation_items_are_bank_items_of_the_same_kind_without_answers() -> None:
    a = Sample("a", "q1", {"A": "x", "B": "y"}, "A", {"language": "en"})
    b = Sample("b", "问题", {"A": "甲", "B": "乙"}, "B", {"language": "zh"})
    c = Sample("c", "q3", {"A": "x", "B": "y", "C": "z"}, "C", {"language": "en"})
    chosen = prior_items([a, b, c], "en", 2, 5)
    assert [s.id for s in chosen] == ["a"] and chosen[0].target == ""
    assert prior_items([a, b, c], "en", 2, 5) == chosen  # reproducible


def test_one_view_divided_by_the_prior_cancels_the_letter_bias() -> None:
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    plain = BiasedReader("HCV")
    out = asyncio.run(get_pipeline("domain", plain, {"bank": [MCMLE], "shots": 1, "permute": 1}).run(state)).output
    assert out is not None and out.text == "A" and len(plain.calls) == 1  # the bias wins on one ordering

    model = BiasedReader("HCV")
    pipe = get_pipeline("domain", model, {"bank": [MCMLE], "shots": 1, "permute": 1, "prior": 3})
    out = asyncio.run(pipe.run(state)).output
    assert out is not None and out.text == "C"
    assert out.extras["calls"] == 1 and out.extras["prior_items"] == 3
    assert max(out.extras["prior"]) == out.extras["prior"][0]  # the estimated prior leans to A
    assert len(model.calls) == 3 * 5 + 1  # three bank items in all five rotations, then one call
    asyncio.run(pipe.run(state))
    assert len(model.calls) == 3 * 5 + 2  # the prior is estimated once
    asked = {m[-1].content.split("题目: ")[-1].splitlines()[0] for m in model.calls[:15]}
    assert sample.question not in asked  # estimation never uses the item being answered


def test_prior_without_a_bank_is_a_spec_error(built_kb: Path) -> None:
    with pytest.raises(SpecError, match="prior"):
        get_pipeline("domain", BiasedReader("x"), {"kb": str(built_kb), "prior": 5})


@pytest.mark.parametrize("key", ["prior", "shots", "permute"])
def test_a_non_number_option_is_a_spec_error(key: str) -> None:
    with pytest.raises(SpecError, match=f"{key}='abc'"):
        get_pipeline("domain", BiasedReader("x"), {"bank": [MCMLE], key: "abc"})
