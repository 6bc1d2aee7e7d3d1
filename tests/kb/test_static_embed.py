"""Knowledge bases built with static word vectors distilled from e5 (``kb build --embedder static``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from medsage import embed
from medsage.cli import cli
from medsage.errors import SpecError
from medsage.kb import KnowledgeBase, add, build
from medsage.kb.ingest import DENSE_CHARS, dense_text
from medsage.kb.static import VECTORS_FILE, VOCAB_FILE, StaticTable
from medsage.kb.text import token_pairs
from medsage.kb.types import BuildReport

from .conftest import FIXTURES

RANKED = [("What is high blood pressure?", "MPlusHealthTopics_0000471"),
          ("diabetes blood sugar", "MPlusHealthTopics_0000266"),
          ("asthma airways", "MPlusHealthTopics_0000065"),
          ("rabies animal bite", "CDC_0000342")]


@pytest.fixture(scope="module")
def static_kb(tmp_path_factory: pytest.TempPathFactory, kb_sources: list[str]) -> tuple[Path, BuildReport]:
    out = tmp_path_factory.mktemp("static") / "kb"
    return out, build(out, kb_sources, embedder="static")


@pytest.fixture
def no_e5_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails any e5 *query* embedding: a static KB must embed queries with its own table."""
    def refuse(text: str) -> np.ndarray:
        raise AssertionError(f"e5 query embedding used for {text!r}")

    monkeypatch.setattr(embed, "embed_query", refuse)


def test_table_is_built_stored_and_recorded(static_kb: tuple[Path, BuildReport]) -> None:
    path, report = static_kb
    kb = KnowledgeBase(path)
    info = kb.manifest["dense"]
    assert info["embedder"] == "static" and info["dense_chars"] == DENSE_CHARS and info["dim"] == embed.DIM
    assert info["static"]["remove_pc"] is False and info["static"]["words_from"] == embed.embedder_id()
    assert {VOCAB_FILE, VECTORS_FILE} <= set(kb.manifest["files"])  # size-checked like every KB file
    table = kb.static_table
    assert table is not None and len(table.tokens) == info["static"]["vocab"] == table.vectors.shape[0]
    assert 0 < report.embedded <= len(table.tokens)
    # the vocabulary is the retrieval tokens of the embedded text; a stem is embedded as its word
    texts = [dense_text(c, DENSE_CHARS) for c in kb.chunks]
    assert set(table.tokens) == {tok for t in texts for tok, _ in token_pairs(t)}
    assert table.surfaces[table.ids["diabet"]] == "diabetes" and table.surfaces[table.ids["流感"]] == "流感"
    word = embed.embed_passages(["diabetes"])[0]
    assert float(np.asarray(table.vectors[table.ids["diabet"]], dtype=np.float32) @ word) > 0.999
    # a chunk's vector is the SIF-weighted mean of its tokens' vectors, L2-normalised
    row = 3
    ids = [table.ids[tok] for tok, _ in token_pairs(texts[row])]
    mean = (np.asarray(table.vectors[ids], dtype=np.float32) * table.weights[ids, None]).sum(0)
    stored = np.asarray(kb.dense.matrix[row], dtype=np.float32)
    assert float(stored @ mean / np.linalg.norm(mean)) > 0.999
    rare, common = table.weights[-1], table.weights[0]
    assert 0 < common < rare <= 1  # frequent words weigh less


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_dense_and_hybrid_search_use_the_table(static_kb: tuple[Path, BuildReport], mode: str,
                                               no_e5_queries: None) -> None:
    kb = KnowledgeBase(static_kb[0])
    for query, doc in RANKED:
        hits = kb.search(query, k=3, mode=mode)
        assert hits[0].chunk.doc_id == doc, (query, [h.chunk.doc_id for h in hits])
        assert hits[0].margin is not None and hits[0].margin > 0
    assert kb.search("流感疫苗接种", k=1, mode=mode)[0].chunk.section == "预防"
    assert kb.search("奥司他韦 剂量", k=1, mode=mode)[0].chunk.section == "治疗"


def test_query_words_unknown_to_the_table(static_kb: tuple[Path, BuildReport], no_e5_queries: None) -> None:
    kb = KnowledgeBase(static_kb[0])
    table = kb.static_table
    assert table is not None
    size = len(table.tokens)
    query = "asthmatic wheezing"  # neither stem is in the fixture's vocabulary
    assert all(tok not in table.ids for tok, _ in token_pairs(query))
    vec = kb.embed_query(query)
    assert abs(float(np.linalg.norm(vec)) - 1) < 1e-4
    for mode in ("dense", "hybrid"):
        assert kb.search(query, k=2, mode=mode)[0].chunk.doc_id == "MPlusHealthTopics_0000065"
    assert len(table.tokens) == size  # the stored table is not changed by queries


def test_query_without_tokens_has_no_dense_signal(static_kb: tuple[Path, BuildReport], no_e5_queries: None) -> None:
    kb = KnowledgeBase(static_kb[0])
    assert not np.any(kb.embed_query("what is it?"))
    assert kb.search("what is it?", k=3, mode="dense") == []
    assert kb.search("what is it?", k=3, mode="hybrid") == kb.search("what is it?", k=3, mode="bm25")
    table = kb.static_table
    assert table is not None and not np.any(table.embed([""]))


def test_rebuild_and_add_embed_only_new_words(static_kb: tuple[Path, BuildReport], kb_sources: list[str],
                                              tmp_path: Path) -> None:
    path, _ = static_kb
    again = build(tmp_path / "again", kb_sources, embedder="static")
    assert again.embedded == 0  # every word comes from the embedding cache
    first, second = (np.load(KnowledgeBase(p).gen / "dense.npy") for p in (path, tmp_path / "again"))
    assert np.array_equal(first, second)
    kb_dir = tmp_path / "copy"
    shutil.copytree(path, kb_dir)
    docs = tmp_path / "more"
    docs.mkdir()
    (docs / "gout.md").write_text("# Gout\n\n## Treatment\n\nColchicine treats gout flares.", encoding="utf-8")
    report = add(kb_dir, [f"docs:{docs}"])
    new_words = {tok for tok, _ in token_pairs("Gout — Treatment\nColchicine treats gout flares.")}
    assert 0 < report.embedded <= len(new_words)
    kb = KnowledgeBase(kb_dir)
    assert kb.manifest["dense"]["embedder"] == "static" and "gout" in kb.static_table.ids
    assert kb.search("colchicine for gout", k=1, mode="dense")[0].chunk.doc_id == "more/gout.md"


def test_e5_kb_is_unchanged_by_default(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    assert kb.manifest["dense"] == {"model": embed.MODEL, "dim": embed.DIM, "dense_chars": DENSE_CHARS}
    assert kb.static_table is None
    assert not any(name.startswith("static_") for name in kb.manifest["files"])
    assert np.allclose(kb.embed_query("fever"), embed.embed_query("fever"))


def test_cli_embedder_flag_and_principal_component(tmp_path: Path, kb_sources: list[str],
                                                   static_kb: tuple[Path, BuildReport]) -> None:
    runner = CliRunner()
    out = tmp_path / "kb"
    res = runner.invoke(cli, ["kb", "build", "--out", str(out), "--embedder", "static", "--remove-pc", "--json",
                              *kb_sources])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{"):])["embedded"] == 0
    res = runner.invoke(cli, ["kb", "stats", "--kb", str(out), "--json"])
    dense = json.loads(res.output)["dense"]
    assert dense["embedder"] == "static" and dense["static"]["remove_pc"] is True
    table = StaticTable.load(KnowledgeBase(out).gen)
    assert table.pc is not None and abs(float(np.linalg.norm(table.pc)) - 1) < 1e-4
    res = runner.invoke(cli, ["kb", "search", "diabetes blood sugar", "--kb", str(out), "--mode", "dense",
                              "-k", "2", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)
    assert hits[0]["doc_id"] == "MPlusHealthTopics_0000266"
    plain = KnowledgeBase(static_kb[0]).search("diabetes blood sugar", k=2, mode="dense")
    assert hits[0]["margin"] > plain[0].margin  # removing the common direction spreads the cosines


def test_milvus_and_bad_options_are_refused(tmp_path: Path) -> None:
    source = [f"medquad:{FIXTURES / 'medquad'}"]
    with pytest.raises(SpecError, match="folder knowledge bases only"):
        build(str(tmp_path / "kb.db"), source, embedder="static")
    assert not (tmp_path / "kb.db").exists()
    with pytest.raises(SpecError, match="unknown embedder"):
        build(tmp_path / "x", source, embedder="glove")
    with pytest.raises(SpecError, match="--remove-pc"):
        build(tmp_path / "x", source, remove_pc=True)
    res = CliRunner().invoke(cli, ["kb", "build", "--out", str(tmp_path / "kb.db"), "--embedder", "static", *source])
    assert res.exit_code == 2 and "folder knowledge bases only" in res.output


def test_damaged_word_table_is_one_clear_error(static_kb: tuple[Path, BuildReport], tmp_path: Path) -> None:
    from medsage.errors import DataError

    copy = tmp_path / "kb"
    shutil.copytree(static_kb[0], copy)
    vocab = next(copy.rglob(VOCAB_FILE))
    vocab.write_text("{not json", encoding="utf-8")
    # The store's own check names the damaged file before any search runs.
    with pytest.raises(DataError, match=f"{VOCAB_FILE} is missing or truncated; rebuild it"):
        KnowledgeBase(str(copy)).search("blood pressure", k=3, mode="hybrid")
    # The table's loader refuses what the store's size check cannot see: unreadable or foreign files.
    with pytest.raises(DataError, match="unreadable static word table"):
        StaticTable.load(vocab.parent)
    vocab.write_text(json.dumps({"format": "something-else/9", "tokens": []}), encoding="utf-8")
    with pytest.raises(DataError, match="static word table of unknown format"):
        StaticTable.load(vocab.parent)
