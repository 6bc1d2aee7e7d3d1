"""The medical/non-medical gate, symptom clusters and the infant-fever red flag."""

from __future__ import annotations

import numpy as np
import pytest

from medsage.route.department import DepartmentRouter, sample_departments
from medsage.route.dept_gate import (
    P_OTHER_NO_CUE,
    P_OTHER_WITH_CUE,
    has_cue,
    has_venue,
    infant_fever,
    is_medical,
    without_venue,
)
from medsage.route.patient import profile


@pytest.mark.parametrize("text", ["肚子疼了两天", "孩子发烧39度", "My knee hurts", "she swallowed some pills",
                                  "a temperature of 38.5"])
def test_symptom_words_are_cues(text: str) -> None:
    assert has_cue(text)


@pytest.mark.parametrize("text", ["医院停车场几点关门", "What time does the hospital gift shop open?",
                                  "推荐几部电影", "How does compound interest work?"])
def test_errands_and_chat_hold_no_cue(text: str) -> None:
    assert not has_cue(text)


def test_venue_words_are_taken_out() -> None:
    assert has_venue("医院食堂在几楼") and "医院" not in without_venue("医院食堂在几楼")
    assert "hospital" not in without_venue("When does the hospital shop open").lower()
    assert not has_venue("my stomach hurts")


def test_the_gate_needs_evidence_in_proportion_to_doubt() -> None:
    assert is_medical(emergency=True, n_terms=0, cue=False, p_other=0.99)
    assert is_medical(emergency=False, n_terms=2, cue=False, p_other=0.99)
    assert is_medical(emergency=False, n_terms=1, cue=False, p_other=P_OTHER_WITH_CUE - 0.01)
    assert not is_medical(emergency=False, n_terms=1, cue=False, p_other=P_OTHER_WITH_CUE)
    assert is_medical(emergency=False, n_terms=0, cue=False, p_other=P_OTHER_NO_CUE - 0.01)
    assert not is_medical(emergency=False, n_terms=0, cue=False, p_other=P_OTHER_NO_CUE + 0.01)


def test_infant_fever_is_bound_to_age() -> None:
    baby = "宝宝出生12天，体温38.2度，不太吃奶"
    assert infant_fever(baby, profile(baby))
    en = "My baby is 5 weeks old and has a temperature"
    assert infant_fever(en, profile(en))
    older = "孩子3岁，发烧38度"
    assert not infant_fever(older, profile(older))
    no_fever = "宝宝出生12天，皮肤有点黄"
    assert not infant_fever(no_fever, profile(no_fever))


def test_router_sends_a_feverish_newborn_to_emergency_and_neonatology(hash_router: DepartmentRouter) -> None:
    res = hash_router.route("刚出生一周的宝宝体温38度，哭闹不吃奶", sample_departments())
    assert res.urgency == "emergency" and res.names[0] == "急诊科" and "新生儿科" in res.names
    assert any("三个月以下" in f for f in res.red_flags)


def test_router_gates_a_hospital_errand(hash_router: DepartmentRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    # the classifier is unsure about the whole text, sure once the venue word is out
    seen: list[str] = []
    real = hash_router.embed

    def spy(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return real(texts)

    monkeypatch.setattr(hash_router, "embed", spy)
    monkeypatch.setattr(hash_router, "_p_other", lambda X: 0.9 if len(seen) > 1 else 0.3)
    res = hash_router.route("医院停车场晚上几点关门", sample_departments())
    assert not res.medical and not res.departments
    assert len(seen) == 2 and "医院" not in seen[1]


def test_a_symptom_cluster_adds_to_its_concept(hash_router: DepartmentRouter) -> None:
    text = "心慌、手抖、怕热、吃得多还瘦"
    X = hash_router.embed([text])
    with_cluster = hash_router.concept_scores(text, X)["endocrine"][0]
    alone = hash_router.concept_scores("怕热", hash_router.embed(["怕热"]))["endocrine"][0]
    assert with_cluster > alone
    assert all("+" not in h for _, hits in hash_router.concept_scores(text, X).values() for h in hits)
