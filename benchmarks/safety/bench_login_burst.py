"""Login throttling: latency of a valid request while 200 wrong-secret requests hit the server.

Starts ``medsage serve``'s app under uvicorn on loopback in a child process (SQLite in a
temporary folder, mock model), verifies one valid key once (as a running client would
have), then a second child process fires ``--burst`` concurrent requests that carry the
real key id with a wrong secret. From the moment the first burst response comes back,
this process, as valid clients, starts a ``/v1/whoami`` call every ``--spacing`` seconds
(open loop: 40 calls over one second, each on its own warm connection, whether or not
the earlier ones have returned). Reports the valid request's p50/p95/max,
the status codes of the burst (each 401 is one scrypt hash) and the server's peak RSS.

``--no-throttle`` rebuilds the pre-#17 behaviour (every attempt hashed, unbounded
concurrency) for comparison.

Usage:
    python benchmarks/safety/bench_login_burst.py [--burst 200] [--valid 40] [--no-throttle]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, provenance, write_json  # noqa: E402

OUT = Path(__file__).parent / "results" / "login_burst.json"


class _NoCache(dict):  # type: ignore[type-arg]
    """A negative cache that remembers nothing (pre-#17 emulation)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


def _server_process(db: str, no_throttle: bool, conn: Any) -> None:
    """Child process: create a key, start uvicorn, send (url, key, key_id), serve until told to stop."""
    import uvicorn

    from medsage.server import auth as auth_mod
    from medsage.server import create_app
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    store = Store(db)
    key, rec = auth_mod.create_key(store, "burst valid", rate_per_minute=0)
    app = create_app(ServerConfig(database=db, base_models=("mock/echo",)), store)
    if no_throttle:
        svc = app.state.medsage
        svc.auth.throttle = auth_mod.LoginThrottle(burst=10**9, per_minute=10**9)
        svc.auth._slots = threading.BoundedSemaphore(10**6)  # noqa: SLF001
        svc.auth._failed = _NoCache()  # noqa: SLF001
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    conn.send((f"http://127.0.0.1:{port}", key, rec.key_id))
    conn.recv()
    conn.send(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    server.should_exit = True
    thread.join(timeout=10)


def _burst_process(url: str, key_id: str, burst: int, conn: Any) -> None:
    """Child process: fire ``burst`` concurrent wrong-secret requests; send back their status codes."""
    import httpx

    async def fire() -> list[int]:
        limits = httpx.Limits(max_connections=burst + 10, max_keepalive_connections=burst + 10)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as bad:
            first = {"sent": False}

            async def wrong(i: int) -> int:
                r = await bad.get("/v1/whoami", headers={"Authorization": f"Bearer msk_{key_id}_wrongsecret{i}"})
                if not first["sent"]:
                    first["sent"] = True
                    conn.send("go")  # the server is answering the burst: start the valid clients
                return r.status_code

            return list(await asyncio.gather(*(wrong(i) for i in range(burst))))

    t0 = time.perf_counter()
    codes = asyncio.run(fire())
    conn.send((codes, time.perf_counter() - t0))


def _run(url: str, key: str, key_id: str, burst: int, valid: int, spacing_s: float,
         cold: bool = False) -> dict[str, Any]:
    """Measure valid requests (this process) during a burst sent from another process."""
    import httpx

    ok = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, timeout=120) as good:
        assert good.get("/v1/whoami", headers=ok).status_code == 200
        calm = []
        for _ in range(10):
            t0 = time.perf_counter()
            good.get("/v1/whoami", headers=ok)
            calm.append(time.perf_counter() - t0)
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_burst_process, args=(url, key_id, burst, child))
        proc.start()
        # one warm connection per valid request, opened before the burst
        clients = [httpx.Client(base_url=url, timeout=120) for _ in range(valid)]
        for c in clients:
            c.get("/v1/whoami", headers=ok)
        parent.recv()  # the first burst response is back: the server is under the burst
        start = time.perf_counter()

        def one(i: int) -> float:
            # open loop: each valid request starts on schedule, whatever happened to the others
            pause = start + i * spacing_s - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            if cold:  # a new client and connection per request (includes client start-up)
                with httpx.Client(base_url=url, timeout=120) as c:
                    t0 = time.perf_counter()
                    r = c.get("/v1/whoami", headers=ok)
                    took = time.perf_counter() - t0
            else:
                t0 = time.perf_counter()
                r = clients[i].get("/v1/whoami", headers=ok)
                took = time.perf_counter() - t0
            assert r.status_code == 200, r.status_code
            return took

        with ThreadPoolExecutor(max_workers=valid) as pool:
            lat = list(pool.map(one, range(valid)))
        for c in clients:
            c.close()
        codes, burst_s = parent.recv()
        proc.join(timeout=30)
    return {
        "valid_p50_s": round(statistics.median(lat), 4),
        "valid_p95_s": round(percentile(lat, 95), 4),
        "valid_max_s": round(max(lat), 4),
        "calm_p50_s": round(statistics.median(calm), 4),
        "burst_codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "burst_wall_s": round(burst_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out", out=str(OUT))
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--valid", type=int, default=40, help="valid requests measured during the burst")
    ap.add_argument("--spacing", type=float, default=0.025, help="seconds between valid request starts")
    ap.add_argument("--no-throttle", action="store_true", help="emulate the pre-#17 behaviour")
    ap.add_argument("--cold", action="store_true", help="a new HTTP client and connection per valid request")
    args = ap.parse_args(argv)
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'burst.db'}"
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_server_process, args=(db, args.no_throttle, child))
        proc.start()
        try:
            url, key, key_id = parent.recv()
            result = _run(url, key, key_id, args.burst, args.valid, args.spacing, args.cold)
            parent.send("done")
            rss = parent.recv()
        finally:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.terminate()
    result.update({
        "mode": ("no-throttle (pre-#17 emulation)" if args.no_throttle else "throttled")
                + (", cold connections" if args.cold else ", warm connections"),
        "burst": args.burst, "valid_requests": args.valid, "spacing_s": args.spacing,
        "server_max_rss_mb": rss, "python": sys.version.split()[0], "provenance": provenance(),
    })
    out = Path(args.out)
    prev = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    prev[result["mode"]] = result
    write_json(out, prev)
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
