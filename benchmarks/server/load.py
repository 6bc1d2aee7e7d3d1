"""Load test of ``/v1/chat/completions`` and ``/v1/safety/check`` with the mock model.

Starts one server process on 127.0.0.1 (SQLite audit, auth on, no rate limit) and
drives it with N concurrent asyncio clients for a fixed number of requests per
client. Reports requests/s and p50/p95 latency per endpoint and concurrency.

    python benchmarks/server/load.py --concurrency 1 16 64 --requests 600 \
        --out benchmarks/server/results/load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import ServerProcess, free_port, make_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

BODIES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "mock/echo", "messages": [
        {"role": "user", "content": "72-year-old with atrial fibrillation on warfarin asks "
                                    "whether ibuprofen is safe for knee pain."}]},
    "/v1/safety/check": {"medications": ["warfarin 5 mg daily", "ibuprofen 400 mg tid"],
                         "patient": {"age": 72, "egfr": 45, "allergies": ["penicillin"]}},
}


async def run_level(url: str, key: str, path: str, clients: int, total: int) -> dict[str, Any]:
    """``total`` requests spread over ``clients`` concurrent clients."""
    per = max(1, total // clients)
    lat: list[float] = []
    codes: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30.0, limits=limits) as client:
        async def worker() -> None:
            for _ in range(per):
                t0 = time.perf_counter()
                r = await client.post(path, json=BODIES[path])
                lat.append(time.perf_counter() - t0)
                codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1

        await client.get("/healthz")
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"endpoint": path, "concurrency": clients, "requests": len(lat), "status": codes,
            "wall_s": round(wall, 3), "rps": round(len(lat) / wall, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p95_ms": round(percentile(lat, 95) * 1000, 2)}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "out",
                      out="benchmarks/server/results/load.json")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--requests", type=int, default=600, help="requests per level (bounded)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medsage-load-"))
    db = f"sqlite:///{tmp / 'audit.db'}"
    key = make_key(db)
    server = ServerProcess(free_port(), {"MEDSAGE_DATABASE_URL": db, "MEDSAGE_MODELS": "mock/echo",
                                         "MEDSAGE_DEFAULT_MODEL": "mock/echo"}, tmp / "server.log")
    server.start()
    results = []
    try:
        for path in BODIES:
            for c in args.concurrency:
                res = asyncio.run(run_level(server.url, key, path, c, args.requests))
                print(json.dumps(res))
                results.append(res)
    finally:
        server.stop()
    out = {"benchmark": "server-load",
           "server": "1 uvicorn process, SQLite audit (WAL), auth on, mock/echo",
           "client": "httpx.AsyncClient in one process on the same machine",
           "results": results}
    write_json(args.out, out, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
