"""Cost and throughput of HealthBench-format grading.

Runs the ``healthbench`` task over a HealthBench JSONL with a fixed mock answer
and a grader, twice with the same grader cache: the first pass is the cost of a
full run (grader calls and tokens), the second shows what the cache saves.
With ``--stub`` the grader is ``openai/stub`` against a local OpenAI-compatible
stub server (started here on 127.0.0.1, stopping itself), so the throughput
includes real HTTP, JSON and client overhead.

    python benchmarks/rubric/grading_bench.py --data ../shared/data/rubric/healthbench_sample.jsonl \
        --stub --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, seconds: float = 20) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("stub grader did not start")


async def one_pass(task: Any, samples: list[Any], grader_spec: str, grader_opts: dict[str, Any]) -> dict[str, Any]:
    from medsage.models.base import get_model
    from medsage.types import CaseState, ModelOutput

    task.pool = type(task.pool)()  # fresh semaphore/cache wrappers for this pass
    grader = get_model(grader_spec, grader_opts)
    answer = "Thanks for asking. Please see a clinician if symptoms persist or worsen; seek emergency care for red flags."
    start = time.perf_counter()

    async def score(s: Any) -> Any:
        state = CaseState(s, tuple(task.messages(s)), output=ModelOutput(text=answer, model="mock/fixed"))
        return await task.score(state, grader)

    scores = await asyncio.gather(*(score(s) for s in samples))
    wall = time.perf_counter() - start
    await grader.aclose()
    meta = [sc.metadata for sc in scores]
    calls = sum(m.get("grader_calls", 0) for m in meta)
    cached = sum(m.get("grader_cached_calls", 0) for m in meta)
    return {
        "examples": len(samples),
        "rubric_items": sum(len(m.get("rubric_grades", [])) for m in meta),
        "grader_calls": calls,
        "grader_calls_from_cache": cached,
        "grader_calls_to_model": calls - cached,
        "grader_prompt_tokens": sum(m.get("grader_prompt_tokens", 0) for m in meta),
        "grader_completion_tokens": sum(m.get("grader_completion_tokens", 0) for m in meta),
        "grader_billed_prompt_tokens": sum(m.get("grader_billed_prompt_tokens", 0) for m in meta),
        "grader_billed_completion_tokens": sum(m.get("grader_billed_completion_tokens", 0) for m in meta),
        "unparsed_verdicts": sum(m.get("unparsed_verdicts", 0) for m in meta),
        "wall_s": round(wall, 3),
        "grader_calls_per_s": round(calls / wall, 1) if wall else None,
    }


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__), "limit", "out",
                      out=str(Path(__file__).with_name("results") / "grading_bench.json"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--stub", action="store_true", help="grade through a local OpenAI-compatible stub server")
    args = ap.parse_args()
    os.environ["MEDSAGE_GRADER_CONCURRENCY"] = str(args.concurrency)
    tmp = tempfile.mkdtemp(prefix="medsage-grading-")
    os.environ["MEDSAGE_GRADER_CACHE"] = str(Path(tmp) / "grader.sqlite")
    from medsage.tasks.healthbench import TASK

    samples = TASK.load(args.data).samples[: args.limit]
    proc = None
    if args.stub:
        port = _free_port()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("stub_grader.py")), "--port", str(port),
                                 "--max-requests", "100000", "--max-seconds", "600"])
        _wait(port)
        spec, opts = "openai/stub", {"base_url": f"http://127.0.0.1:{port}/v1", "api_key": "x"}
    else:
        script = Path(tmp) / "grader.json"
        script.write_text(json.dumps([{"contains": "", "response": '{"explanation": "x", "criteria_met": true}'}]))
        spec, opts = "mock/script", {"file": str(script)}
    try:
        first = asyncio.run(one_pass(TASK, samples, spec, opts))
        second = asyncio.run(one_pass(TASK, samples, spec, opts))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    result = {"grader": spec, "concurrency": args.concurrency, "first_pass": first,
              "second_pass_same_cache": second}
    write_json(args.out, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
