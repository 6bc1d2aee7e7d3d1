"""Accuracy, questions per minute and peak memory of the embedded model.

Runs ``medsage bench``'s runner in-process for one task and mode with a fresh
response cache (so nothing is answered from an earlier run) and writes a JSON
record with the machine's core count and load average alongside the numbers.

    python benchmarks/foundation/local_model.py exam-sample --mode generate
    python benchmarks/foundation/local_model.py medqa_us --data ../shared/data/exams/medqa_us_4options_test.jsonl --mode likelihood
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from medsage.runner import EvalConfig, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]),
                      "model", "limit", "threads", "out", threads=None, out="benchmarks/out")
    ap.add_argument("task")
    ap.add_argument("--data", default=None)
    ap.add_argument("--mode", default="generate")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--shuffle", action="store_true", help="seeded random subset with --limit (seed 0)")
    ap.add_argument("--max-tokens", type=int, default=None, help="generation budget (default: the mode's)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = (f"local_{args.task}_{args.mode}" + (f"_n{args.limit}" if args.limit else "")
            + ("_shuffled" if args.shuffle else "")
            + (f"_max{args.max_tokens}" if args.max_tokens else ""))
    model_options = {"threads": args.threads} if args.threads else {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = EvalConfig(tasks=[args.task], model=args.model, model_options=model_options,
                         max_tokens=args.max_tokens, shuffle=args.shuffle, data={"": args.data} if args.data else {},
                         mode=args.mode, limit=args.limit, concurrency=args.concurrency,
                         out_dir=out / name, cache_path=Path(tmp) / "cache.sqlite", progress=False)
        start = time.perf_counter()
        result = asyncio.run(run_eval(cfg))
        wall = time.perf_counter() - start
    t = result.summary["tasks"][args.task]
    record = {
        "task": args.task, "mode": args.mode, "model": args.model, "n": t["n"],
        "max_tokens": args.max_tokens, "threads": args.threads or os.cpu_count(),
        "subset": f"seeded random {args.limit} of the task" if args.shuffle and args.limit else None,
        "accuracy": t["accuracy"], "ci95": t["ci95"], "unparsed": t["unparsed"], "errors": t["errors"],
        "by": {k: {kk: vv["accuracy"] for kk, vv in v.items()} for k, v in t["by"].items() if k != "discipline"},
        "wall_s": round(wall, 1), "questions_per_min": round(60 * t["n"] / wall, 1),
        "latency_p50_s": t["latency_s"]["p50"], "latency_p95_s": t["latency_s"]["p95"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "run_dir": str(result.run_dir),
    }
    write_json(out / f"{name}.json", record, indent=2)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
