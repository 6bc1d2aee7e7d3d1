"""Harness overhead: ``medsage bench`` vs a bare asyncio + openai SDK loop on the same stub.

Both send the same exam prompts to a local OpenAI-compatible stub that answers at
once, at the same concurrency; rounds alternate the order, and the median rate of
each is compared. The medsage side is the full runner: task loading, prompt
building, response cache (fresh), scoring, per-sample JSONL and the report.

    python benchmarks/foundation/harness_overhead.py --data ../shared/data/exams/medqa_us_4options_test.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from medsage.runner import EvalConfig, get_task, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


async def bare(url: str, prompts: list[list[dict[str, str]]], concurrency: int, raw: bool = False) -> float:
    """Samples/s of a bare loop: ``chat.completions.create``, or with ``raw`` the SDK's
    generic ``client.post`` + ``json.loads`` that medsage's provider uses (isolates the
    runner's own overhead from the SDK's request/response models)."""
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(messages: list[dict[str, str]]) -> str:
        async with sem:
            if raw:
                text = await client.post("/chat/completions", cast_to=str, body={
                    "model": "stub", "messages": messages, "max_tokens": 128, "temperature": 0})
                return str(json.loads(text)["choices"][0]["message"]["content"] or "")
            r = await client.chat.completions.create(model="stub", messages=messages, max_tokens=128, temperature=0)
            return r.choices[0].message.content or ""

    start = time.perf_counter()
    await asyncio.gather(*(one(m) for m in prompts))
    wall = time.perf_counter() - start
    await client.close()
    return len(prompts) / wall


async def medsage_rate(url: str, task: str, data: str | None, n: int, concurrency: int, tmp: Path,
                       i: int) -> tuple[float, float]:
    """End-to-end samples/s of the whole run (load, answer, score, write, report) and of its answering phase."""
    cfg = EvalConfig(tasks=[task], model="openai/stub", model_options={"base_url": url, "api_key": "x"},
                     data={"": data} if data else {}, concurrency=concurrency, limit=n,
                     out_dir=tmp / f"run{i}", cache_path=tmp / f"cache{i}.sqlite", progress=False)
    start = time.perf_counter()
    res = await run_eval(cfg)
    wall = time.perf_counter() - start
    return res.summary["n"] / wall, float(res.summary["samples_per_s"])


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out="benchmarks/results/harness_overhead.json")
    ap.add_argument("--task", default="medqa_us")
    ap.add_argument("--data", default=None)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--background", default="", help="what else ran on the machine (recorded in the JSON)")
    args = ap.parse_args()
    task = get_task(args.task if args.data or args.task == "exam-sample" else "exam-sample")
    samples = task.load(args.data).samples
    prompts = [[m.to_dict() for m in task.messages(s)] for s in samples]
    url = f"http://127.0.0.1:{args.port}/v1"
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("stub_server.py")),
                               "--port", str(args.port), "--max-seconds", "900"])
    try:
        time.sleep(2.0)
        bare_rates: list[float] = []
        raw_rates: list[float] = []
        ms_rates: list[float] = []
        ms_phase: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.rounds):
                order = ("bare", "raw", "medsage") if i % 2 == 0 else ("medsage", "raw", "bare")
                for side in order:
                    if side == "bare":
                        bare_rates.append(asyncio.run(bare(url, prompts, args.concurrency)))
                    elif side == "raw":
                        raw_rates.append(asyncio.run(bare(url, prompts, args.concurrency, raw=True)))
                    else:
                        e2e, phase = asyncio.run(medsage_rate(url, task.name, args.data, len(prompts),
                                                              args.concurrency, Path(tmp), i))
                        ms_rates.append(e2e)
                        ms_phase.append(phase)
    finally:
        server.terminate()
        server.wait()
    result = {
        "task": task.name, "n": len(prompts), "concurrency": args.concurrency, "rounds": args.rounds,
        "bare_samples_per_s": [round(x, 1) for x in bare_rates],
        "bare_raw_post_samples_per_s": [round(x, 1) for x in raw_rates],
        "medsage_samples_per_s_end_to_end": [round(x, 1) for x in ms_rates],
        "medsage_samples_per_s_answering_phase": [round(x, 1) for x in ms_phase],
        "ratio_end_to_end": round(statistics.median(ms_rates) / statistics.median(bare_rates), 3),
        "ratio_answering_phase": round(statistics.median(ms_phase) / statistics.median(bare_rates), 3),
        "ratio_end_to_end_vs_raw_post": round(statistics.median(ms_rates) / statistics.median(raw_rates), 3),
        "ratio_answering_phase_vs_raw_post": round(statistics.median(ms_phase) / statistics.median(raw_rates), 3),
        "background": args.background,
        "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    write_json(args.out, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
