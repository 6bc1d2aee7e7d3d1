"""Synthetic growth of the embedded store: 10k … 1M chunks.

Chunks are real MedQuAD chunks cycled, each cut to a random length (200-900 chars) and
tagged with a unique code word, so every chunk is distinct and the vocabulary grows.
Per size, in fresh child processes: the BM25 build (real tokenisation and indexing:
wall time and peak RSS), the dense index written with random unit vectors (search cost
does not depend on the vectors' content; the *embedding* time is NOT run here but
extrapolated from the measured throughput in results_speed.json, and labelled so),
then query latency p50/p95 per mode and the search process's peak RSS.

    python benchmarks/kb/growth.py --sizes 10000 30000 100000 300000 1000000 \
        --speed benchmarks/kb/results_speed.json --out benchmarks/kb/results_growth.json
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
from _common import common_flags, percentile, write_json  # noqa: E402


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase_build(medquad: str, n: int, kb: str) -> None:
    import numpy as np

    from medsage.embed import DIM
    from medsage.kb import store
    from medsage.kb.build import ingest
    from medsage.kb.dense import DenseIndex
    from medsage.kb.sparse import SparseIndex
    from medsage.kb.types import BuildReport, Chunk

    base = ingest([f"medquad:{medquad}"], BuildReport())
    rng = random.Random(0)
    chunks = []
    for i in range(n):
        c = base[i % len(base)]
        cut = rng.randint(200, 900)
        chunks.append(Chunk(f"syn{i}", f"syn{i // 4}", c.title, c.section, f"{c.text[:cut]} zq{i:07d}", "synthetic"))
    kb_dir = Path(kb)
    shutil.rmtree(kb_dir, ignore_errors=True)
    gen = store.new_generation(kb_dir)
    t0 = time.perf_counter()
    store.write_chunks(gen, chunks)
    t1 = time.perf_counter()
    SparseIndex.build([c.index_text for c in chunks]).save(gen / "bm25")
    t2 = time.perf_counter()
    vecs = np.random.default_rng(0).standard_normal((n, DIM), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    DenseIndex(vecs).save(gen / "dense.npy")
    del vecs
    t3 = time.perf_counter()
    manifest = store.commit(kb_dir, gen, {"chunks": n, "documents": n // 4, "sources": ["synthetic"],
                                          "dense": {"model": "random unit vectors", "dim": DIM, "dense_chars": 0}})
    files = manifest["files"]
    print(json.dumps({"chunks_write_s": round(t1 - t0, 2), "bm25_build_s": round(t2 - t1, 2),
                      "dense_write_s": round(t3 - t2, 2),
                      "bytes": {"chunks": files["chunks.jsonl"], "dense": files["dense.npy"],
                                "bm25": sum(v for k, v in files.items() if k.startswith("bm25/"))},
                      "peak_rss_mb": _peak_mb()}))


def mode_latencies(base: Any, qs: list[str]) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds of ``base.search`` per mode over the queries ``qs``."""
    out: dict[str, dict[str, float]] = {}
    for mode in ("bm25", "dense", "hybrid"):
        lat = []
        for q in qs:
            t = time.perf_counter()
            base.search(q, k=10, mode=mode)
            lat.append((time.perf_counter() - t) * 1000)
        out[mode] = {"p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1)}
    return out


def phase_query(kb: str, queries: str, nq: int) -> None:

    from medsage.kb import KnowledgeBase

    t0 = time.perf_counter()
    base = KnowledgeBase(kb)
    base.sparse  # noqa: B018
    base.dense  # noqa: B018
    load = time.perf_counter() - t0
    qs = [json.loads(line)["query"] for line in Path(queries).read_text().splitlines()[:nq]]
    base.search("warm up", k=10)
    out: dict = {"open_s": round(load, 2)}
    out.update(mode_latencies(base, qs))
    print(json.dumps(out | {"peak_rss_mb": _peak_mb()}))


def _child(args: list[str], timeout: float) -> tuple[dict | None, float]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    if proc.returncode:
        print(proc.stderr[-2000:], file=sys.stderr)
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc={proc.returncode}"}, time.perf_counter() - t0
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["sizes"] if r.get("query")]
    n = [r["chunks"] for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    ax[0].plot(n, [r["build"]["bm25_build_s"] for r in rows], "o-", label="BM25 build (measured)")
    ax[0].plot(n, [r["dense_embed_s_extrapolated"] for r in rows], "s--", label="embedding (extrapolated)")
    ax[0].set(xscale="log", yscale="log", xlabel="chunks", ylabel="seconds", title="Build time (2 cores)")
    ax[0].legend()
    ax[1].plot(n, [r["build"]["peak_rss_mb"] for r in rows], "o-", label="build peak RSS")
    ax[1].plot(n, [r["query"]["peak_rss_mb"] for r in rows], "s-", label="search process peak RSS")
    ax[1].set(xscale="log", yscale="log", xlabel="chunks", ylabel="MB", title="Memory")
    ax[1].legend()
    for mode in ("bm25", "dense", "hybrid"):
        ax[2].plot(n, [r["query"][mode]["p95_ms"] for r in rows], "o-", label=f"{mode} p95")
    ax[2].set(xscale="log", yscale="log", xlabel="chunks", ylabel="ms", title="Query latency p95 (k=10)")
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out="benchmarks/kb/results_growth.json")
    ap.add_argument("--phase", default="all")
    ap.add_argument("--medquad", default=None, help="MedQuAD folder (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[10000, 30000, 100000, 300000, 1000000])
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--kb", default="benchmarks/out/kb_growth")
    ap.add_argument("--queries", default="benchmarks/kb/queries_en.jsonl")
    ap.add_argument("--nq", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--speed", default="benchmarks/kb/results_speed.json")
    ap.add_argument("--plot", default="benchmarks/kb/growth.png")
    ap.add_argument("--append", action="store_true", help="add sizes to an existing --out (and re-plot)")
    a = ap.parse_args()
    a.medquad = a.medquad or str(Path(a.data_root) / "knowledge" / "medquad")
    if a.phase == "build":
        return phase_build(a.medquad, a.n, a.kb)
    if a.phase == "query":
        return phase_query(a.kb, a.queries, a.nq)
    speed = json.loads(Path(a.speed).read_text())
    per_chunk = 1.0 / speed["embedding_sample"]["chunks_per_s"]
    result: dict = {"embed_s_per_chunk_measured": round(per_chunk, 4), "sizes": []}
    if a.append and Path(a.out).exists():
        result = json.loads(Path(a.out).read_text())
    for n in a.sizes:
        row: dict = {"chunks": n, "dense_embed_s_extrapolated": round(n * per_chunk, 0), "loadavg": os.getloadavg()}
        build, wall = _child(["--phase", "build", "--n", str(n), "--kb", a.kb, "--medquad", a.medquad], a.timeout)
        row["build"] = build if build is not None else {"timeout_s": a.timeout}
        row["build_wall_s"] = round(wall, 1)
        if build and "error" not in build:
            query, _ = _child(["--phase", "query", "--kb", a.kb, "--queries", a.queries, "--nq", str(a.nq)], a.timeout)
            row["query"] = query
        result["sizes"].append(row)
        print(json.dumps(row), flush=True)
        write_json(a.out, result)
        if not build or "error" in build or not row.get("query"):
            break
    shutil.rmtree(a.kb, ignore_errors=True)
    plot(result, a.plot)
    write_json(a.out, result)


if __name__ == "__main__":
    main()
