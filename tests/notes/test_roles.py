from __future__ import annotations

from medsage.notes.formats import load_transcript
from medsage.notes.roles import doctor_score, infer_roles
from medsage.notes.transcript import parse_text


def test_doctor_score_direction():
    assert doctor_score("How long have you had the pain?") > doctor_score("I have had pain for a week.")
    assert doctor_score("您咳嗽多久了？") > doctor_score("我咳嗽三天了")


def test_unlabelled_alternation_picks_doctor_first(fixtures):
    tr = load_transcript(fixtures / "unlabelled_en.txt")
    assert [t.role for t in tr.turns][:2] == ["doctor", "patient"]
    assert any("alternate" in w for w in tr.warnings)


def test_unlabelled_patient_speaks_first():
    tr = infer_roles(parse_text("I have had a cough for a week and I feel tired.\n"
                                "How long have you had the fever? Do you smoke?\n"
                                "I had a fever two days ago.\nI'm going to order a chest x-ray."))
    assert tr.turns[0].role == "patient" and tr.turns[1].role == "doctor"


def test_swapped_tags_are_corrected(fixtures):
    tr = load_transcript(fixtures / "swapped_en.txt")
    assert tr.turns[0].role == "doctor"
    assert tr.turns[1].role == "patient"
    assert any("swapped" in w for w in tr.warnings)


def test_correct_tags_are_kept(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    assert tr.turns[0].role == "doctor" and not any("swapped" in w for w in tr.warnings)


def test_generic_speakers_mapped():
    tr = infer_roles(parse_text("Speaker 1: What brings you in? How long has it hurt?\n"
                                "Speaker 2: My back hurts since Monday.\n"
                                "Speaker 1: Any numbness? I'll prescribe ibuprofen.\n"
                                "Speaker 2: I have no numbness."))
    assert [t.role for t in tr.turns] == ["doctor", "patient", "doctor", "patient"]
