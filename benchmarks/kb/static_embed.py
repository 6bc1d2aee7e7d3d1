"""Build time of a knowledge base with static word vectors (``kb build --embedder static|mapped``).

    nice -n 19 python benchmarks/kb/static_embed.py --source medquad:../shared/data/knowledge/medquad \
        --kb benchmarks/out/kb_medquad_static --out benchmarks/kb/results_static_build_medquad.json
    nice -n 19 python benchmarks/kb/static_embed.py --source docs:../shared/data/knowledge/medqa_textbooks_zh \
        --kb benchmarks/out/kb_textbooks_static --out benchmarks/kb/results_static_build_textbooks.json
    python benchmarks/kb/static_embed.py --embedder mapped --source ... --kb ... --out ...   # mapped into e5 space

Builds with the library's own build (:func:`medsage.kb.build`, what ``medsage kb build
--embedder static`` runs) in this process, and records the wall time, each stage's time
(``ingest``, ``sparse``, ``dense`` from the build report; ``tokenize`` and ``embed words``
from its progress calls), the vocabulary size, the words embedded and the peak RSS of
this process and of the embedding worker processes. ``--cache fresh`` (the default) embeds
into an empty, temporary embedding cache, so every vocabulary word is embedded (the cost
of a first build); ``--cache user`` uses ``$MEDSAGE_CACHE_DIR`` (a rebuild's cost).

Retrieval quality of the result is ``quality.py``'s job, unchanged::

    python benchmarks/kb/quality.py --kb benchmarks/out/kb_medquad_static --out ...
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


class StageClock:
    """A build progress callback that keeps when each stage was first and last reported."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.spans: dict[str, list[float]] = {}
        self.last: dict[str, tuple[int, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - self.t0
        span = self.spans.setdefault(stage, [now, now])
        span[1] = now
        if stage not in self.last or done >= self.last[stage][0] + max(1, total // 10) or done >= total:
            print(f"{stage} {done}/{total} at {now:.1f}s", file=sys.stderr, flush=True)
            self.last[stage] = (done, total)

    def seconds(self) -> dict[str, float]:
        """Each stage's time from its first report to its last (a stage's first report comes at its start)."""
        return {stage: round(b - a, 2) for stage, (a, b) in self.spans.items()}


def _peak_mb(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(Path(__file__).with_name("results_static_build.json")))
    ap.add_argument("--source", nargs="+", required=True, help="`kb build` sources, e.g. medquad:PATH docs:PATH")
    ap.add_argument("--kb", required=True, help="the KB folder to build (replaced)")
    ap.add_argument("--dense-chars", type=int, default=None, help="characters of each chunk pooled (default: the build's)")
    ap.add_argument("--remove-pc", action="store_true", help="remove the first principal component (SIF)")
    ap.add_argument("--embedder", choices=("static", "mapped"), default="static",
                    help="static word vectors, or static vectors mapped into e5's space (medsage.kb.mapped)")
    ap.add_argument("--cache", choices=("fresh", "user"), default="fresh",
                    help="fresh: an empty temporary embedding cache (every word embedded); user: $MEDSAGE_CACHE_DIR")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="static-embed-cache-") as tmp:
        if a.cache == "fresh":
            os.environ["MEDSAGE_CACHE_DIR"] = tmp
        from medsage.embed import default_workers
        from medsage.kb import KnowledgeBase, build
        from medsage.kb.ingest import DENSE_CHARS

        chars = a.dense_chars or DENSE_CHARS
        load0 = os.getloadavg()
        clock = StageClock()
        t0 = time.perf_counter()
        report = build(Path(a.kb), list(a.source), dense_chars=chars, embedder=a.embedder, remove_pc=a.remove_pc,
                       progress=clock)
        wall = time.perf_counter() - t0
    manifest = KnowledgeBase(a.kb).manifest
    static = manifest["dense"]["static"]
    result = {
        "sources": a.source, "kb": a.kb, "embedder": a.embedder, "dense_chars": chars, "remove_pc": a.remove_pc, "cache": a.cache,
        "workers": default_workers(),
        "wall_s": round(wall, 1),
        "stage_seconds": report.seconds,
        "progress_stage_seconds": clock.seconds(),
        "documents": report.documents, "chunks": report.chunks,
        "vocabulary": static["vocab"], "texts_embedded": report.embedded, "map_sample": static.get("map_sample"),
        "peak_rss_mb": _peak_mb(resource.RUSAGE_SELF),
        "peak_rss_mb_workers": _peak_mb(resource.RUSAGE_CHILDREN),
        "index_bytes": sum(manifest["files"].values()),
        "static_table_bytes": {k: v for k, v in manifest["files"].items() if k.startswith("static_")},
        "load_avg_before": [round(x, 2) for x in load0],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "problems": len(report.problems),
        "note": "peak_rss_mb_workers is the largest worker process's peak (RUSAGE_CHILDREN)",
    }
    write_json(a.out, result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
