"""Interaction detection on the seeded messy-prescription set: precision and recall over drug pairs.

    python benchmarks/safety/bench_interactions.py [--data benchmarks/safety/data/prescriptions.jsonl]
writes benchmarks/safety/results/interactions.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from medsage.safety import check

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(HERE / "results" / "interactions.json"))
    ap.add_argument("--data", default=str(HERE / "data" / "prescriptions.jsonl"))
    args = ap.parse_args()
    items = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = fp = fn = 0
    by_lang: dict[str, Counter] = {}
    by_variant: dict[str, Counter] = {}
    by_source: dict[str, Counter] = {}
    drug_tp = drug_fn = drug_fp = 0
    errors = []
    missed_total = missed_flagged = 0
    start = time.perf_counter()
    for it in items:
        report = check(it["text"], run_triage=False, run_policy=False)
        pred = {tuple(sorted(f.data["drugs"])) for f in report.by_type("interaction")}
        gold = {tuple(p) for p in it["pairs"]}
        t, f_p, f_n = len(pred & gold), len(pred - gold), len(gold - pred)
        tp, fp, fn = tp + t, fp + f_p, fn + f_n
        c = by_lang.setdefault(it["lang"], Counter())
        c.update(tp=t, fp=f_p, fn=f_n)
        for pair in gold:
            kinds = sorted({it["variants"][x] for x in pair})
            key = "+".join(kinds)
            by_variant.setdefault(key, Counter()).update(tp=int(pair in pred), fn=int(pair not in pred))
        if it["source"]:
            by_source.setdefault(it["source"], Counter()).update(tp=len(pred & gold), fn=len(gold - pred))
        found = {m.drug_id for m in report.medications}
        drug_tp += len(found & set(it["drugs"]))
        drug_fn += len(set(it["drugs"]) - found)
        drug_fp += len(found - set(it["drugs"]))
        if gold - pred:
            missed_total += len(gold - pred)
            if report.by_type("unknown_drug") or report.by_type("drug_name_uncertain"):
                missed_flagged += len(gold - pred)
        if (pred != gold) and len(errors) < 25:
            errors.append({"id": it["id"], "text": it["text"], "missed": sorted(gold - pred), "extra": sorted(pred - gold)})
    elapsed = time.perf_counter() - start
    result = {
        "benchmark": "interaction detection on messy prescriptions (seeded, generated from the rule lists)",
        "data": str(Path(args.data).relative_to(HERE.parents[1])) if Path(args.data).is_absolute() else args.data,
        "n_prescriptions": len(items),
        "n_gold_pairs": sum(len(i["pairs"]) for i in items),
        "pairs": prf(tp, fp, fn),
        "by_language": {k: prf(v["tp"], v["fp"], v["fn"]) for k, v in sorted(by_lang.items())},
        "recall_by_name_variant": {k: {"recall": round(v["tp"] / (v["tp"] + v["fn"]), 4), "n": v["tp"] + v["fn"]}
                                   for k, v in sorted(by_variant.items())},
        "recall_by_rule_source": {k: {"recall": round(v["tp"] / (v["tp"] + v["fn"]), 4), "n": v["tp"] + v["fn"]}
                                  for k, v in sorted(by_source.items())},
        "drug_extraction": prf(drug_tp, drug_fp, drug_fn),
        "missed_pairs_with_unknown_drug_finding": {"missed": missed_total, "flagged": missed_flagged,
                                                   "note": "a missed pair whose text also produced an unknown_drug/"
                                                           "drug_name_uncertain finding was not silently passed"},
        "seconds": round(elapsed, 2),
        "examples_of_errors": errors,
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "examples_of_errors"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
