"""Building, searching, updating and damaging a knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.errors import DataError, SpecError
from medsage.kb import KnowledgeBase, add, build, remove
from medsage.kb.search import MAX_QUERY_CHARS

from .conftest import FIXTURES


def test_stats_and_metadata(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    stats = kb.stats()
    assert stats["documents"] == 5
    assert set(stats["by_source"]) == {"medquad", "docs"}
    assert stats["by_language"]["zh"] >= 3 and stats["by_language"]["en"] >= 4
    assert stats["dense"]["dim"] == 384
    chunk = next(c for c in kb.chunks if c.doc_id == "MPlusHealthTopics_0000065")
    assert (chunk.title, chunk.source, chunk.language) == ("Asthma", "medquad", "en")


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_english_query_finds_its_document(built_kb: Path, mode: str) -> None:
    hits = KnowledgeBase(built_kb).search("What is high blood pressure?", k=3, mode=mode)
    assert hits[0].chunk.doc_id == "MPlusHealthTopics_0000471"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_chinese_query_finds_english_source_cross_lingually(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    hits = kb.search("哮喘是什么病？", k=2, mode="dense", languages=["en"])
    assert hits[0].chunk.title == "Asthma"
    hybrid = kb.search("狂犬病怎么传播", k=3, mode="hybrid")
    assert "CDC_0000342" in [h.chunk.doc_id for h in hybrid]


def test_chinese_query_finds_chinese_document_with_bm25(built_kb: Path) -> None:
    hits = KnowledgeBase(built_kb).search("流感 抗病毒 奥司他韦 剂量", k=2, mode="bm25")
    assert hits[0].chunk.section == "治疗"


def test_filters(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    assert {h.chunk.source for h in kb.search("fever", k=10, sources=["docs"])} == {"docs"}
    assert {h.chunk.language for h in kb.search("fever", k=10, mode="dense", languages=["zh"])} == {"zh"}


def test_rebuild_gives_same_ids(built_kb: Path, tmp_path: Path, kb_sources: list[str]) -> None:
    build(tmp_path / "again", kb_sources, dense=False)
    first = [c.chunk_id for c in KnowledgeBase(built_kb).chunks]
    second = [c.chunk_id for c in KnowledgeBase(tmp_path / "again").chunks]
    assert first == second


def test_bad_queries(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    with pytest.raises(DataError, match="empty query"):
        kb.search("   ")
    with pytest.raises(SpecError):
        kb.search("asthma", mode="magic")
    with pytest.raises(SpecError):
        kb.search("asthma", k=0)
    huge = ("asthma inhaler " * 1000)[:10_000]
    hits = kb.search(huge, k=3, mode="bm25")
    assert hits and hits[0].chunk.title == "Asthma"
    assert len(huge) > MAX_QUERY_CHARS
    assert kb.search("qqqzzz xxyyq", k=3, mode="bm25") == []


def test_missing_and_half_written_kb(kb_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        KnowledgeBase(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a medsage knowledge base"):
        KnowledgeBase(tmp_path / "plain")
    manifest = json.loads((kb_copy / "manifest.json").read_text())
    dense = kb_copy / manifest["generation"] / "dense.npy"
    dense.write_bytes(dense.read_bytes()[:100])
    with pytest.raises(DataError, match="half-written"):
        KnowledgeBase(kb_copy)
    (kb_copy / "manifest.json").unlink()
    with pytest.raises(DataError, match="half-written"):
        KnowledgeBase(kb_copy)


def test_add_and_remove_are_incremental(kb_copy: Path, tmp_path: Path) -> None:
    docs = tmp_path / "more"
    docs.mkdir()
    (docs / "gout.md").write_text("# Gout\n\n## Treatment\n\nColchicine or NSAIDs treat acute gout flares.", encoding="utf-8")
    report = add(kb_copy, [f"docs:{docs}"])
    assert report.embedded == 1 and report.added == 1
    kb = KnowledgeBase(kb_copy)
    assert kb.search("colchicine gout flare", k=1)[0].chunk.doc_id == "more/gout.md"
    report = remove(kb_copy, doc_ids=["more/gout.md"])
    assert report.removed == 1 and report.embedded == 0
    assert all(c.doc_id != "more/gout.md" for c in KnowledgeBase(kb_copy).chunks)
    with pytest.raises(DataError, match="nothing to remove"):
        remove(kb_copy, doc_ids=["no-such-doc"])
    remove(kb_copy, sources=["docs"])
    assert {c.source for c in KnowledgeBase(kb_copy).chunks} == {"medquad"}
    assert len(list(kb_copy.glob("g[0-9]*"))) == 1


def test_build_refuses_foreign_folder_and_empty_sources(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        build(tmp_path, [f"medquad:{FIXTURES / 'medquad'}"], dense=False)
    with pytest.raises(DataError, match="no documents"):
        build(tmp_path / "kb", [f"docs:{tmp_path / 'missing'}"], dense=False)


def test_cli_build_stats_search_json(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "kb"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (bad / "ok.txt").write_text("Warfarin interacts with many antibiotics.", encoding="utf-8")
    res = runner.invoke(cli, ["kb", "build", "--out", str(out), "--no-dense",
                              f"medquad:{FIXTURES / 'medquad'}", f"docs:{bad}"])
    assert res.exit_code == 0, res.output
    assert "broken.pdf" in res.output and "5 documents read" in res.output
    res = runner.invoke(cli, ["kb", "stats", "--kb", str(out), "--json"])
    assert json.loads(res.output)["dense"] is None
    res = runner.invoke(cli, ["kb", "search", "diabetes blood sugar", "--kb", str(out), "-k", "2", "--mode", "bm25", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)
    assert hits[0]["doc_id"] == "MPlusHealthTopics_0000266" and hits[0]["title"] == "Diabetes"
    assert {"doc_id", "title", "url", "source", "score", "text"} <= set(hits[0])
    res = runner.invoke(cli, ["kb", "search", "x", "--kb", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(cli, ["kb", "search", "", "--kb", str(out)])
    assert res.exit_code == 2 and "empty query" in res.output


def test_dense_read_rows_matches_the_map(tmp_path: Path) -> None:
    import numpy as np

    from medsage.kb.dense import DenseIndex

    rng = np.random.default_rng(0)
    m = rng.standard_normal((500, 16)).astype(np.float16)
    DenseIndex(m).save(tmp_path / "dense.npy")
    loaded = DenseIndex.load(tmp_path / "dense.npy")
    rows = np.array([499, 3, 250, 3, 0])
    got = loaded.read_rows(rows)
    assert got.dtype == np.float32 and got.shape == (5, 16)
    assert np.array_equal(got, m[rows].astype(np.float32))
    assert np.array_equal(DenseIndex(m).read_rows(rows), got)  # in-memory matrices too
