"""Department recruitment and complexity routing rules."""

from __future__ import annotations

from medsage.route.complexity import assess_complexity
from medsage.route.departments import GENERAL, match_departments, recruit

from .conftest import CARDIO_CASE, COMPLEX_CASE


def test_cardiology_case_recruits_cardiology_first() -> None:
    matches = match_departments(CARDIO_CASE)
    assert matches[0].key == "cardiology"
    assert "chest pain" in matches[0].hits
    assert "endocrinology" in [m.key for m in matches]


def test_chinese_case_recruits_by_chinese_keywords() -> None:
    keys = [m.key for m in match_departments("患儿，男，3岁，发热伴咳嗽3天，肺部可闻及湿啰音。")]
    assert "paediatrics" in keys and "pulmonology" in keys and "infectious_disease" in keys


def test_no_keywords_falls_back_to_general_internist() -> None:
    team = recruit("Something is wrong.", 3, minimum=2)
    assert [m.key for m in team] == [GENERAL]


def test_short_words_do_not_match_inside_longer_words() -> None:
    # "ana " (antinuclear) and "mass" must not fire on "banana"/"massage"
    assert "rheumatology" not in [m.key for m in match_departments("I ate a banana after a massage")]


def test_knowledge_question_routes_to_single_agent() -> None:
    d = assess_complexity("Which enzyme is deficient in phenylketonuria?")
    assert (d.level, d.route, d.features["is_case"]) == ("basic", "single", False)
    assert "knowledge question" in d.reason


def test_multisystem_case_routes_to_mdt_and_simple_case_to_panel() -> None:
    simple = assess_complexity("A 30-year-old woman presents with a headache for two days. What is next?")
    assert simple.route in ("single", "panel") and simple.features["is_case"]
    complex_ = assess_complexity(COMPLEX_CASE)
    assert complex_.route == "mdt" and complex_.score >= 6
    assert "->" in complex_.reason


def test_thresholds_change_the_route() -> None:
    text = "A 30-year-old woman presents with a headache for two days."
    assert assess_complexity(text, panel_at=1, mdt_at=1).route == "mdt"
    assert assess_complexity(text, panel_at=9, mdt_at=9).route == "single"


def test_chinese_case_is_recognised() -> None:
    d = assess_complexity("女，34岁。全程肉眼血尿1天，尿沉渣镜检RBC满视野，尿蛋白（＋＋）。首先应进行的检查是")
    assert d.features["is_case"] and d.features["language"] == "zh" and d.score >= 1
    longer = assess_complexity("患者，女，64岁。发热伴咳嗽1周，血压90/60mmHg，心率120次/分，血糖15mmol/L，"
                               "肌酐200μmol/L，胸部CT示右下肺实变。最可能的诊断是")
    assert longer.features["findings"] >= 4 and longer.route in ("panel", "mdt")
