"""Re-score a finished run directory with the current scorer (no model calls).

    python benchmarks/notes/rescore.py --task notes_aci \
        --data ../shared/data/notes/aci_bench/clinicalnlp_taskB_test1.csv \
        --runs benchmarks/notes/results/runs/notes_aci_test1_smollm2_plain,... --out results/x.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from run_notes_bench import aggregate  # type: ignore[import-not-found]

from medsage.registry import tasks
from medsage.types import CaseState, ModelOutput

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


async def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out")
    ap.add_argument("--task", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", required=True, help="comma-separated run directories")
    args = ap.parse_args()
    if not args.out:
        ap.error("--out FILE is required")
    task = tasks.get(args.task)
    by_id = {s.id: s for s in task.load(args.data).samples}
    res = {"task": args.task, "data": args.data, "rescored": True, "systems": {}}
    for run in args.runs.split(","):
        rows = [json.loads(ln) for ln in (Path(run) / "samples.jsonl").read_text().splitlines() if ln.strip()]
        for r in rows:
            out = ModelOutput(text=r.get("response") or "", error=r.get("error"))
            score = await task.score(CaseState(by_id[r["id"]], (), output=out))
            r["extras"] = {**r.get("extras", {}), **score.metadata}
        res["systems"][Path(run).name] = aggregate(rows)
        print(Path(run).name, json.dumps(res["systems"][Path(run).name]))
    write_json(args.out, res)


if __name__ == "__main__":
    asyncio.run(main())
