from __future__ import annotations

import pytest

from medsage.notes.metrics import concept_f1, edit_effort, rouge, section_completeness
from medsage.notes.templates import load_template, split_sections


def test_rouge_en_identity_and_disjoint():
    r = rouge("The patient has chest pain.", "The patient has chest pain.")
    assert r["rouge1"] == pytest.approx(1.0) and r["rougeL"] == pytest.approx(1.0)
    assert rouge("apples", "bananas")["rouge1"] == 0.0


def test_rouge_zh_is_character_level():
    r = rouge("患者咳嗽三天", "患者咳嗽两天", "zh")
    assert r["rouge1"] == pytest.approx(5 / 6)
    assert 0 < r["rouge2"] < 1 and r["rougeL"] == pytest.approx(5 / 6)


def test_concept_f1():
    cf = concept_f1("Hypertension on lisinopril. Chest pain.", "HTN? no: high blood pressure, lisinopril, asthma")
    assert cf["p"] == pytest.approx(2 / 3) and cf["r"] == pytest.approx(2 / 3)
    assert concept_f1("nothing here", "nor here")["f1"] is None


def test_edit_effort():
    e = edit_effort("a b c d", "a b c d")
    assert e["time_saved"] == 1.0 and e["distance_norm"] == 0.0
    e = edit_effort("", "a b c d")
    assert e["time_saved"] == 0.0
    assert edit_effort("a b x d", "a b c d")["time_saved"] == pytest.approx(0.75)


def test_sections_and_completeness():
    t = load_template("soap_en")
    secs, pre = split_sections("CHIEF COMPLAINT\nChest pain.\n\n## HPI\nThree days.\nPlan: ECG", t)
    assert secs == {"cc": "Chest pain.", "hpi": "Three days.", "assessment_plan": "ECG"}
    ref = "CHIEF COMPLAINT\nx\nHISTORY OF PRESENT ILLNESS\ny\nRESULTS\nz"
    c = section_completeness("Chief complaint: a\nHPI: b", ref, t)
    assert c["completeness"] == pytest.approx(2 / 3) and c["missing_sections"] == ["results"]


def test_zh_template_inline_headings():
    t = load_template(None, "zh")
    secs, _ = split_sections("主诉：咳嗽3天\n现病史：发热。\n初步诊断：上呼吸道感染", t)
    assert secs["zhusu"] == "咳嗽3天" and secs["chubuzhenduan"] == "上呼吸道感染"
