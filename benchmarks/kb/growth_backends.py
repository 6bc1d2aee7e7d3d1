"""Growth table of both backends: the embedded store with ANN, and Milvus Lite.

    nice -n 19 python benchmarks/kb/growth_backends.py --sizes 30000 300000 1000000 3000000 \
        --backends embedded milvus --out benchmarks/kb/results_growth_backends.json

Per size and backend, in fresh child processes: a build of ``n`` synthetic chunks (real
MedQuAD chunks cycled, cut to a random length and tagged with a unique code word, as in
``growth.py``) with synthetic 384-dim vectors of low intrinsic dimension (the generator
of ``ann_recall.py``; embedding a million chunks is the build-speed question, measured
apart) through the backend's own code (chunk file + index, BM25, float16 vectors, HNSW
per language; Milvus: collection, BM25 function, HNSW) — wall time, peak RSS, bytes on
disk; then a search process: open time, p50/p95 of ``search(k=10)`` per mode (query
embedding replaced by a synthetic vector, so the times are the store's; add the
embedder's ~10-20 ms per query), and its peak RSS; then (embedded) recall@10 of the
ANN dense ranking against exact search over the same vectors.

Each size stops at ``--timeout`` seconds per phase; a backend that times out or fails
at one size is not tried at larger ones (that is where it "stops").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from growth import mode_latencies  # noqa: E402


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _chunks(medquad: str, n: int) -> list[Any]:
    from medsage.kb.build import ingest
    from medsage.kb.types import BuildReport, Chunk

    base = ingest([f"medquad:{medquad}"], BuildReport())
    rng = random.Random(0)
    out = []
    for i in range(n):
        c = base[i % len(base)]
        cut = rng.randint(200, 900)
        lang = "zh" if i % 10 == 0 else "en"  # a second language, as a bilingual store has
        out.append(Chunk(f"syn{i}", f"syn{i // 4}", c.title, c.section, f"{c.text[:cut]} zq{i:07d}",
                         "synthetic", language=lang, licence="public domain" if i % 3 else "CC BY 4.0"))
    return out


def _vectors(n: int, seed: int = 0) -> Any:
    import numpy as np
    from ann_recall import synthetic

    out = np.zeros((n, 384), dtype=np.float16)
    for s in range(0, n, 100_000):  # bounded memory
        m = min(100_000, n - s)
        out[s:s + m] = synthetic(m, 384, 2000, 64, np.random.default_rng(seed + s)).astype(np.float16)
    return out


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def phase_build(backend: str, medquad: str, n: int, kb: str) -> None:
    import numpy as np

    chunks = _chunks(medquad, n)
    vecs = _vectors(n)
    t0 = time.perf_counter()
    times: dict[str, float] = {}
    if backend == "embedded":
        from medsage.embed import DIM
        from medsage.kb import store
        from medsage.kb.ann import DIRNAME, build_ann
        from medsage.kb.chunktable import write_index
        from medsage.kb.dense import DenseIndex
        from medsage.kb.sparse import SparseIndex

        kb_dir = Path(kb)
        shutil.rmtree(kb_dir, ignore_errors=True)
        gen = store.new_generation(kb_dir)
        store.write_chunks(gen, chunks)
        write_index(gen, chunks)
        times["chunks_s"] = time.perf_counter() - t0
        SparseIndex.build([c.index_text for c in chunks]).save(gen / "bm25")
        times["bm25_s"] = time.perf_counter() - t0 - sum(times.values())
        DenseIndex(vecs).save(gen / "dense.npy")
        names = sorted({c.language for c in chunks})
        codes = np.array([names.index(c.language) for c in chunks], dtype=np.uint16)
        counts = build_ann(gen / DIRNAME, vecs, codes, names)
        times["dense_ann_s"] = time.perf_counter() - t0 - sum(times.values())
        store.commit(kb_dir, gen, {"chunks": n, "documents": n // 4, "sources": ["synthetic"],
                                   "dense": {"model": "synthetic", "dim": DIM, "dense_chars": 0},
                                   "ann": {"library": "usearch", "rows": counts}})
        size = _bytes(kb_dir)
    else:
        from medsage.kb.milvus import FORMAT, connect, create_collection, write_meta
        from medsage.kb.milvus_build import _insert, _median_rows

        path = Path(kb.split("#")[0])
        _remove(path)
        client, name = connect(kb, must_exist=False)
        collection = f"{name}_g000001"
        create_collection(client, collection, 384)
        _insert(client, collection, chunks, 0, vecs, None)
        write_meta(client, collection, {"format": FORMAT, "chunks": n, "next_pk": n,
                                        "dense": {"model": "synthetic", "dim": 384, "dense_chars": 0},
                                        "sources": ["synthetic"], "languages": sorted({c.language for c in chunks}),
                                        "median_rows": _median_rows(chunks, 0)})
        client.create_alias(collection_name=collection, alias=name)
        client.close()
        times["insert_s"] = time.perf_counter() - t0
        size = _bytes(path)
    print(json.dumps({"seconds": {k: round(v, 1) for k, v in times.items()},
                      "total_s": round(time.perf_counter() - t0, 1), "bytes": size, "peak_rss_mb": _peak_mb()}))


def phase_query(kb: str, queries: str, nq: int) -> None:
    import numpy as np
    from ann_recall import synthetic

    import medsage.kb.backend as backend_mod
    from medsage.kb import KnowledgeBase

    qvecs = synthetic(nq + 1, 384, 2000, 64, np.random.default_rng(99))
    state = {"i": 0}

    def fake_embed(_: str) -> Any:
        state["i"] = (state["i"] + 1) % len(qvecs)
        return qvecs[state["i"]]

    import medsage.embed as embed_mod

    embed_mod.embed_query = fake_embed  # type: ignore[assignment]
    assert backend_mod is not None
    t0 = time.perf_counter()
    base = KnowledgeBase(kb)
    base.search("warm up", k=10)
    out: dict[str, Any] = {"open_s": round(time.perf_counter() - t0, 2)}
    qs = [json.loads(line)["query"] for line in Path(queries).read_text(encoding="utf-8").splitlines()[:nq]]
    out.update(mode_latencies(base, qs))
    print(json.dumps(out | {"peak_rss_mb": _peak_mb()}))


def phase_recall(kb: str, nq: int) -> None:
    import numpy as np
    from ann_recall import synthetic

    from medsage.kb import KnowledgeBase

    base = KnowledgeBase(kb)
    qvecs = synthetic(nq, 384, 2000, 64, np.random.default_rng(7))
    rows = base._lang_rows("en")
    recalls = []
    for q in qvecs:
        got = {i for i, _ in base.ann.search(q, "en", 10)}
        best = np.zeros(0, dtype=np.int64)
        scores = np.zeros(0, dtype=np.float32)
        for s in range(0, rows.size, 200_000):  # exact, in blocks
            part = rows[s:s + 200_000]
            sc = np.asarray(base.dense.matrix[part], dtype=np.float32) @ q
            best, scores = np.concatenate([best, part]), np.concatenate([scores, sc])
            keep = np.argsort(-scores)[:10]
            best, scores = best[keep], scores[keep]
        recalls.append(len(got & set(best.tolist())) / 10)
    print(json.dumps({"ann_recall_at_10": round(float(np.mean(recalls)), 4), "queries": nq}))


def _child(args: list[str], timeout: float) -> tuple[dict[str, Any] | None, float]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"timeout_s": timeout}, time.perf_counter() - t0
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()
        return {"error": tail[-1] if tail else f"rc={proc.returncode}"}, time.perf_counter() - t0
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out=str(HERE / "results_growth_backends.json"))
    ap.add_argument("--phase", default="all")
    ap.add_argument("--backend", default="embedded")
    ap.add_argument("--backends", nargs="+", default=["embedded", "milvus"])
    ap.add_argument("--medquad", default=None, help="MedQuAD folder (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[30_000, 300_000, 1_000_000, 3_000_000])
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--work", default="benchmarks/out/growth_backends")
    ap.add_argument("--kb", default="")
    ap.add_argument("--queries", default=str(HERE / "queries_en.jsonl"))
    ap.add_argument("--nq", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=3600)
    a = ap.parse_args()
    a.medquad = a.medquad or str(Path(a.data_root) / "knowledge" / "medquad")
    if a.phase == "build":
        return phase_build(a.backend, a.medquad, a.n, a.kb)
    if a.phase == "query":
        return phase_query(a.kb, a.queries, a.nq)
    if a.phase == "recall":
        return phase_recall(a.kb, a.nq)
    result: dict[str, Any] = {"vectors": "synthetic, latent dim 64 (see ann_recall.py)", "rows": []}
    stopped: set[str] = set()
    for n in a.sizes:
        for backend in a.backends:
            if backend in stopped:
                continue
            kb = str(Path(a.work) / f"{backend}_{n}") + (".db#growth" if backend == "milvus" else "")
            row: dict[str, Any] = {"backend": backend, "chunks": n, "load_avg": [round(x, 2) for x in os.getloadavg()]}
            row["build"], row["build_wall_s"] = _child(["--phase", "build", "--backend", backend, "--n", str(n),
                                                        "--kb", kb, "--medquad", a.medquad], a.timeout)
            ok = row["build"] and not ({"error", "timeout_s"} & set(row["build"]))
            if ok:
                row["query"], _ = _child(["--phase", "query", "--kb", kb, "--queries", a.queries,
                                          "--nq", str(a.nq)], a.timeout)
                if backend == "embedded":
                    row["recall"], _ = _child(["--phase", "recall", "--kb", kb, "--nq", "100"], a.timeout)
            if not ok or not row.get("query") or {"error", "timeout_s"} & set(row["query"]):
                stopped.add(backend)
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
            write_json(a.out, result)
            _remove(Path(kb.split("#")[0]))


if __name__ == "__main__":
    main()
