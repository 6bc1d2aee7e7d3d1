"""Speed of the embedded knowledge base over the full MedQuAD corpus.

Builds the KB in a child process (wall time, peak RSS), measures the index size on
disk, then query latency p50/p95 per mode (in another child, with its peak RSS).

    python benchmarks/kb/speed.py --medquad ../shared/data/knowledge/medquad \
        --kb benchmarks/out/medquad_bm25 --no-dense --dense-chars 256 --embed-sample 200 \
        --dense-kb benchmarks/out/kb_quality --queries benchmarks/kb/queries_en.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(args: list[str]) -> tuple[dict, float, float]:
    """Run a phase in a fresh interpreter: (its JSON, wall seconds, its own peak RSS in MB)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"child failed: {proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data, wall, float(data.pop("peak_rss_mb"))


def phase_build(kb: str, medquad: str, dense_chars: int, dense: bool) -> None:
    from medsage.kb import build

    report = build(Path(kb), [f"medquad:{medquad}"], dense=dense, dense_chars=dense_chars,
                   progress=lambda _s, n, tot: print(f"embed {n}/{tot}", file=sys.stderr, flush=True) if n % 2048 < 32 else None)
    print(json.dumps(report.to_dict() | {"problems": len(report.problems), "peak_rss_mb": _peak_mb()}))


def phase_embed(medquad: str, dense_chars: int, n: int) -> None:
    """Embedding throughput on ``n`` MedQuAD chunks spread over the corpus."""
    from medsage.embed import embed_passages
    from medsage.kb.build import dense_text, ingest
    from medsage.kb.types import BuildReport

    chunks = ingest([f"medquad:{medquad}"], BuildReport())
    step = max(1, len(chunks) // n)
    sample = [dense_text(c, dense_chars) for c in chunks[::step][:n]]
    embed_passages(sample[:2])
    t0 = time.perf_counter()
    embed_passages(sample)
    sec = time.perf_counter() - t0
    print(json.dumps({"n": len(sample), "seconds": round(sec, 2), "chunks_per_s": round(len(sample) / sec, 2),
                      "corpus_chunks": len(chunks), "extrapolated_full_embed_s": round(len(chunks) * sec / len(sample), 0),
                      "peak_rss_mb": _peak_mb()}))


def phase_query(kb: str, queries: str, n: int) -> None:
    import numpy as np

    from medsage.kb import KnowledgeBase

    t0 = time.perf_counter()
    base = KnowledgeBase(kb)
    base.sparse  # noqa: B018 - load indexes before timing
    modes = ("bm25", "dense", "hybrid") if base.has_dense else ("bm25",)
    if base.has_dense:
        base.dense  # noqa: B018
    load_s = time.perf_counter() - t0
    qs = [json.loads(line)["query"] for line in Path(queries).read_text().splitlines()[:n]]
    base.search("warm up", k=10, mode="hybrid")
    out: dict = {"load_s": round(load_s, 3), "n_queries": len(qs), "chunks": len(base.chunks)}
    for mode in modes:
        lat = []
        for q in qs:
            t = time.perf_counter()
            base.search(q, k=10, mode=mode)
            lat.append(time.perf_counter() - t)
        arr = np.array(lat) * 1000
        out[mode] = {"p50_ms": round(percentile(arr, 50), 2), "p95_ms": round(percentile(arr, 95), 2),
                     "mean_ms": round(float(arr.mean()), 2)}
    print(json.dumps(out | {"peak_rss_mb": _peak_mb()}))


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out="benchmarks/kb/results_speed.json")
    ap.add_argument("--phase", default="all")
    ap.add_argument("--medquad", default=None, help="MedQuAD folder (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--kb", default="benchmarks/out/medquad_kb")
    ap.add_argument("--dense-chars", type=int, default=256)
    ap.add_argument("--queries", default="benchmarks/kb/queries_en.jsonl")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-dense", action="store_true", help="build BM25 only; measure embedding on a sample")
    ap.add_argument("--embed-sample", type=int, default=200)
    ap.add_argument("--dense-kb", default=None, help="a KB with embeddings for dense/hybrid latency")
    a = ap.parse_args()
    a.medquad = a.medquad or str(Path(a.data_root) / "knowledge" / "medquad")
    if a.phase == "build":
        return phase_build(a.kb, a.medquad, a.dense_chars, not a.no_dense)
    if a.phase == "embed":
        return phase_embed(a.medquad, a.dense_chars, a.embed_sample)
    if a.phase == "query":
        return phase_query(a.kb, a.queries, a.n)
    result: dict = {"loadavg_start": os.getloadavg(), "dense_chars": a.dense_chars}
    if not a.skip_build:
        extra = ["--no-dense"] if a.no_dense else []
        rep, wall, peak = _child(["--phase", "build", "--kb", a.kb, "--medquad", a.medquad, "--dense-chars", str(a.dense_chars), *extra])
        result["build"] = {"wall_s": round(wall, 1), "peak_rss_mb": round(peak, 1), "dense": not a.no_dense, **rep}
    if a.no_dense:
        emb, _, peak = _child(["--phase", "embed", "--medquad", a.medquad, "--dense-chars", str(a.dense_chars),
                               "--embed-sample", str(a.embed_sample)])
        result["embedding_sample"] = {**emb, "peak_rss_mb": round(peak, 1), "note": "extrapolated_full_embed_s is an extrapolation"}
    gen = json.loads((Path(a.kb) / "manifest.json").read_text())
    result["index_bytes"] = sum(gen["files"].values())
    result["index_files_bytes"] = {k: v for k, v in gen["files"].items() if v > 100_000}
    q, wall, peak = _child(["--phase", "query", "--kb", a.kb, "--queries", a.queries, "--n", str(a.n)])
    result["query"] = {**q, "peak_rss_mb": round(peak, 1)}
    if a.dense_kb:
        q, _, peak = _child(["--phase", "query", "--kb", a.dense_kb, "--queries", a.queries, "--n", str(a.n)])
        result["query_dense_kb"] = {"kb": a.dense_kb, **q, "peak_rss_mb": round(peak, 1)}
    result["loadavg_end"] = os.getloadavg()
    write_json(a.out, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
