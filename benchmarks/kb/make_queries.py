"""Build the English labelled query set from MedQuAD: question -> its document.

Samples answered QA pairs (seeded) from MedQuAD collections 1-9 and writes
``{"query", "doc_ids", "lang", "qtype"}`` lines. Document ids follow
:mod:`medsage.kb.adapters.medquad` (``{source}_{file stem}``).

    M=../shared/data/knowledge/medquad
    python benchmarks/kb/make_queries.py --medquad $M/4_MPlus_Health_Topics_QA $M/9_CDC_QA \
        $M/8_NHLBI_QA_XML --n 300 --out benchmarks/kb/queries_en.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from medsage.kb.adapters.medquad import read_medquad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--medquad", nargs="+", default=["../shared/data/knowledge/medquad"])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default="benchmarks/kb/queries_en.jsonl")
    a = ap.parse_args()
    pool = []
    for root in a.medquad:
        for doc in read_medquad(Path(root), []):
            for s in doc.sections:
                if s.heading:
                    pool.append({"query": s.heading, "doc_ids": [doc.doc_id], "lang": "en", "title": doc.title})
    rng = random.Random(a.seed)
    picked = rng.sample(pool, a.n)
    Path(a.out).write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in picked))
    print(f"{len(picked)} queries from {len(pool)} answered QA pairs -> {a.out}")


if __name__ == "__main__":
    main()
