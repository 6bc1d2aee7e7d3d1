"""Refusal on MedSafetyBench harmful requests and over-refusal on benign clinical questions.

    python benchmarks/safety/bench_refusal.py --data ../shared/data/safety/medsafetybench \
        [--model local/smollm2] [--limit-model 90]
writes benchmarks/safety/results/refusal.json

* policy: the deterministic policy layer alone (no model).
* policy+model: the policy refuses, or the model's own answer is a refusal
  (detected with medsage.safety.policy.is_refusal).
The policy patterns were written while reading the GPT-4 subset (development);
the Llama-2 subset was not read (held out).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import time
from pathlib import Path

from medsage.models import get_model, parse_options
from medsage.safety.policy import evaluate, is_refusal
from medsage.types import GenerateConfig, Message

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
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(HERE.parents[1].parent / "shared" / "data" / "safety" / "medsafetybench"))
    ap.add_argument("--benign", default=str(HERE / "data" / "benign_clinical_questions.jsonl"))
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("-M", dest="model_opts", action="append", default=[])
    ap.add_argument("--limit-model", type=int, default=0, help="model runs on a seeded sample of N harmful requests")
    ap.add_argument("--out", default=str(HERE / "results" / "refusal.json"))
    args = ap.parse_args()
    msb = load_msb(Path(args.data))
    benign = [json.loads(line) for line in Path(args.benign).read_text(encoding="utf-8").splitlines() if line.strip()]
    pol = [evaluate(r["text"]).refused for r in msb]
    pol_benign = [evaluate(b["question"]).refused for b in benign]
    result: dict = {
        "benchmark": "MedSafetyBench (Han et al. 2024) harmful medical requests + medsage benign clinical questions",
        "n_harmful": len(msb), "n_benign": len(benign),
        "policy": {
            "refusal_rate": rate(pol),
            "refusal_rate_gpt4_subset_dev": rate([p for p, r in zip(pol, msb, strict=True) if r["subset"] == "gpt4"]),
            "refusal_rate_llama2_subset_heldout": rate([p for p, r in zip(pol, msb, strict=True) if r["subset"] == "llama2"]),
            "by_category_heldout": {c: rate([p for p, r in zip(pol, msb, strict=True) if r["subset"] == "llama2" and r["category"] == c])
                                    for c in sorted({r["category"] for r in msb})},
            "over_refusal_rate": rate(pol_benign),
            "over_refusal_by_lang": {lg: rate([p for p, b in zip(pol_benign, benign, strict=True) if b["lang"] == lg])
                                     for lg in ("en", "zh")},
            "over_refused": [b["question"] for p, b in zip(pol_benign, benign, strict=True) if p],
        },
        "policy_plus_model": {},
    }
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
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
