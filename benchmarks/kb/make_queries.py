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
import random
import sys
from pathlib import Path

from medsage.kb.adapters.medquad import read_medquad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_jsonl  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "seed", "out",
                      seed=13, out="benchmarks/kb/queries_en.jsonl")
    ap.add_argument("--medquad", nargs="+", default=None,
                    help="MedQuAD folders (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--n", type=int, default=300, help="queries to pick")
    a = ap.parse_args()
    a.medquad = a.medquad or [str(Path(a.data_root) / "knowledge" / "medquad")]
    pool = []
    for root in a.medquad:
        for doc in read_medquad(Path(root), []):
            for s in doc.sections:
                if s.heading:
                    pool.append({"query": s.heading, "doc_ids": [doc.doc_id], "lang": "en", "title": doc.title})
    rng = random.Random(a.seed)
    picked = rng.sample(pool, a.n)
    write_jsonl(a.out, picked)
    print(f"{len(picked)} queries from {len(pool)} answered QA pairs -> {a.out}")


if __name__ == "__main__":
    main()
