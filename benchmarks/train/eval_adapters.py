"""Re-evaluate the base model and the adapters of a ``run_cpu.py`` results folder.

``run_cpu.py`` scores in likelihood mode (the first token's log-probabilities of the
option letters). After SFT on answers written as "The answer is X. …" the model's
first token is "The", not a letter, and the letter ranking at that position is
close to arbitrary ("A" wins as a common sentence start). Generate mode reads the
letter from the text the model writes, which matches the trained format:

    python benchmarks/train/eval_adapters.py --results benchmarks/train/results_balanced --mode generate

Writes ``<results>/eval_<mode>.json`` (accuracy, CI, answer-letter counts per model and
task) and ``<results>/compare_<mode>_<task>.json`` (paired, via ``medsage compare``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from medsage.runner import EvalConfig, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "threads", threads=1)
    ap.add_argument("--results", type=Path, required=True, help="a run_cpu.py --out folder")
    ap.add_argument("--mode", default="generate", choices=["generate", "likelihood"])
    ap.add_argument("--max-tokens", type=int, default=12)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work, base_dir = args.results / "work", args.results / "work" / "smollm2_hf"
    evals = {"medmcqa": work / "medmcqa_heldout.json", "medqa_us": work / "medqa_us_eval.jsonl"}
    models = {"base": None, "sft": args.results / "sft" / "adapter", "sft_dpo": args.results / "dpo" / "adapter"}
    out: dict = {"results": str(args.results), "mode": args.mode, "max_tokens": args.max_tokens, "tasks": {}}
    for task, path in evals.items():
        if not path.exists():
            continue
        dirs = []
        out["tasks"][task] = {}
        for name, adapter in models.items():
            opts = {"dtype": "float32"} | ({"adapter": str(adapter)} if adapter else {})
            run_dir = args.results / "runs" / f"{args.mode}_{task}_{name}"
            t = time.time()
            res = asyncio.run(run_eval(EvalConfig(
                tasks=[task], model=f"hf/{base_dir}", model_options=opts, data={task: str(path)}, mode=args.mode,
                max_tokens=args.max_tokens, concurrency=1, out_dir=run_dir, cache=False, progress=False)))
            s = res.summary["tasks"][task]
            rows = [json.loads(x) for x in (res.run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
            out["tasks"][task][name] = {"accuracy": s["accuracy"], "ci95": s["ci95"], "n": s["n"],
                                        "unparsed": s["unparsed"], "eval_s": round(time.time() - t, 1),
                                        "answers": dict(Counter(str(r.get("answer")) for r in rows).most_common())}
            print(task, name, json.dumps(out["tasks"][task][name]), flush=True)
            dirs.append(str(res.run_dir))
        cmp = subprocess.run([sys.executable, "-m", "medsage.cli", "compare", *dirs, "--json",
                              "--out", str(args.results / f"compare_{args.mode}_{task}")],
                             capture_output=True, text=True, check=True).stdout
        write_json(args.results / f"compare_{args.mode}_{task}.json", json.loads(cmp))
        paired = json.loads(cmp)["tasks"][task]["paired"]
        out["tasks"][task]["paired_vs_base"] = {k.rsplit("[", 1)[-1].rstrip("]"): {
            kk: v[kk] for kk in ("diff", "ci95", "p_exact", "wins_a", "wins_b")} for k, v in paired.items()}
    write_json(args.results / f"eval_{args.mode}.json", out)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
