"""Medication extraction: names in both languages, brands, typos, doses, unknown drugs."""

from __future__ import annotations

import pytest

from medsage.safety import extract_medications, get_dictionary, resolve
from medsage.safety.dose_parse import parse_dose
from medsage.safety.drugs import extract


def ids(text: str) -> list[str]:
    return [m.drug_id for m in extract_medications(text)]


def test_chinese_and_english_names_map_to_one_drug() -> None:
    assert ids("华法林 3mg qd") == ["warfarin"]
    assert ids("warfarin 3 mg daily") == ["warfarin"]
    assert ids("Coumadin 3 mg") == ["warfarin"]
    assert resolve("华法林").id == resolve("Coumadin").id == "warfarin"


def test_longest_match_wins_for_overlapping_names() -> None:
    assert ids("艾司西酞普兰 10mg qd") == ["escitalopram"]
    assert ids("escitalopram and citalopram") == ["escitalopram", "citalopram"]
    assert ids("羟氯喹 200mg") == ["hydroxychloroquine"]


def test_word_boundaries_for_latin_names() -> None:
    assert ids("the insulinoma was resected") == []


def test_misspellings_are_matched_and_flagged() -> None:
    meds, findings = extract("warfarine 5mg and simvastatin")
    assert [m.drug_id for m in meds] == ["warfarin", "simvastatin"]
    assert meds[0].match == "fuzzy"
    assert any(f.type == "drug_name_uncertain" for f in findings)


@pytest.mark.parametrize("text,dose_mg,per_day,daily", [
    (" 5 mg bid", 5.0, 2.0, 10.0),
    ("，每日两次，每次0.5g", 500.0, 2.0, 1000.0),
    (" 1000 mg q6h", 1000.0, 4.0, 4000.0),
    (" 500mg PO TID", 500.0, 3.0, 1500.0),
    (" 250 mg/5 mL, 10 mL tid", 500.0, 3.0, 1500.0),
    (" 40mg qhs", 40.0, 1.0, 40.0),
    (" 1,000 mg daily", 1000.0, 1.0, 1000.0),
    ("每8小时一次 静滴 1g", 1000.0, 3.0, 3000.0),
])
def test_dose_parsing(text: str, dose_mg: float, per_day: float, daily: float) -> None:
    d = parse_dose(text)
    assert d is not None and not d.problems
    assert d.dose_mg == pytest.approx(dose_mg)
    assert d.frequency_per_day == pytest.approx(per_day)
    assert d.daily_mg == pytest.approx(daily)


def test_per_day_totals_and_weight_based_doses() -> None:
    d = parse_dose(" 4 g per day")
    assert d is not None and d.daily_given and d.daily_mg == 4000 and d.dose_mg is None
    d = parse_dose(" 20 mg/kg/day", weight_kg=15)
    assert d is not None and d.daily_mg == 300
    d = parse_dose(" 20 mg/kg/day")
    assert d is not None and "weight-based dose but no weight" in d.problems


def test_lab_values_are_not_doses() -> None:
    assert parse_dose(" creatinine 1.2 mg/dL") is None
    assert parse_dose(", INR 2.5") is None


def test_unparseable_dose_is_a_finding() -> None:
    meds, findings = extract("metoprolol 50")
    assert meds[0].dose is not None and meds[0].dose.problems == ("no unit",)
    assert any(f.type == "dose_unparsed" for f in findings)


def test_unknown_drugs_are_findings_in_both_languages() -> None:
    _, findings = extract("Xyzzol 10 mg daily; Fooprazole 20 mg")
    names = {f.data["name"] for f in findings if f.type == "unknown_drug"}
    assert names == {"Xyzzol", "Fooprazole"}
    _, findings = extract("患者口服新康泰克胶囊 1粒 每日两次")
    assert [f.data["name"] for f in findings if f.type == "unknown_drug"] == ["新康泰克"]


def test_negated_mentions() -> None:
    meds = extract_medications("Do not take warfarin, aspirin or ibuprofen")
    assert all(m.negated for m in meds)
    meds = extract_medications("对青霉素过敏，开阿莫西林 0.5g tid")
    assert [(m.drug_id, m.negated) for m in meds] == [("penicillin", True), ("amoxicillin", False)]


def test_dictionary_covers_every_onc_high_priority_drug() -> None:
    import csv
    import io

    from medsage.safety._common import load_text

    d = get_dictionary()
    rows = [r for r in load_text("interactions_onc.csv").splitlines() if r and not r.startswith("#")]
    drugs = set()
    for row in csv.DictReader(io.StringIO("\n".join(rows))):
        drugs.update((row["drug_a"], row["drug_b"]))
    assert drugs and drugs <= set(d.entries)
    missing_zh = [x for x in drugs if not d.entries[x].zh]
    assert not missing_zh
