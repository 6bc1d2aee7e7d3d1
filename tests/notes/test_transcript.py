from __future__ import annotations

import pytest

from medsage.errors import DataError
from medsage.notes.formats import decode_bytes, load_transcript, read_textgrid_pair
from medsage.notes.transcript import parse_text, role_of


def test_labels_en_zh_brackets():
    tr = parse_text("Doctor: hi\nPatient: my head hurts\n  and it is worse at night\n[patient_guest] she was dizzy")
    assert [t.role for t in tr.turns] == ["doctor", "patient", "other"]
    assert tr.turns[1].text.endswith("worse at night")
    zh = parse_text("医生：哪里不舒服？\n患者：头疼两天。")
    assert zh.lang == "zh" and [t.role for t in zh.turns] == ["doctor", "patient"]


def test_role_of_labels():
    assert role_of("Dr. Smith") == "doctor"
    assert role_of("patient_guest") == "other"
    assert role_of("翻译") == "other"
    assert role_of("Speaker 1") == "unknown"


def test_prose_colon_is_not_a_label():
    tr = parse_text("Note: this is prose\nsecond line")
    assert all(t.speaker == "" for t in tr.turns)


def test_json_turns(fixtures):
    tr = load_transcript(fixtures / "turns.json")
    assert [t.role for t in tr.turns] == ["doctor", "patient", "other", "doctor"]
    assert tr.turns[0].id == "t1"


def test_csv_row_selection(fixtures):
    tr = load_transcript(f"{fixtures / 'aci_sample.csv'}#D2N901")
    assert "lower back pain" in tr.turns[1].text
    with pytest.raises(DataError):
        load_transcript(f"{fixtures / 'aci_sample.csv'}#NOPE")


def test_textgrid_pair_merged_by_time(fixtures):
    tr = read_textgrid_pair(fixtures / "primock" / "primock57" / "day1_consultation01_doctor.TextGrid")
    assert [t.role for t in tr.turns] == ["doctor", "patient", "doctor", "patient", "doctor"]
    assert "UNSURE" not in tr.turns[0].text and tr.turns[1].start == 5.0


def test_empty_and_garbage(tmp_path):
    empty = tmp_path / "e.txt"
    empty.write_text("   \n\n")
    with pytest.raises(DataError, match="empty"):
        load_transcript(empty)
    garbage = tmp_path / "g.txt"
    garbage.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataError, match="does not look like"):
        load_transcript(garbage)
    with pytest.raises(DataError, match="not found"):
        load_transcript(tmp_path / "missing.txt")


def test_gb18030_decoding():
    text = "医生：您好\n患者：我头疼".encode("gb18030")
    assert "头疼" in decode_bytes(text)


def test_mixed_language_warns():
    tr = parse_text("Doctor: do you have 胸痛 and 咳嗽 now?\nPatient: 有的，胸痛三天了，还有咳嗽 since Monday")
    assert any("mixed languages" in w for w in tr.warnings)
