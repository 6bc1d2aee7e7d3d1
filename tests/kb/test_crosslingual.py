"""Chinese queries over English sources: the glossary rendering and its use in search."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.kb import KnowledgeBase, build
from medsage.kb.crosslingual import GLOSSARY, Glossary, english_for, english_rendering, glossary

TINY = "# comment\n糖尿病\tdiabetes\n肾病\tkidney disease\n糖尿病肾病\tdiabetic kidney disease; diabetic nephropathy\n" \
       "症状\tsymptoms; signs\nHPV疫苗\tHPV vaccine\n"


def test_longest_match_wins_and_alternatives_feed_bm25() -> None:
    g = Glossary.parse(TINY)
    r = g.render("糖尿病肾病有什么症状？")
    assert r is not None
    assert r.dense == "diabetic kidney disease symptoms"
    assert r.sparse == "diabetic kidney disease diabetic nephropathy symptoms signs"
    assert 0.6 < r.coverage < 0.8  # 7 of 10 Chinese characters


def test_parts_when_the_whole_term_is_missing_and_latin_words_kept() -> None:
    g = Glossary.parse(TINY)
    r = g.render("肾病和糖尿病")
    assert r is not None and r.dense == "kidney disease diabetes"
    hpv = g.render("HPV疫苗和Gardasil")
    assert hpv is not None and hpv.dense == "HPV vaccine Gardasil"
    assert g.render("今天天气很好") is None


def test_malformed_glossary_line_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="line 2"):
        Glossary.parse("糖尿病\tdiabetes\n肾病 kidney disease\n")
    with pytest.raises(DataError, match="glossary"):
        glossary(str(tmp_path / "missing.tsv"))


def test_shipped_glossary_is_well_formed_and_covers_colloquial_terms() -> None:
    text = (resources.files("medsage") / GLOSSARY).read_text(encoding="utf-8")
    keys = [line.split("\t", 1)[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(keys) == len(set(keys)) > 1000
    g = glossary()
    for zh, en in [("拉肚子", "diarrhea"), ("高血压", "high blood pressure"), ("耳鸣", "tinnitus"),
                   ("老年痴呆", "Alzheimer's disease")]:
        assert g.entries[zh][0] == en


def test_only_chinese_queries_on_kbs_with_english_are_rendered() -> None:
    assert english_rendering("What causes diarrhea?", ["en", "zh"]) is None
    assert english_rendering("拉肚子是什么原因", ["zh"]) is None
    r = english_rendering("拉肚子是什么原因", ["en"])
    assert r is not None and r.dense == "diarrhea causes"
    assert english_for("拉肚子是什么原因", ["en"], translate=False) is None
    given = english_for("拉肚子是什么原因", ["en"], translate="  Why do I have diarrhea? ")
    assert given is not None and given.dense == given.sparse == "Why do I have diarrhea?"


def test_bm25_finds_english_document_for_chinese_question(tmp_path: Path, kb_sources: list[str]) -> None:
    build(tmp_path / "kb", kb_sources, dense=False)
    kb = KnowledgeBase(tmp_path / "kb")
    assert not [h for h in kb.search("血压高有什么症状", k=3, mode="bm25", translate=False) if h.chunk.language == "en"]
    hits = kb.search("血压高有什么症状", k=3, mode="bm25")
    assert hits[0].chunk.doc_id == "MPlusHealthTopics_0000471"
    flu = kb.search("流感 抗病毒 奥司他韦 剂量", k=2, mode="bm25")  # Chinese documents still found
    assert flu[0].chunk.language == "zh"


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_dense_and_hybrid_use_the_english_rendering(built_kb: Path, mode: str) -> None:
    kb = KnowledgeBase(built_kb)
    hits = kb.search("得了糖尿病平时要注意什么", k=3, mode=mode)
    assert hits[0].chunk.title == "Diabetes"
    assert all(h.dense is not None for h in hits)
    given = kb.search("被狗咬了怎么办", k=3, mode=mode, translate="What should I do after a dog bite? rabies")
    assert "CDC_0000342" in [h.chunk.doc_id for h in given]
