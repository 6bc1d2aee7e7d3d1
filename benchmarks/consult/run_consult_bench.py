"""Single agent vs specialist panel vs MDT vs routed, same base model.

Builds small deterministic subsets (case-type items only) and runs each arm with
the lead's runner (``medsage.runner.run_eval``), then writes
``results/consult_report.{json,md}``: accuracy with 95% CIs (Wilson for 0/1
exam items, bootstrap for CMB-Clin's lexical score), tokens and wall time per
case, the router's decisions, and how much of the MDT's gain the router keeps.

    python benchmarks/consult/run_consult_bench.py --model local/smollm2 \
        --n-medqa 4 --n-cnmle 4 --n-cmbclin 2 --concurrency 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, deprecated_alias, provenance, write_json  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from cmb_clin_task import TASK as CMB_TASK  # noqa: E402

from medsage.models import parse_options  # noqa: E402
from medsage.registry import tasks  # noqa: E402
from medsage.runner import EvalConfig, run_eval  # noqa: E402
from medsage.scoring.stats import bootstrap_ci, wilson_ci  # noqa: E402

ARMS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "single": (None, {}),
    "panel": ("consult", {"mode": "panel"}),
    "mdt": ("consult", {"mode": "mdt"}),
    "route": ("route", {}),
}


def subsets(root: Path, out: Path, n_medqa: int, n_cnmle: int, n_clin: int, seed: int) -> dict[str, str]:
    """Write the case-type subsets; returns task -> path."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    if n_medqa:
        rows = [json.loads(x) for x in (root / "exams/medqa_us_4options_test.jsonl").read_text().splitlines() if x.strip()]
        cases = [r for r in rows if any(w in r["question"][:120].lower() for w in ("year-old", "presents", "is brought"))]
        pick = rng.sample(cases, n_medqa)
        (out / "medqa_cases.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in pick))
        paths["medqa_us"] = str(out / "medqa_cases.jsonl")
    if n_cnmle:
        rows = json.loads((root / "exams/cnmleqa_3k_2017_2020.json").read_text(encoding="utf-8"))
        pick = rng.sample([r for r in rows if r.get("question_type") == "案例分析"], n_cnmle)
        (out / "cnmle_cases.json").write_text(json.dumps(pick, ensure_ascii=False))
        paths["cnmleqa"] = str(out / "cnmle_cases.json")
    if n_clin:
        cases = json.loads((root / "exams/cmb_clin.json").read_text(encoding="utf-8"))
        picked, left = [], n_clin
        for case in rng.sample(cases, len(cases)):
            if left <= 0:
                break
            qa = case["QA_pairs"][:left]
            picked.append({**case, "QA_pairs": qa})
            left -= len(qa)
        (out / "cmb_clin_subset.json").write_text(json.dumps(picked, ensure_ascii=False))
        paths["cmb_clin"] = str(out / "cmb_clin_subset.json")
    return paths


def arm_stats(run_dir: Path, task: str, binary: bool) -> dict[str, Any]:
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["task"] == task]
    scores = [float(r.get("score") or 0.0) for r in rows]
    n = len(scores)
    ci = wilson_ci(sum(scores), n) if binary else bootstrap_ci(scores)
    tokens = [int(r.get("prompt_tokens") or 0) + int(r.get("completion_tokens") or 0) for r in rows]
    lat = [float(r.get("latency_s") or 0.0) for r in rows]
    routes: dict[str, int] = {}
    for r in rows:
        dec = (r.get("extras") or {}).get("route", {}).get("route")
        if dec:
            routes[dec] = routes.get(dec, 0) + 1
    return {"n": n, "accuracy": sum(scores) / n if n else 0.0, "ci95": list(ci),
            "tokens_per_case": sum(tokens) / n if n else 0, "wall_s_per_case": sum(lat) / n if n else 0,
            "errors": sum(1 for r in rows if r.get("error")), "unparsed": sum(1 for r in rows if r.get("unparsed")),
            "routes": routes}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]),
                      "data_root", "model", "seed", "out", out="benchmarks/consult/results")
    ap.add_argument("-M", dest="model_opts", action="append", default=[], help="model option key=value")
    ap.add_argument("--medqa-n", type=int, default=4, help="MedQA-US cases")
    ap.add_argument("--cnmle-n", type=int, default=4, help="CNMLE case-analysis questions")
    ap.add_argument("--cmbclin-n", type=int, default=2, help="CMB-Clin cases")
    for old, new in (("--n-medqa", "--medqa-n"), ("--n-cnmle", "--cnmle-n"), ("--n-cmbclin", "--cmbclin-n")):
        deprecated_alias(ap, old, new, type=int)
    ap.add_argument("--arms", default="single,panel,mdt,route")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--merge", action="store_true",
                    help="keep the arms of an existing report made with the same model, sizes and settings")
    args = ap.parse_args()
    args.out = Path(args.out)
    tasks.register("cmb_clin", CMB_TASK)
    work = args.out / "runs"
    paths = subsets(Path(args.data_root), work / "data", args.medqa_n, args.cnmle_n, args.cmbclin_n, args.seed)
    report: dict[str, Any] = {"model": args.model, "model_options": parse_options(args.model_opts),
                              "date": time.strftime("%Y-%m-%d"), "max_tokens": args.max_tokens, "sizes": {
        "medqa_us": args.medqa_n, "cnmleqa": args.cnmle_n, "cmb_clin": args.cmbclin_n}, "seed": args.seed,
        "arms": {}}
    old_path = args.out / "consult_report.json"
    if args.merge and old_path.exists():
        old = json.loads(old_path.read_text())
        same = all(old.get(k, report[k]) == report[k] for k in ("model", "model_options", "max_tokens", "sizes", "seed"))
        if not same:
            raise SystemExit(f"--merge: {old_path} was made with other settings; use another --out")
        for arm, stats in old["arms"].items():
            stats.setdefault("date", old.get("date"))
            report["arms"][arm] = stats
    for arm in args.arms.split(","):
        pipeline, popts = ARMS[arm]
        popts = {**popts, "max_tokens": args.max_tokens} if pipeline else {}
        start = time.perf_counter()
        cfg = EvalConfig(tasks=list(paths), model=args.model, model_options=parse_options(args.model_opts),
                         pipeline=pipeline, pipeline_options=popts,
                         data=paths, mode="generate", concurrency=args.concurrency, out_dir=work / arm,
                         max_tokens=args.max_tokens, cache=False, progress=False)
        result = asyncio.run(run_eval(cfg))
        report["arms"][arm] = {"wall_s_total": round(time.perf_counter() - start, 1),
                               "date": time.strftime("%Y-%m-%d"), "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                               "tasks": {
            t: arm_stats(result.run_dir, t, t != "cmb_clin") for t in paths}}
        write_json(args.out / "consult_report.json", report, indent=2)
        print(arm, json.dumps(report["arms"][arm], ensure_ascii=False), flush=True)
    report["router_vs_mdt"] = router_summary(report["arms"], list(paths))
    write_json(args.out / "consult_report.json", report, indent=2)
    (args.out / "consult_report.md").write_text(markdown(report, list(paths))
                                                + f"\n\nProvenance: `{json.dumps(provenance(), ensure_ascii=False)}`\n")
    print(markdown(report, list(paths)))


def router_summary(arms: dict[str, Any], task_names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not all(a in arms for a in ("single", "mdt", "route")):
        return out
    for t in task_names:
        s, m, r = (arms[a]["tasks"][t] for a in ("single", "mdt", "route"))
        gain = m["accuracy"] - s["accuracy"]
        out[t] = {"mdt_gain": gain, "route_gain": r["accuracy"] - s["accuracy"],
                  "gain_kept": (r["accuracy"] - s["accuracy"]) / gain if gain > 0 else None,
                  "route_token_share_of_mdt": r["tokens_per_case"] / m["tokens_per_case"] if m["tokens_per_case"] else None}
    return out


def markdown(report: dict[str, Any], task_names: list[str]) -> str:
    lines = [f"# Consult benchmark ({report['model']}, max_tokens {report['max_tokens']})", "",
             "| task | arm | n | accuracy | 95% CI | tokens/case | wall s/case | routes |",
             "|---|---|---|---|---|---|---|---|"]
    for t in task_names:
        for arm, a in report["arms"].items():
            s = a["tasks"][t]
            lines.append(f"| {t} | {arm} | {s['n']} | {s['accuracy']:.3f} | {s['ci95'][0]:.2f}–{s['ci95'][1]:.2f} "
                         f"| {s['tokens_per_case']:.0f} | {s['wall_s_per_case']:.1f} | {s['routes'] or ''} |")
    lines += ["", "Router vs MDT: " + json.dumps(report.get("router_vs_mdt", {}), ensure_ascii=False)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
