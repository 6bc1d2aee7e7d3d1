"""Side-by-side note benchmarks: plain prompt vs the medsage note pipeline (and the
model-free extractive strategy), through the standard runner.

    python benchmarks/notes/run_notes_bench.py --task notes_aci \
        --data ../shared/data/notes/aci_bench/clinicalnlp_taskB_test1.csv --limit 10 \
        --model local/smollm2 -M threads=1 --systems plain,note,extractive

Writes ``benchmarks/notes/results/<task>_<tag>.json`` with the mean of every metric per system.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from medsage.models.base import parse_options
from medsage.runner import EvalConfig, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "concept_p", "concept_r", "concept_f1",
           "hallucination_rate", "omission_rate", "completeness", "edit_distance_norm", "time_saved",
           "f1", "entity_f1")
SYSTEMS: dict[str, dict[str, Any]] = {
    "plain": {"pipeline": None, "pipeline_options": {}},
    "note": {"pipeline": "note", "pipeline_options": {}},
    "note_drop": {"pipeline": "note", "pipeline_options": {"drop_unsupported": True}},
    "extractive": {"pipeline": "note", "pipeline_options": {"strategy": "extractive"}},
}


def aggregate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(samples), "errors": sum(1 for s in samples if s.get("error"))}
    for m in METRICS:
        vals = [s["extras"][m] for s in samples if isinstance(s.get("extras", {}).get(m), int | float)]
        if vals:
            out[m] = round(statistics.fmean(vals), 4)
    for m in ("tp", "fp", "fn", "entity_tp", "entity_fp", "entity_fn"):
        vals = [s["extras"][m] for s in samples if isinstance(s.get("extras", {}).get(m), int)]
        if vals:
            out[m] = sum(vals)
    if "tp" in out:  # micro-averaged label F1 (MIE)
        out["micro_f1"] = round(2 * out["tp"] / max(1, 2 * out["tp"] + out["fp"] + out["fn"]), 4)
        out["entity_micro_f1"] = round(2 * out["entity_tp"] / max(1, 2 * out["entity_tp"] + out["entity_fp"]
                                                                     + out["entity_fn"]), 4)
    lat = [s["latency_s"] for s in samples if s.get("latency_s")]
    out["latency_s_mean"] = round(statistics.fmean(lat), 2) if lat else None
    out["completion_tokens"] = sum(s.get("completion_tokens") or 0 for s in samples)
    return out


async def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "model", "limit", "out",
                      limit=10, out="benchmarks/notes/results")
    ap.add_argument("--task", default="notes_aci")
    ap.add_argument("--data", required=True)
    ap.add_argument("-M", dest="model_opts", action="append", default=[])
    ap.add_argument("--systems", default="plain,note,extractive")
    ap.add_argument("--tag", default="")
    ap.add_argument("--max-tokens", type=int, default=384, help="generation budget of the plain prompt")
    args = ap.parse_args()
    results: dict[str, Any] = {"task": args.task, "data": args.data, "limit": args.limit, "model": args.model,
                               "model_options": parse_options(args.model_opts), "systems": {}}
    for name in args.systems.split(","):
        sysconf = SYSTEMS[name]
        run_dir = Path(args.out) / "runs" / f"{args.task}_{args.tag or 'run'}_{name}"
        cfg = EvalConfig(tasks=[args.task], model=args.model, model_options=parse_options(args.model_opts),
                         pipeline=sysconf["pipeline"], pipeline_options=sysconf["pipeline_options"],
                         data={args.task: args.data}, limit=args.limit, concurrency=1, out_dir=run_dir,
                         cache=False, progress=False, max_tokens=args.max_tokens)
        t0 = time.perf_counter()
        res = await run_eval(cfg)
        samples = [json.loads(ln) for ln in (res.run_dir / "samples.jsonl").read_text().splitlines() if ln.strip()]
        agg = aggregate(samples)
        agg["wall_s"] = round(time.perf_counter() - t0, 1)
        results["systems"][name] = agg
        print(name, json.dumps(agg))
    out = Path(args.out) / f"{args.task}_{args.tag or 'run'}.json"
    write_json(out, results)
    print("wrote", out)


if __name__ == "__main__":
    asyncio.run(main())
