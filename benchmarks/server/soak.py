"""Soak: 64 clients for 60 s against one server that is restarted in the middle.

Checks the two promises of the audit log and the server:
* every request that got a 2xx has its audit row (looked up by ``x-request-id``);
* no request hangs (each has a client timeout; a timeout counts as a hang).

Requests that hit the restart window fail to connect (no 2xx, so no promise).
The server is stopped with SIGTERM (graceful) and started again on the same
port and database.

    python benchmarks/server/soak.py --clients 64 --duration 60 \
        --out benchmarks/server/results/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import ServerProcess, free_port, make_key

from medsage.server.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

BODY = {"model": "mock/echo", "messages": [{"role": "user", "content": "soak test question"}]}


async def soak(url: str, key: str, clients: int, duration: float, timeout: float) -> dict[str, Any]:
    ok_ids: list[str] = []
    ok_missing_id = 0
    lat: list[float] = []
    counts = {"2xx": 0, "non_2xx": 0, "connect_errors": 0, "hangs": 0, "other_errors": 0}
    stop_at = time.monotonic() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=timeout, limits=limits) as client:
        async def worker(i: int) -> None:
            nonlocal ok_missing_id
            stream = i % 4 == 0  # a quarter of the clients stream
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                try:
                    if stream:
                        async with client.stream("POST", "/v1/chat/completions",
                                                 json={**BODY, "stream": True}) as r:
                            async for _ in r.aiter_bytes():
                                pass
                    else:
                        r = await client.post("/v1/chat/completions", json=BODY)
                except httpx.TimeoutException:
                    counts["hangs"] += 1
                    continue
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                    counts["connect_errors"] += 1
                    await asyncio.sleep(0.05)
                    continue
                except httpx.HTTPError:
                    counts["other_errors"] += 1
                    continue
                lat.append(time.perf_counter() - t0)
                if 200 <= r.status_code < 300:
                    counts["2xx"] += 1
                    rid = r.headers.get("x-request-id")
                    if rid:
                        ok_ids.append(rid)
                    else:
                        ok_missing_id += 1
                else:
                    counts["non_2xx"] += 1

        await asyncio.gather(*(worker(i) for i in range(clients)))
    return {"ok_ids": ok_ids, "ok_missing_id": ok_missing_id, "counts": counts,
            "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p95_ms": round(percentile(lat, 95) * 1000, 2),
            "max_ms": round(max(lat, default=0.0) * 1000, 2)}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "out",
                      out="benchmarks/server/results/soak.json")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=15.0, help="client timeout = hang threshold")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medsage-soak-"))
    db = f"sqlite:///{tmp / 'audit.db'}"
    key = make_key(db)
    server = ServerProcess(free_port(), {"MEDSAGE_DATABASE_URL": db, "MEDSAGE_MODELS": "mock/echo",
                                         "MEDSAGE_DEFAULT_MODEL": "mock/echo"}, tmp / "server.log")
    server.start()
    restart: dict[str, float] = {}

    def restarter() -> None:
        time.sleep(args.duration / 2)
        restart["at_s"] = args.duration / 2
        restart["stop_s"] = round(server.stop(), 3)
        restart["start_s"] = round(server.start(), 3)

    t = threading.Thread(target=restarter)
    t.start()
    try:
        res = asyncio.run(soak(server.url, key, args.clients, args.duration, args.timeout))
    finally:
        t.join()
        server.stop()
    store = Store(db)
    found: set[str] = set()
    ids = res["ok_ids"]
    for i in range(0, len(ids), 500):
        found |= {row["request_id"] for row in store.audit_rows(request_ids=ids[i:i + 500])}
    total_rows = store.count_audit()
    store.close()
    lost = len(set(ids) - found)
    out = {"benchmark": "server-soak",
           "clients": args.clients, "duration_s": args.duration, "timeout_s": args.timeout,
           "restart": restart, **res["counts"], "ok_without_request_id": res["ok_missing_id"],
           "audit_rows_total": total_rows, "ok_requests_checked": len(ids),
           "audit_rows_lost_for_2xx": lost, "latency": {k: res[k] for k in ("p50_ms", "p95_ms", "max_ms")},
           "pass": lost == 0 and res["counts"]["hangs"] == 0 and res["ok_missing_id"] == 0}
    print(json.dumps(out, indent=2))
    write_json(args.out, out, indent=2)


if __name__ == "__main__":
    main()
