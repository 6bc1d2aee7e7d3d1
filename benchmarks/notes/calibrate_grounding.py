"""Calibrate the grounding threshold: reference-note sentences of an ACI-Bench encounter
(should be supported by its own transcript) vs sentences from another encounter's note
(should not). Reports ROC AUC and precision/recall at thresholds, lexical vs lexical+embedding.

    python benchmarks/notes/calibrate_grounding.py --data ../shared/data/notes/aci_bench/valid.csv -n 8 [--embed]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from medsage.notes.formats import read_dialogue_csv
from medsage.notes.grounding import GroundingConfig, ground_sentences
from medsage.notes.roles import infer_roles
from medsage.notes.text import split_sentences
from medsage.notes.transcript import parse_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, deprecated_alias, write_json  # noqa: E402


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "limit", "out",
                      limit=8, out="benchmarks/notes/results/grounding_calibration.json")
    deprecated_alias(ap, "-n", "--limit", type=int)
    ap.add_argument("--data", default=None, help="ACI-Bench CSV (default DATA_ROOT/notes/aci_bench/valid.csv)")
    ap.add_argument("--embed", action="store_true")
    args = ap.parse_args()
    args.data = args.data or str(Path(args.data_root) / "notes" / "aci_bench" / "valid.csv")
    rows = read_dialogue_csv(args.data)[: args.limit]
    cfg = GroundingConfig(use_embeddings=args.embed)
    pos: list[float] = []
    neg: list[float] = []
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        tr = infer_roles(parse_text(row["dialogue"]))
        own = split_sentences(row["note"])
        other = split_sentences(rows[(i + 1) % len(rows)]["note"])
        pos += [s.support for s in ground_sentences(own, tr, cfg)]
        neg += [s.support for s in ground_sentences(other, tr, cfg)]
    res = {"data": args.data, "encounters": len(rows), "embeddings": args.embed,
           "positives": len(pos), "negatives": len(neg), "auc": round(auc(pos, neg), 4),
           "seconds": round(time.perf_counter() - t0, 1), "at_threshold": {}}
    for th in (0.3, 0.4, 0.5, 0.6, 0.7):
        tp = sum(p >= th for p in pos)
        fp = sum(n >= th for n in neg)
        res["at_threshold"][str(th)] = {"own_supported": round(tp / len(pos), 3),
                                        "foreign_supported": round(fp / len(neg), 3)}
    print(json.dumps(res, indent=1))
    out = Path(args.out)
    tag = "embed" if args.embed else "lexical"
    write_json(out.with_name(out.stem + f"_{tag}.json"), res)


if __name__ == "__main__":
    main()
