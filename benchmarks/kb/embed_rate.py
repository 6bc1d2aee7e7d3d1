"""Embedding throughput of a build: worker processes × characters embedded per chunk.

    nice -n 19 python benchmarks/kb/embed_rate.py --medquad ../shared/data/knowledge/medquad \
        --n 1000 --workers 1 2 --dense-chars 128 256 --out benchmarks/kb/results_embed_rate.json

Embeds ``--n`` MedQuAD chunks (or those of ``--source``) spread over the corpus with the build's own code
(:func:`medsage.embed.embed_texts`, the cache in memory and empty, so every
text is embedded), for each combination, and extrapolates the full-corpus embedding
time (labelled as an extrapolation). Which ``--dense-chars`` keeps retrieval quality is
``quality.py``'s question: build with ``medsage kb build --dense-chars N`` and run it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out=str(Path(__file__).with_name("results_embed_rate.json")))
    ap.add_argument("--medquad", default=None, help="MedQuAD folder (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--source", default=None,
                    help="any `kb build` source instead of MedQuAD, e.g. docs:DATA_ROOT/knowledge/medqa_textbooks_zh")
    ap.add_argument("--n", type=int, default=1000, help="chunks embedded per run")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dense-chars", type=int, nargs="+", default=[128, 256])
    a = ap.parse_args()
    a.medquad = a.medquad or str(Path(a.data_root) / "knowledge" / "medquad")

    from medsage.embed import EmbeddingCache, embed_texts
    from medsage.kb.build import dense_text, ingest
    from medsage.kb.types import BuildReport

    source = a.source or f"medquad:{a.medquad}"
    chunks = ingest([source], BuildReport())
    step = max(1, len(chunks) // a.n)
    sample = chunks[::step][:a.n]
    runs = []
    load0 = os.getloadavg()
    for chars in a.dense_chars:
        texts = [dense_text(c, chars) for c in sample]
        for workers in a.workers:
            t0 = time.perf_counter()
            _, n = embed_texts(texts, workers=workers, cache=EmbeddingCache(":memory:"))
            sec = time.perf_counter() - t0
            row = {"dense_chars": chars, "workers": workers, "n": n, "seconds": round(sec, 2),
                   "chunks_per_s": round(n / sec, 2),
                   "full_corpus_s_extrapolated": round(len(chunks) * sec / max(1, n), 0),
                   "load_avg_1min": round(os.getloadavg()[0], 2)}
            print(json.dumps(row), flush=True)
            runs.append(row)
    out = {"source": source, "corpus_chunks": len(chunks),
           "load_avg_before": [round(x, 2) for x in load0], "runs": runs,
           "note": "includes starting the worker processes and loading the embedder in each"}
    write_json(a.out, out)


if __name__ == "__main__":
    main()
