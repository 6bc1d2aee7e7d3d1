"""Triage on the 45 Semigran vignettes: rules alone, and rules + a model (never below the rules).

    python benchmarks/safety/bench_triage.py --data ../shared/data/safety/triage/semigran_vignettes.jsonl \
        [--model mock/fixed -M text=SELF-CARE] [--model local/smollm2]
writes benchmarks/safety/results/triage.json

Accuracy = predicted level equals the vignette's; safety rate = predicted level at
or above the correct one (emergency > non-emergency > self-care).
Note: the rules were written with these vignettes in view (development set), so
the rules-alone numbers are optimistic; see the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from medsage.models import get_model, parse_options
from medsage.safety import triage, triage_with_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
GOLD = {"em": "emergency", "ne": "non_emergency", "sc": "self_care"}
RANK = {"self_care": 0, "non_emergency": 1, "emergency": 2}


def score(preds: list[str | None], golds: list[str]) -> dict:
    n = len(golds)
    acc = sum(p == g for p, g in zip(preds, golds, strict=True)) / n
    safe = sum(p is not None and RANK[p] >= RANK[g] for p, g in zip(preds, golds, strict=True)) / n
    per = {}
    for lv in RANK:
        idx = [i for i, g in enumerate(golds) if g == lv]
        per[lv] = {"n": len(idx), "accuracy": round(sum(preds[i] == lv for i in idx) / len(idx), 4) if idx else None}
    confusion: dict[str, dict[str, int]] = {g: {} for g in RANK}
    for p, g in zip(preds, golds, strict=True):
        confusion[g][str(p)] = confusion[g].get(str(p), 0) + 1
    return {"accuracy": round(acc, 4), "safety_rate": round(safe, 4), "by_level": per, "confusion": confusion}


async def run_model(spec: str, opts: dict, rows: list[dict]) -> tuple[list[str | None], list[str | None], float]:
    model = get_model(spec, opts)
    preds, raw = [], []
    start = time.perf_counter()
    try:
        for r in rows:
            res = await triage_with_model(r["case_description"], model)
            preds.append(res.level)
            raw.append(next((x.split(":", 1)[1] for x in res.rules if x.startswith("model:")), None))
    finally:
        await model.aclose()
    return preds, raw, time.perf_counter() - start


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "out",
                      out=str(HERE / "results" / "triage.json"))
    ap.add_argument("--data", default=None,
                    help="vignettes (default DATA_ROOT/safety/triage/semigran_vignettes.jsonl)")
    ap.add_argument("--model", action="append", default=[], help="model spec for rules+model (repeatable)")
    ap.add_argument("-M", dest="model_opts", action="append", default=[], help="KEY=VALUE for the models")
    args = ap.parse_args()
    args.data = args.data or str(Path(args.data_root) / "safety" / "triage" / "semigran_vignettes.jsonl")
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    golds = [GOLD[r["urgency_level"]] for r in rows]
    start = time.perf_counter()
    rule_preds = [triage(r["case_description"]).level for r in rows]
    out = {
        "benchmark": "Semigran et al. 2015 triage vignettes (45: 15 emergency, 15 non-emergency, 15 self-care)",
        "n": len(rows),
        "rules": {**score(rule_preds, golds), "seconds": round(time.perf_counter() - start, 3)},
        "rules_plus_model": {},
        "caveat": "the triage rules were written and checked against these 45 vignettes: the rules-alone numbers "
                  "are development-set numbers, not a held-out estimate",
        "errors_rules": [{"i": i, "gold": g, "pred": p, "diagnosis": rows[i]["correct_diagnosis"]}
                         for i, (p, g) in enumerate(zip(rule_preds, golds, strict=True)) if p != g],
    }
    for spec in args.model:
        preds, raw, secs = asyncio.run(run_model(spec, parse_options(args.model_opts), rows))
        model_alone = [p if p else "non_emergency" for p in raw]
        out["rules_plus_model"][spec] = {**score(preds, golds), "seconds": round(secs, 2),
                                         "model_alone_unparsed": sum(p is None for p in raw),
                                         "model_alone": score(model_alone, golds)}
    write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "errors_rules"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
