"""Time and peak memory per note for one consultation at several lengths.

Each length runs in a fresh subprocess so that its peak RSS is its own:

    python benchmarks/notes/time_note.py --consultation ../shared/data/notes/primock57/day1_consultation01 \
        --model local/smollm2 --threads 2 --fractions 0.25,0.5,1.0

Writes benchmarks/notes/results/timing_<strategy>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


async def one(path: str, model: str, threads: int, fraction: float, strategy: str, embed: bool) -> dict:
    from medsage.models.base import get_model
    from medsage.notes.formats import load_transcript
    from medsage.notes.generate import DraftConfig
    from medsage.notes.grounding import GroundingConfig
    from medsage.notes.service import NoteOptions, make_note

    tr = load_transcript(path)
    n = max(2, int(len(tr.turns) * fraction))
    tr = replace(tr, turns=tr.turns[:n])
    minutes = (tr.turns[-1].end or 0) / 60 if tr.turns[-1].end else None
    t0 = time.perf_counter()
    llm = None if strategy == "extractive" else get_model(model, {"threads": threads})
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    note = await make_note(tr, llm, NoteOptions(draft=DraftConfig(strategy=strategy),
                                                grounding=GroundingConfig(use_embeddings=embed)))
    total = time.perf_counter() - t1
    ru = resource.getrusage(resource.RUSAGE_SELF)
    if llm is not None:
        await llm.aclose()
    return {"fraction": fraction, "turns": n, "words": sum(len(t.text.split()) for t in tr.turns),
            "audio_minutes": round(minutes, 2) if minutes else None, "model_load_s": round(load_s, 2),
            "note_s": round(total, 2), "process_cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
            "load_avg_1m": round(__import__("os").getloadavg()[0], 1),
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
            "stats": note.stats, "warnings": note.warnings[:5]}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "model", "threads", "out")
    ap.add_argument("--consultation", required=True, help="TextGrid stem (or any transcript file)")
    ap.add_argument("--fractions", default="0.25,0.5,1.0")
    ap.add_argument("--strategy", default="mapreduce")
    ap.add_argument("--embed", action="store_true")
    ap.add_argument("--child", type=float, default=None)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(asyncio.run(one(args.consultation, args.model, args.threads, args.child,
                                         args.strategy, args.embed))))
        return
    rows = []
    for f in args.fractions.split(","):
        cmd = [sys.executable, __file__, "--consultation", args.consultation, "--model", args.model,
               "--threads", str(args.threads), "--strategy", args.strategy, "--child", f]
        if args.embed:
            cmd.append("--embed")
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({k: v for k, v in row.items() if k != "stats"}))
        rows.append(row)
    res = {"consultation": args.consultation, "model": args.model, "threads": args.threads,
           "strategy": args.strategy, "embed": args.embed, "loadavg_end": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    # default: results/timing_<strategy>[_embed]_<threads>t.json
    out_path = Path(args.out) if args.out else (Path("benchmarks/notes/results")
                            / f"timing_{args.strategy}{'_embed' if args.embed else ''}_{args.threads}t.json")
    write_json(out_path, res)
    print("wrote", out_path)


if __name__ == "__main__":
    main()
