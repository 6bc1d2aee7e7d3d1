"""Time to first streamed token through ``medsage serve`` with the embedded model.

Starts a server on 127.0.0.1 with ``local/smollm2`` (llama.cpp in-process), sends
streamed chat requests with the official ``openai`` SDK and measures the time
from sending the request to the first non-empty content delta, and to the end.
The model's ``astream`` (token-by-token) is used when the provider has one; the
output says which path the server took.

    python benchmarks/server/ttft.py --model local/smollm2 --requests 5 \
        --out benchmarks/server/results/ttft.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai
from common import ServerProcess, free_port, make_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

QUESTIONS = [
    "What are common symptoms of iron deficiency anaemia?",
    "List first-line treatments for uncomplicated hypertension.",
    "When should a patient with chest pain call emergency services?",
    "What does an HbA1c of 8% mean?",
    "Name two side effects of metformin.",
]


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "model", "out",
                      out="benchmarks/server/results/ttft.json")
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medsage-ttft-"))
    db = f"sqlite:///{tmp / 'audit.db'}"
    key = make_key(db)
    server = ServerProcess(free_port(), {"MEDSAGE_DATABASE_URL": db, "MEDSAGE_MODELS": args.model,
                                         "MEDSAGE_DEFAULT_MODEL": args.model}, tmp / "server.log")
    startup = server.start()
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=300)
    rows = []
    try:
        for i in range(args.requests + 1):  # the first request loads the model: reported apart
            q = QUESTIONS[i % len(QUESTIONS)]
            t0 = time.perf_counter()
            first = None
            chunks = 0
            stream = client.chat.completions.create(
                model=args.model, messages=[{"role": "user", "content": q}], stream=True,
                max_tokens=args.max_tokens)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    chunks += 1
                    if first is None:
                        first = time.perf_counter() - t0
            total = time.perf_counter() - t0
            rows.append({"ttft_s": round(first or total, 3), "total_s": round(total, 3),
                         "content_chunks": chunks, "cold": i == 0})
            print(json.dumps(rows[-1]))
    finally:
        server.stop()
    warm = [r for r in rows if not r["cold"]]
    from medsage.registry import providers

    cls = providers.get(args.model.partition("/")[0])
    streaming = "model.astream (token by token)" if hasattr(cls, "astream") else \
        "generate, then text sent in word groups"
    out = {"benchmark": "server-ttft",
           "model": args.model, "max_tokens": args.max_tokens, "streaming_path": streaming,
           "server_startup_s": round(startup, 3), "cold_first_request": rows[0],
           "warm_requests": len(warm),
           "ttft_s_median": round(statistics.median(r["ttft_s"] for r in warm), 3) if warm else None,
           "ttft_s_max": max((r["ttft_s"] for r in warm), default=None),
           "total_s_median": round(statistics.median(r["total_s"] for r in warm), 3) if warm else None,
           "rows": rows}
    write_json(args.out, out, indent=2)
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
