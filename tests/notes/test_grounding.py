from __future__ import annotations

from medsage.notes.formats import load_transcript
from medsage.notes.grounding import GroundingConfig, find_omissions, ground_sentences, normalise_en


def test_supported_sentences_cite_the_right_turn(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    out = ground_sentences(["The patient takes lisinopril 20 mg daily for blood pressure.",
                            "Allergic to penicillin."], tr)
    assert all(s.supported for s in out)
    assert out[0].turn_ids[0] == "t6" and out[1].turn_ids[0] == "t6"


def test_question_answer_pair_supports_negation(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    (s,) = ground_sentences(["Mild shortness of breath, denies fever."], tr)
    assert s.supported and "t4" in s.turn_ids


def test_invented_sentence_is_flagged(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    out = ground_sentences(["The patient has a history of kidney transplant and takes tacrolimus.",
                            "He takes lisinopril 40 mg twice daily."], tr)
    assert not out[0].supported
    right = ground_sentences(["He takes lisinopril 20 mg daily."], tr)[0]
    assert out[1].support < right.support  # a wrong dose lowers support


def test_number_words_normalised():
    assert normalise_en("twenty five milligrams")[:2] == ["25", "mg"]


def test_chinese_grounding(fixtures):
    tr = load_transcript(fixtures / "consult_zh.txt")
    out = ground_sentences(["咳嗽3天，伴发热，最高38.5度。", "既往糖尿病10年，规律注射胰岛素。"], tr)
    assert out[0].supported and "t2" in out[0].turn_ids
    assert not out[1].supported


def test_omissions_list_missing_concepts(fixtures):
    tr = load_transcript(fixtures / "consult_en.txt")
    om = {o.concept: o for o in find_omissions("Chest pain for 3 days. Takes lisinopril.", tr)}
    assert "aspirin" in om and "penicillin" in om
    assert "chest pain" not in om and "lisinopril" not in om
    assert om["fever"].negated


def test_threshold_defaults():
    assert GroundingConfig().cutoff == 0.4
    assert GroundingConfig(use_embeddings=True).cutoff == 0.5
    assert GroundingConfig(threshold=0.7).cutoff == 0.7
