from __future__ import annotations

import json

import pytest

from medsage.models.base import get_model
from medsage.notes.chunking import chunk_transcript, estimate_tokens
from medsage.notes.formats import load_transcript
from medsage.notes.generate import DraftConfig, clean_section, draft_note, parse_facts
from medsage.notes.service import NoteOptions, make_note
from medsage.notes.templates import load_template
from medsage.notes.transcript import parse_text

SCRIPT = [
    {"contains": "Conversation excerpt", "response":
        "- The patient reports chest pain for 3 days, worse on stairs.\n- Takes lisinopril 20 mg daily.\n"
        "- Allergic to penicillin.\n- Blood pressure 150/90.\n- Plan: ECG, aspirin 81 mg daily."},
    {"contains": '"Chief complaint"', "response": "Chest pain."},
    {"contains": '"History of present illness"', "response":
        "History of present illness:\nChest pain for 3 days, worse on stairs. Takes lisinopril 20 mg daily. "
        "Takes lisinopril 20 mg daily. He has a history of kidney transplant."},
    {"contains": '"Physical examination"', "response": "Blood pressure 150/90."},
    {"contains": '"Assessment and plan"', "response": "Possible angina. Order ECG and start aspirin 81 mg daily."},
    {"contains": "Write the", "response": "Not documented."},
]


@pytest.fixture
def scripted(tmp_path):
    f = tmp_path / "script.json"
    f.write_text(json.dumps(SCRIPT))
    return get_model("mock/script", {"file": str(f)})


async def test_mapreduce_draft_and_grounding(fixtures, scripted):
    tr = load_transcript(fixtures / "consult_en.txt")
    note = await make_note(tr, scripted, NoteOptions())
    secs = {s.id: s for s in note.sections}
    assert secs["cc"].text == "Chest pain."
    assert secs["ros"].sentences == []  # "Not documented." is dropped
    hpi = [s.text for s in secs["hpi"].sentences]
    assert hpi.count("Takes lisinopril 20 mg daily.") == 1  # deduplicated
    flagged = [s.text for s in note.unsupported]
    assert flagged == ["He has a history of kidney transplant."]
    assert note.stats["model_calls"] == 1 + 6
    assert [c["code"] for c in note.codes] == ["I20.9"]  # angina, from the assessment
    assert note.safety["status"] in ("unavailable", "checked", "error")
    d = note.to_dict()
    assert d["unsupported_sentences"] == 1 and d["sections"][0]["sentences"][0]["turn_ids"]


async def test_drop_unsupported(fixtures, scripted):
    tr = load_transcript(fixtures / "consult_en.txt")
    note = await make_note(tr, scripted, NoteOptions(drop_unsupported=True))
    assert not note.unsupported and any("removed" in w for w in note.warnings)


async def test_call_budget_on_long_transcript(scripted):
    lines = [f"Doctor: How is the knee pain today, day {i}?\nPatient: The knee pain is a bit better, I walk more."
             for i in range(400)]
    tr = parse_text("\n".join(lines))
    note = await make_note(tr, scripted, NoteOptions(draft=DraftConfig(chunk_tokens=300, max_calls=12)))
    assert note.stats["model_calls"] == 12
    assert any("too long for the call budget" in w for w in note.warnings)


async def test_model_errors_are_reported(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    note = await make_note(tr, get_model("mock/error"), NoteOptions())
    assert not note.sentences
    assert any("failed" in w for w in note.warnings)
    assert any("no content" in w for w in note.warnings)


async def test_extractive_needs_no_model(fixtures):
    tr = load_transcript(fixtures / "consult_zh.txt")
    note = await make_note(tr, None, NoteOptions(draft=DraftConfig(strategy="extractive")))
    assert note.template == "outpatient_zh" and note.sentences
    assert all(s.supported for s in note.sentences)
    assert any("Chinese coding skipped" in w for w in note.warnings)


async def test_zh_codes_from_user_table(fixtures):
    tr = load_transcript(fixtures / "consult_zh.txt")
    note = await make_note(tr, None, NoteOptions(draft=DraftConfig(strategy="extractive"),
                                                 icd_table=str(fixtures / "zh_icd.csv")))
    assert {c["code"] for c in note.codes} <= {"J06.900", "I10.x00", "I25.103"}


def test_chunks_respect_budget(fixtures):
    tr = parse_text("\n".join(f"Patient: {'word ' * 50}" for _ in range(20)))
    chunks = chunk_transcript(tr, 200)
    assert len(chunks) > 5 and all(estimate_tokens(c.text) <= 260 for c in chunks)
    long_turn = parse_text("Patient: " + "pain " * 2000)
    assert all(estimate_tokens(c.text) <= 320 for c in chunk_transcript(long_turn, 300))


def test_parse_and_clean():
    assert parse_facts("1. fever\n- fever\n* cough for two days\nok") == ["fever", "cough for two days"]
    sec = load_template("soap_en").sections[0]
    assert clean_section("Chief complaint: Knee pain.", sec, "en") == "Knee pain."
    assert clean_section("Not documented.", sec, "en") == ""
    assert clean_section("Here is the section:\nKnee pain.\nKnee pain.", sec, "en") == "Knee pain."


async def test_extractive_draft_sections(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    d = await draft_note(tr, load_template("soap_en"), None, DraftConfig(strategy="extractive"))
    assert "aspirin" in d.sections["assessment_plan"].lower()
    assert d.calls == 0


async def test_medications_go_through_safety_layer():
    pytest.importorskip("medsage.safety.check")
    tr = parse_text("Doctor: What medicines do you take?\nPatient: Warfarin 5 mg daily. I am allergic to penicillin.\n"
                    "Doctor: You have a sore throat. I will prescribe amoxicillin 500 mg three times daily.")
    note = await make_note(tr, None, NoteOptions(draft=DraftConfig(strategy="extractive")))
    assert note.safety["status"] == "checked"
    assert any("penicillin" in str(f.get("message", "")).lower() for f in note.safety["findings"])


