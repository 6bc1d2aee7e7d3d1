"""The Milvus backend on Milvus Lite: same results as the embedded store, updates, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.errors import DataError
from medsage.kb import KnowledgeBase, add, build, remove

from .conftest import FIXTURES

pytest.importorskip("pymilvus", reason="pip install 'medsage[milvus]' for the Milvus backend")
pytest.importorskip("milvus_lite", reason="pip install 'medsage[milvus]' for Milvus Lite")

QUERIES = ["What is high blood pressure?", "哮喘是什么病？", "狂犬病怎么传播", "fever treatment", "流感 抗病毒 奥司他韦 剂量"]


@pytest.fixture(scope="module")
def milvus_kb(tmp_path_factory: pytest.TempPathFactory, kb_sources: list[str], built_kb: Path) -> str:
    uri = str(tmp_path_factory.mktemp("milvus") / "kb.db") + "#fixture"
    report = build(uri, kb_sources)
    assert report.chunks == len(KnowledgeBase(built_kb).chunks) and report.embedded == 0  # from the cache
    return uri


def _ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.chunk.chunk_id for h in hits]


def assert_same_results(uri: str, built_kb: Path, mode: str) -> None:
    """The Milvus KB at ``uri`` ranks :data:`QUERIES` like the embedded store, margins included."""
    mv, emb = KnowledgeBase(uri), KnowledgeBase(built_kb)
    assert type(mv).__name__ == "MilvusKB"
    for q in QUERIES:
        a, e = mv.search(q, k=5, mode=mode), emb.search(q, k=5, mode=mode)
        assert _ids(a) == _ids(e), (q, _ids(a), _ids(e))
        if mode != "bm25":
            assert [round(h.margin or 0, 2) for h in a] == pytest.approx([round(h.margin or 0, 2) for h in e], abs=0.02)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_same_results_as_the_embedded_store(milvus_kb: str, built_kb: Path, mode: str) -> None:
    assert_same_results(milvus_kb, built_kb, mode)


def test_dense_candidates_are_the_exact_nearest(tmp_path: Path) -> None:
    """Dense candidates equal exact search with a FLAT index (a small build's), nearly so with HNSW.

    1,500 random 384-d vectors are hard for HNSW: at the former ef of 64 (and HNSW for every
    build), 6 of these 10 top-10 lists equalled exact search, 96 of the 100 rows found. The
    12-chunk fixture corpus is too small to show it.
    """
    import numpy as np

    from medsage.kb.backend import Filters
    from medsage.kb.milvus import FIELDS, MilvusKB, connect, create_collection, write_meta
    from medsage.kb.milvus_build import FORMAT

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((1500, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    queries = vecs[::150] + 0.05 * rng.standard_normal((10, 384)).astype(np.float32)
    path = str(tmp_path / "rand.db")
    client, _ = connect(path, must_exist=False)
    for name, index in (("flat", "FLAT"), ("hnsw", "HNSW")):
        create_collection(client, f"{name}_g000001", 384, exact=index == "FLAT")
        client.insert(collection_name=f"{name}_g000001", data=[
            {"pk": i, "tokens": "t0", **{f: "en" if f == "language" else "x" for f in FIELDS}, "dense": v.tolist()}
            for i, v in enumerate(vecs)])
        client.flush(collection_name=f"{name}_g000001")  # into an indexed segment (unflushed rows: brute force)
        write_meta(client, f"{name}_g000001", {"format": FORMAT, "dense": {"dim": 384}, "languages": ["en"],
                                                "chunks": len(vecs), "next_pk": len(vecs), "dense_index": index})
        client.create_alias(collection_name=f"{name}_g000001", alias=name)
    client.close()
    for name in ("flat", "hnsw"):
        kb = MilvusKB(f"{path}#{name}")
        same = found = 0
        for q in queries:
            want = np.argsort(-(vecs @ q))[:10].tolist()
            got = [row for row, _ in kb.dense_candidates(q, "en", 10, Filters())]
            same += got == want
            found += len(set(got) & set(want))
        kb.close()
        assert same == 10 if name == "flat" else found >= 98, (name, same, found)


def test_filters_and_stats(milvus_kb: str, built_kb: Path) -> None:
    kb = KnowledgeBase(milvus_kb)
    assert {h.chunk.source for h in kb.search("fever", k=10, sources=["docs"])} == {"docs"}
    assert {h.chunk.language for h in kb.search("fever", k=10, mode="dense", languages=["zh"])} == {"zh"}
    licence = sorted({c.licence for c in KnowledgeBase(built_kb).chunks})[0]
    assert {h.chunk.licence for h in kb.search("fever", k=10, licences=[licence])} == {licence}
    assert [c.chunk_id for c in kb.chunks] == [c.chunk_id for c in KnowledgeBase(built_kb).chunks]
    assert len(kb.chunks) == len(KnowledgeBase(built_kb).chunks)
    stats, ref = kb.stats(), KnowledgeBase(built_kb).stats()
    for key in ("documents", "chunks", "by_source", "by_language", "ann"):  # ann None: searched exactly
        assert stats[key] == ref[key], key


def test_add_and_remove_in_place(tmp_path: Path, kb_sources: list[str]) -> None:
    uri = str(tmp_path / "kb.db")
    build(uri, [kb_sources[0]])
    assert {h.chunk.source for h in KnowledgeBase(uri).search("fever", k=20)} == {"medquad"}
    report = add(uri, [kb_sources[1]])
    assert report.added > 0 and report.removed == 0
    assert "docs" in {h.chunk.source for h in KnowledgeBase(uri).search("fever", k=20)}
    again = add(uri, [kb_sources[1]])  # same documents: replaced, nothing new embedded
    assert again.removed == report.added and again.embedded == 0
    stats = KnowledgeBase(uri).stats()
    assert stats["chunks"] == sum(v["chunks"] for v in stats["by_source"].values()) == again.chunks
    gone = remove(uri, sources=["docs"])
    assert gone.removed == report.added
    assert {h.chunk.source for h in KnowledgeBase(uri).search("fever", k=20)} == {"medquad"}
    pre = remove(uri, prefixes=["MPlusHealthTopics_"])
    assert pre.removed >= 1 and not any(h.chunk.doc_id.startswith("MPlusHealthTopics_")
                                        for h in KnowledgeBase(uri).search("asthma blood pressure", k=20))
    with pytest.raises(DataError, match="nothing to remove"):
        remove(uri, doc_ids=["no-such-doc"])


def test_cli_build_search_stats(tmp_path: Path) -> None:
    uri = str(tmp_path / "cli.db")
    runner = CliRunner()
    r = runner.invoke(cli, ["kb", "build", "--out", uri, f"docs:{FIXTURES / 'docs'}"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["kb", "search", "--kb", uri, "fever", "--json", "-k", "2"])
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2
    r = runner.invoke(cli, ["kb", "stats", "--kb", uri])
    assert r.exit_code == 0 and "milvus store" in r.output


def test_another_process_opens_it_and_a_held_file_is_one_clear_error(tmp_path: Path, milvus_kb: str) -> None:
    import subprocess
    import sys

    def medsage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "medsage", "kb", *args], capture_output=True, text=True,
                              timeout=180)

    uri = str(tmp_path / "fresh.db")
    assert medsage("build", "--out", uri, "--no-dense", f"medquad:{FIXTURES / 'medquad'}").returncode == 0
    found = medsage("search", "--kb", uri, "--mode", "bm25", "high blood pressure", "--json", "-k", "1")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["doc_id"] == "MPlusHealthTopics_0000471"
    held = medsage("search", "--kb", milvus_kb, "fever")  # this test process holds that file open
    assert held.returncode == 2 and "one process at a time" in held.stderr and "Traceback" not in held.stderr


def test_bad_input_is_one_clear_error(tmp_path: Path, milvus_kb: str) -> None:
    runner = CliRunner()
    cases = {
        "http://127.0.0.1:9#kb": "cannot reach Milvus",
        str(tmp_path / "missing.db"): "does not exist",
        milvus_kb.split("#")[0] + "#other": "does not exist",
    }
    for uri, message in cases.items():
        r = runner.invoke(cli, ["kb", "search", "--kb", uri, "fever"])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, (uri, r.output)


@pytest.mark.parametrize("version", ["v2.3.5", "v2.3.5-lite", "2.4.9"])
def test_a_server_too_old_is_one_clear_error_and_leaves_nothing(tmp_path: Path, version: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A Milvus without sparse vectors and BM25 (before 2.5): one line, exit 2, no collection written."""
    import pymilvus

    uri = str(tmp_path / "old.db") + "#t1"
    runner = CliRunner()
    with monkeypatch.context() as mp:
        mp.setattr(pymilvus.MilvusClient, "get_server_version", lambda self, **kw: version)
        for args in (["build", "--out", uri, "--no-dense", f"docs:{FIXTURES / 'docs'}"],
                     ["search", "--kb", uri, "fever"], ["stats", "--kb", uri]):
            r = runner.invoke(cli, ["kb", *args])
            assert r.exit_code == 2, (args, r.output)
            assert r.output.strip() == (f"medsage: error: Milvus server {version} at {uri.split('#')[0]} is too "
                                        "old: medsage needs Milvus ≥ 2.5 (sparse vectors, BM25 function)"), r.output
    client = pymilvus.MilvusClient(uri=uri.split("#")[0])
    try:
        assert client.list_collections() == []
    finally:
        client.close()


def test_server_versions_that_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Milvus from 2.5, Milvus Lite's own numbering and unnumbered services pass; a failed call does not."""
    from medsage.kb.milvus import check_server

    class Client:
        def __init__(self, version: str) -> None:
            self.version = version

        def get_server_version(self) -> str:
            if not self.version:
                raise ConnectionError("gone")
            return self.version

    for ok in ("v2.5.0", "2.6.1", "v3.0.0-beta", "milvus_lite-3.2.2", "Zilliz Cloud"):
        check_server(Client(ok), "http://h:19530")
    with pytest.raises(DataError, match="cannot reach Milvus at http://h:19530: gone"):
        check_server(Client(""), "http://h:19530")


def test_a_refused_index_drops_the_new_collection(tmp_path: Path) -> None:
    """A server that creates the collection and then refuses an index leaves no half-built one."""
    from pymilvus.exceptions import MilvusException

    from medsage.kb.milvus import connect, create_collection

    client, _ = connect(str(tmp_path / "refuse.db"), must_exist=False)
    try:
        def refuse(*args: object, **kwargs: object) -> None:
            raise MilvusException(message="create index on 104 field is not supported")

        client.create_index = refuse
        with pytest.raises(DataError, match="cannot create collection t_g000001: create index on 104"):
            create_collection(client, "t_g000001", None)
        assert not client.has_collection("t_g000001")
    finally:
        client.close()


def test_a_rebuild_that_cannot_go_live_keeps_the_previous_one(tmp_path: Path, kb_sources: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The alias moves last: if that fails, the new collection is dropped and the old KB still answers."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    uri = str(tmp_path / "live.db")
    build(uri, [kb_sources[0]])
    before = KnowledgeBase(uri).stats()["chunks"]

    def refuse(*args: object, **kwargs: object) -> None:
        raise MilvusException(message="alias is being altered by another client")

    monkeypatch.setattr(MilvusClient, "alter_alias", refuse)
    with pytest.raises(DataError, match="could not be made live .*alias is being altered.*unchanged"):
        build(uri, kb_sources)
    monkeypatch.undo()
    kb = KnowledgeBase(uri)
    assert kb.stats()["chunks"] == before and {h.chunk.source for h in kb.search("fever", k=20)} == {"medquad"}
    from medsage.kb.milvus import connect

    client, _ = connect(uri)
    try:
        assert sorted(n for n in client.list_collections() if not n.endswith("_meta")) == ["medsage_g000001"]
    finally:
        client.close()


def test_half_built_and_wrong_dimension(tmp_path: Path) -> None:
    from medsage.kb.milvus import connect, create_collection, write_meta
    from medsage.kb.milvus_build import FORMAT

    uri = str(tmp_path / "odd.db")
    client, _ = connect(uri + "#half", must_exist=False)
    create_collection(client, "half_g000001", 384)  # a build that stopped before its settings row
    with pytest.raises(DataError, match="half-written"):
        KnowledgeBase(uri + "#half")
    create_collection(client, "wide_g000001", 768)
    write_meta(client, "wide_g000001", {"format": FORMAT, "dense": {"dim": 768}, "languages": ["en"]})
    client.create_alias(collection_name="wide_g000001", alias="wide")
    with pytest.raises(DataError, match="dimension 768"):
        KnowledgeBase(uri + "#wide")


def test_rag_pipeline_reads_a_milvus_kb(milvus_kb: str) -> None:
    import asyncio

    from medsage.models import get_model
    from medsage.pipeline import get_pipeline
    from medsage.types import GenerateConfig, Message

    pipe = get_pipeline("rag", get_model("mock/echo"), {"kb": milvus_kb, "k": 2})
    out = asyncio.run(pipe.generate([Message("user", "What is high blood pressure?")], GenerateConfig()))
    assert out.error is None and "MPlusHealthTopics_0000471" in json.dumps(out.extras, ensure_ascii=False)
