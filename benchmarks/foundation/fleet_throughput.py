"""Throughput of the ``openai/`` provider over 1, 2, 4 … endpoints, and a kill mid-run.

    nice -n 19 python benchmarks/foundation/fleet_throughput.py --endpoints 1 2 4 --requests 400

Each endpoint is a stub model server in its own process (uvicorn on 127.0.0.1) that
behaves like a server with ``--slots`` parallel decode slots, each answer taking
``--delay`` seconds: its capacity is slots / delay requests per second. The client
is medsage's provider (``-M base_url=a,b,…``, ``max_connections`` = slots per
endpoint) at concurrency ``endpoints × slots × 2``. The kill run SIGKILLs one
endpoint after a third of the requests and counts samples that came back with an
error (target 0). Results go to ``benchmarks/results/fleet_throughput.json`` with
the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REPLY = json.dumps({
    "id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The answer is B."}}],
    "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
}).encode()


def serve(port: int, slots: int, delay: float) -> None:
    """Run one stub endpoint (``--serve``): ``slots`` requests at a time, ``delay`` s each."""
    import uvicorn

    sem: asyncio.Semaphore | None = None

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal sem
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        if scope["method"] == "POST":
            sem = sem or asyncio.Semaphore(slots)
            async with sem:
                await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]})
        await send({"type": "http.response.body", "body": REPLY})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(n: int, slots: int, delay: float) -> list[tuple[subprocess.Popen[bytes], str]]:
    procs = []
    for _ in range(n):
        port = _free_port()
        p = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--slots", str(slots),
                              "--delay", str(delay)])
        procs.append((p, f"http://127.0.0.1:{port}/v1"))
    for _, url in procs:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    return procs


async def _run(urls: list[str], n: int, slots: int, kill: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from medsage.models import get_model
    from medsage.types import GenerateConfig, Message

    model: Any = get_model("openai/stub", {"base_url": ",".join(urls), "max_connections": slots,
                                           "backoff_base": 0.05})
    conc = len(urls) * slots * 2
    sem = asyncio.Semaphore(conc)
    done = 0
    errors: list[str] = []

    async def one(i: int) -> None:
        nonlocal done
        async with sem:
            out = await model.generate([Message("user", f"question {i}")], GenerateConfig(max_tokens=8))
        if out.error:
            errors.append(out.error)
        done += 1
        if kill is not None and done == n // 3:
            os.kill(kill.pid, signal.SIGKILL)

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    stats = model.fleet.stats()
    await model.aclose()
    return {"endpoints": len(urls), "requests": n, "concurrency": conc, "wall_s": round(wall, 3),
            "req_per_s": round(n / wall, 1), "client_cpu_s": round(cpu, 3), "errors": len(errors),
            "error_examples": errors[:3], "per_endpoint": stats}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(ROOT / "benchmarks/results/fleet_throughput.json"))
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--endpoints", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--delay", type=float, default=0.1)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.slots, args.delay)
        return
    load0 = os.getloadavg()
    runs = []
    for n in [*args.endpoints, max(args.endpoints)]:
        kill_run = len(runs) == len(args.endpoints)
        procs = _start(n, args.slots, args.delay)
        try:
            victim = procs[-1][0] if kill_run and n > 1 else None
            res = asyncio.run(_run([u for _, u in procs], args.requests, args.slots, victim))
        finally:
            for p, _ in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                p.wait()
        res["kill_one_after_a_third"] = kill_run
        res["capacity_req_per_s"] = round(n * args.slots / args.delay, 1) if args.delay else None
        print(json.dumps({k: v for k, v in res.items() if k != "per_endpoint"}))
        runs.append(res)
    out = {"load_avg_before": [round(x, 2) for x in load0], "load_avg_after": [round(x, 2) for x in os.getloadavg()],
           "endpoint_model": f"{args.slots} slots x {args.delay}s per answer", "runs": runs}
    write_json(args.out, out)


if __name__ == "__main__":
    main()
