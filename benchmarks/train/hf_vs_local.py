"""Does ``hf/`` (transformers, GGUF dequantised) answer like ``local/`` (llama.cpp) on the same prompts?

Issue #20 step 1: before training an adapter with transformers on the measurement GGUF, check
that transformers' reading of that file agrees with llama.cpp's. Both models get the task's own
likelihood-mode messages for the same seeded items; for each item the answer-letter
distribution (softmax over the option letters' first-token log-probabilities, as
``medsage bench --mode likelihood`` ranks them) is compared: answer agreement, accuracy of each,
McNemar on correctness, total-variation distance and |Δ log p| of the chosen letter.

    python benchmarks/train/hf_vs_local.py --gguf $Q --data ../shared/data/exams/medqa_mcmle/test.jsonl \
        --task medqa_mcmle --limit 100 --out benchmarks/train/results_hf_vs_local.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance  # noqa: E402

from medsage.models.base import get_model  # noqa: E402
from medsage.pipelines.domain import letter_logprobs  # noqa: E402
from medsage.runner import get_task  # noqa: E402
from medsage.scoring.paired import paired_difference  # noqa: E402
from medsage.types import GenerateConfig  # noqa: E402

CONFIG = GenerateConfig(max_tokens=1, top_logprobs=20, temperature=0.0)


def distribution(top: dict[str, float] | None, letters: list[str]) -> list[float]:
    """Softmax over the option letters' log-probabilities (letters missing from top-k get a floor)."""
    lps = letter_logprobs(top or {}, len(letters))
    peak = max(lps)
    e = [math.exp(x - peak) for x in lps]
    z = sum(e)
    return [x / z for x in e]


async def answer_all(model: Any, task: Any, samples: list[Any]) -> tuple[list[list[float]], float]:
    dists = []
    t0 = time.perf_counter()
    for s in samples:
        out = await model.generate(task.messages(s, "likelihood"), CONFIG)
        dists.append(distribution(out.top_logprobs, list(s.choices)))
    return dists, (time.perf_counter() - t0) / max(1, len(samples))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_flags(ap)
    ap.add_argument("--gguf", required=True, help="the measurement GGUF file")
    ap.add_argument("--data", required=True)
    ap.add_argument("--task", default="medqa_mcmle")
    ap.add_argument("--dtype", default="float32")
    a = ap.parse_args()
    task = get_task(a.task)
    samples = list(task.load(a.data).samples)
    random.Random(a.seed).shuffle(samples)
    samples = samples[: a.limit or 100]
    gguf = Path(a.gguf).resolve()
    local = get_model(f"local/{gguf}", {"threads": str(a.threads)})
    hf = get_model(f"hf/{gguf}", {"dtype": a.dtype, "device": "cpu"})
    d_local, s_local = asyncio.run(answer_all(local, task, samples))
    d_hf, s_hf = asyncio.run(answer_all(hf, task, samples))
    rows = []
    for s, p, q in zip(samples, d_local, d_hf, strict=True):
        letters = list(s.choices)
        i, j = p.index(max(p)), q.index(max(q))
        rows.append({"id": s.id, "target": s.target, "local": letters[i], "hf": letters[j],
                     "tv": round(0.5 * sum(abs(x - y) for x, y in zip(p, q, strict=True)), 4),
                     "dlogp_local_choice": round(abs(math.log(max(p[i], 1e-12)) - math.log(max(q[i], 1e-12))), 4)})
    n = len(rows)
    ok_l = [float(r["local"] == r["target"]) for r in rows]
    ok_h = [float(r["hf"] == r["target"]) for r in rows]
    tvs = sorted(r["tv"] for r in rows)
    result = {"provenance": provenance(), "n": n, "task": a.task, "data": a.data, "seed": a.seed,
              "agreement": round(sum(r["local"] == r["hf"] for r in rows) / n, 4),
              "accuracy_local": round(sum(ok_l) / n, 4), "accuracy_hf": round(sum(ok_h) / n, 4),
              "paired_hf_minus_local": paired_difference(ok_l, ok_h, binary=True),
              "tv_mean": round(sum(tvs) / n, 4), "tv_median": tvs[n // 2], "tv_max": tvs[-1],
              "dlogp_mean": round(sum(r["dlogp_local_choice"] for r in rows) / n, 4),
              "s_per_item": {"local": round(s_local, 2), "hf": round(s_hf, 2)}, "items": rows}
    out = Path(a.out or "benchmarks/train/results_hf_vs_local.json")
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k != "items"}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
