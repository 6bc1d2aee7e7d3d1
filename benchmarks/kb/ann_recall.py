"""Recall of the embedded store's ANN index (usearch HNSW) against exact search.

    nice -n 19 python benchmarks/kb/ann_recall.py --n 100000 --queries 200

Synthetic unit vectors of the embedder's dimension (384) with a low intrinsic dimension,
as text embeddings have: ``--clusters`` topic centres in a ``--latent``-dimensional
space, points scattered around them, mapped to 384 dimensions by a fixed random
projection plus isotropic noise. ``--latent 0`` gives uniform random unit vectors, the
HNSW worst case (every point is almost equally far from every other; no real corpus
looks like that). ``--from-kb DIR`` uses a built knowledge base's real embeddings
instead (``dense.npy``; ``--queries`` of its rows are held out of the index and used
as queries). Queries are fresh points from the same distribution. The index is built with the
store's own code and parameters (:func:`medsage.kb.ann.build_ann`), stored as float16,
searched through a memory-mapped view, as ``kb search`` does; exact search is the
float32 matrix-vector product the store uses for small knowledge bases. Reports
recall@10 and recall@50 (50 = the hybrid fusion depth), query p50/p95 of both, the
build time and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def synthetic(n: int, dim: int, clusters: int, latent: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` L2-normalised vectors: clustered in a ``latent``-dim space, projected to ``dim``."""
    if latent <= 0:
        x = rng.standard_normal((n, dim), dtype=np.float32)
    else:
        fixed = np.random.default_rng(12345)  # the same topics and projection for data and queries
        proj = fixed.standard_normal((latent, dim), dtype=np.float32)
        centres = fixed.standard_normal((clusters, latent), dtype=np.float32)
        z = centres[rng.integers(0, clusters, n)] + 0.7 * rng.standard_normal((n, latent), dtype=np.float32)
        x = z @ proj + 0.5 * rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "seed", "out",
                      out=str(ROOT / "benchmarks/kb/results_ann_recall.json"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--from-kb", type=Path, help="use this knowledge base's real embeddings")
    args = ap.parse_args()

    from medsage.kb.ann import CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH, AnnIndexes, build_ann

    load0 = os.getloadavg()
    rng = np.random.default_rng(0)
    if args.from_kb:
        from medsage.kb.store import read_manifest

        gen = args.from_kb / read_manifest(args.from_kb)["generation"]
        real = np.load(gen / "dense.npy", mmap_mode="r")
        held = np.random.default_rng(1).choice(real.shape[0], args.queries, replace=False)
        keep = np.setdiff1d(np.arange(real.shape[0]), held)
        data, queries = np.asarray(real[keep], dtype=np.float16), np.asarray(real[held], dtype=np.float32)
        args.n = int(data.shape[0])
    else:
        data = synthetic(args.n, args.dim, args.clusters, args.latent, rng).astype(np.float16)
        queries = synthetic(args.queries, args.dim, args.clusters, args.latent, np.random.default_rng(1))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ann"
        t0 = time.perf_counter()
        build_ann(folder, data, np.zeros(args.n, dtype=np.uint16), ["en"])
        build_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in folder.iterdir())
        ann = AnnIndexes(folder, ["en"])
        exact_m = data.astype(np.float32)
        res: dict[int, list[float]] = {10: [], 50: []}
        t_ann: list[float] = []
        t_exact: list[float] = []
        for q in queries:
            t1 = time.perf_counter()
            found = ann.search(q, "en", 50)
            t_ann.append(time.perf_counter() - t1)
            t1 = time.perf_counter()
            scores = exact_m @ q
            top = np.argpartition(-scores, 50)[:50]
            top = top[np.argsort(-scores[top])]
            t_exact.append(time.perf_counter() - t1)
            for k in res:
                got = {i for i, _ in found[:k]}
                res[k].append(len(got & set(top[:k].tolist())) / k)
    out = {
        "load_avg_before": [round(x, 2) for x in load0], "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "n": args.n, "dim": args.dim, "queries": args.queries,
        "data": f"real embeddings of {args.from_kb}" if args.from_kb else
        (f"synthetic: {args.clusters} clusters, latent dim {args.latent}" if args.latent else "uniform random (worst case)"),
        "params": {"connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD,
                   "expansion_search": max(EXPANSION_SEARCH, 50), "dtype": "f16"},
        "build_s": round(build_s, 1), "index_bytes": size,
        "recall_at_10": round(float(np.mean(res[10])), 4), "recall_at_50": round(float(np.mean(res[50])), 4),
        "ann_ms": {"p50": round(percentile(t_ann, 50) * 1e3, 2),
                   "p95": round(percentile(t_ann, 95) * 1e3, 2)},
        "exact_ms": {"p50": round(percentile(t_exact, 50) * 1e3, 2),
                     "p95": round(percentile(t_exact, 95) * 1e3, 2)},
    }
    print(json.dumps(out, indent=1))
    write_json(args.out, out)


if __name__ == "__main__":
    main()
