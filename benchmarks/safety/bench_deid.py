"""De-identification recall/precision per identifier type, and throughput.

    python benchmarks/safety/bench_deid.py [--data benchmarks/safety/data/deid_corpus.jsonl]
writes benchmarks/safety/results/deid.json

A gold entity is *found* (typed) when a predicted entity of the same type overlaps
it by at least half of its characters, and *redacted* when predicted entities of
any type cover at least 90% of its characters. A predicted entity is a true
positive when it overlaps some gold entity (typed: of the same type).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from medsage.safety.deid import deidentify, detect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
STRUCTURED = ("PHONE", "CN_RESIDENT_ID", "MEDICAL_ID", "EMAIL", "IP", "URL", "DATE")


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(HERE / "results" / "deid.json"))
    ap.add_argument("--data", default=str(HERE / "data" / "deid_corpus.jsonl"))
    args = ap.parse_args()
    docs = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    found, redacted, gold_n, pred_tp, pred_n = Counter(), Counter(), Counter(), Counter(), Counter()
    by_lang: dict[str, Counter] = {}
    misses: list[dict] = []
    for d in docs:
        text = d["text"]
        preds = detect(text)
        for s, e, t in d["entities"]:
            key = (d["lang"], t)
            gold_n[t] += 1
            bl = by_lang.setdefault(d["lang"], Counter())
            bl[f"{t}_n"] += 1
            typed = any(p.type == t and overlap((p.start, p.end), (s, e)) * 2 >= (e - s) for p in preds)
            cover = sum(overlap((p.start, p.end), (s, e)) for p in preds)
            red = cover >= 0.9 * (e - s)
            found[t] += typed
            redacted[t] += red
            bl[f"{t}_found"] += typed
            if not red and len(misses) < 40:
                misses.append({"lang": d["lang"], "type": t, "text": text[s:e], "context": text[max(0, s - 15): e + 10]})
            del key
        for p in preds:
            pred_n[p.type] += 1
            pred_tp[p.type] += any(overlap((p.start, p.end), (s, e)) > 0 and t == p.type for s, e, t in d["entities"])
    per_type = {}
    for t in sorted(set(gold_n) | set(pred_n)):
        per_type[t] = {
            "n_gold": gold_n[t],
            "recall": round(found[t] / gold_n[t], 4) if gold_n[t] else None,
            "recall_redacted_any_type": round(redacted[t] / gold_n[t], 4) if gold_n[t] else None,
            "n_pred": pred_n[t],
            "precision": round(pred_tp[t] / pred_n[t], 4) if pred_n[t] else None,
            "structured": t in STRUCTURED,
        }
    total_chars = sum(len(d["text"]) for d in docs)
    start = time.perf_counter()
    reps = 3
    for _ in range(reps):
        for d in docs:
            deidentify(d["text"], mode="redact")
    secs = (time.perf_counter() - start) / reps
    struct_recall = sum(found[t] for t in STRUCTURED) / max(1, sum(gold_n[t] for t in STRUCTURED))
    result = {
        "benchmark": "synthetic labelled clinical notes (Faker en_US + zh_CN, seeded), medsage.safety.deid",
        "n_documents": len(docs),
        "n_entities": sum(gold_n.values()),
        "per_type": per_type,
        "structured_identifier_recall": round(struct_recall, 4),
        "by_language": {lg: {t.rsplit("_", 1)[0]: round(c[t.rsplit("_", 1)[0] + "_found"] / c[t], 4)
                             for t in c if t.endswith("_n")} for lg, c in sorted(by_lang.items())},
        "throughput_chars_per_second": round(total_chars / secs),
        "corpus_chars": total_chars,
        "examples_of_misses": misses,
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "examples_of_misses"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
