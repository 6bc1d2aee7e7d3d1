"""Knowledge bases of static vectors mapped into e5's space (``kb build --embedder mapped``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medsage import embed
from medsage.errors import SpecError
from medsage.kb import KnowledgeBase, add, build, mapped
from medsage.kb.ingest import DENSE_CHARS, dense_text
from medsage.kb.static import StaticTable

from .conftest import FIXTURES
from .test_static_embed import RANKED


def test_the_fitted_map_recovers_a_linear_relation() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    true_w = rng.normal(size=(16, 16)).astype(np.float32)
    y = x @ true_w + 5.0 + 0.01 * rng.normal(size=(400, 16)).astype(np.float32)
    fitted = mapped.fit_map(x, y, ridge=1e-6)
    pred = (x - fitted["mean_static"]) @ fitted["w"] + fitted["mean_e5"]
    assert np.abs(pred - y).max() < 0.1
    out = mapped.apply_map(np.vstack([x[:3], np.zeros((1, 16), np.float32)]), fitted)
    assert np.allclose(np.linalg.norm(out[:3], axis=1), 1.0) and not out[3].any()  # no tokens, no signal


def test_sample_rows_are_reproducible_and_all_rows_for_a_small_kb() -> None:
    assert list(mapped.sample_rows(5, 8)) == [0, 1, 2, 3, 4]
    picked = mapped.sample_rows(100, 10)
    assert len(set(picked)) == 10 and list(picked) == sorted(picked) and list(mapped.sample_rows(100, 10)) == list(picked)


@pytest.fixture(scope="module")
def mapped_kb(tmp_path_factory: pytest.TempPathFactory, kb_sources: list[str]) -> Path:
    out = tmp_path_factory.mktemp("mapped") / "kb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mapped, "SAMPLE", 8)  # the fixture corpus is smaller than the real sample: map most of it
        mp.setenv("MEDSAGE_CACHE_DIR", str(tmp_path_factory.mktemp("mapped_cache")))  # others expect a cold cache
        build(out, kb_sources, embedder="mapped")
    return out


def test_every_chunk_is_mapped_by_the_map_fitted_on_the_e5_sample(mapped_kb: Path) -> None:
    kb = KnowledgeBase(mapped_kb)
    info = kb.manifest["dense"]
    assert info["embedder"] == "mapped" and info["static"]["map_sample"] == 8 and info["dim"] == embed.DIM
    texts = [dense_text(c, DENSE_CHARS) for c in kb.chunks]
    assert len(texts) > 8
    rows = mapped.sample_rows(len(texts), 8)
    table = StaticTable.load(kb.gen)
    static = table.embed(texts)
    refit = mapped.fit_map(static[rows], embed.embed_passages([texts[i] for i in rows]))
    with np.load(kb.gen / mapped.MAP_FILE) as f:
        fitted = {k: f[k] for k in f.files}
    assert np.allclose(fitted["w"], refit["w"], atol=0.05)  # the stored map is the one fitted on the e5 sample
    matrix = np.asarray(kb.dense.matrix, dtype=np.float32)
    assert np.all(np.sum(matrix * mapped.apply_map(static, fitted), axis=1) > 0.99)


def test_queries_are_embedded_by_e5_and_search_finds_the_documents(mapped_kb: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kb = KnowledgeBase(mapped_kb)
    assert kb.static_table is None
    used: list[str] = []
    real = embed.embed_query
    monkeypatch.setattr(embed, "embed_query", lambda text: used.append(text) or real(text))
    for query, doc in RANKED:
        hits = kb.search(query, k=3, mode="hybrid")
        assert hits[0].chunk.doc_id == doc, (query, [h.chunk.doc_id for h in hits])
    assert used  # e5 embedded the queries


def test_add_refits_and_milvus_is_refused(mapped_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_CACHE_DIR", str(tmp_path / "cache"))  # other tests expect a cold cache
    add(mapped_kb, [f"docs:{FIXTURES / 'docs'}"])
    kb = KnowledgeBase(mapped_kb)
    assert kb.manifest["dense"]["embedder"] == "mapped" and (kb.gen / mapped.MAP_FILE).is_file()
    with pytest.raises(SpecError, match="folder knowledge bases only"):
        build(str(tmp_path / "kb.db"), [f"docs:{FIXTURES / 'docs'}"], embedder="mapped")
