"""Soak of two (or more) replicas on one PostgreSQL: one SIGKILLed and restarted mid-run.

    nice -n 19 python benchmarks/server/soak_replicas.py --replicas 2 --clients 16 --duration 30 \
        --out benchmarks/server/results/soak_replicas.json

Starts a throwaway PostgreSQL (Debian's ``postgresql``, as the tests do) unless
``--database postgresql://…`` names one, then ``--replicas`` uvicorn processes of
``medsage.server.app_env:app`` on it. The clients spread requests round-robin over the
replicas (what a reverse proxy does; see README "Replicas"). At a third of the run
replica 0 is SIGKILLed (no graceful shutdown) and started again two seconds later;
with ``--restart-db`` the database is also restarted at two thirds. Checks: every
request answered 2xx has exactly one audit row (0 lost, 0 duplicated), no request
hangs, and requests to the live replica never fail.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import free_port, make_key

from medsage.server.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BODY = {"model": "mock/echo", "messages": [{"role": "user", "content": "replica soak"}]}


class Replica:
    def __init__(self, db: str, log: Path) -> None:
        self.port, self.db, self.log = free_port(), db, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        t0 = time.perf_counter()
        env = {**os.environ, "MEDSAGE_DATABASE_URL": self.db, "MEDSAGE_MODELS": "mock/echo",
               "MEDSAGE_DEFAULT_MODEL": "mock/echo", "MEDSAGE_RATE_PER_MINUTE": "0"}
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "medsage.server.app_env:app", "--host",
                                      "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                                     env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        while time.perf_counter() - t0 < 60:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"replica did not start; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.splitlines()[0]), "out",
                      out="benchmarks/server/results/soak_replicas.json")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--database", default=None)
    ap.add_argument("--restart-db", action="store_true")
    a = ap.parse_args()
    cluster: Any = None
    if a.database:
        db = a.database
    else:
        sys.path.insert(0, str(ROOT / "tests" / "server"))
        from pgcluster import Cluster  # the tests' throwaway cluster

        cluster = Cluster(port=55434)
        db = cluster.url
    tmp = Path(tempfile.mkdtemp(prefix="medsage-replicas-"))
    key = make_key(db)
    replicas = [Replica(db, tmp / f"replica{i}.log") for i in range(a.replicas)]
    for r in replicas:
        r.start()
    ok_ids: list[str] = []
    lat: list[float] = []
    counts = {"2xx": 0, "non_2xx": 0, "connect_errors": 0, "hangs": 0}
    events: dict[str, float] = {}
    stop_at = time.monotonic() + a.duration
    t_start = time.monotonic()

    def client(i: int) -> None:
        n = i
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=a.timeout) as c:
            while time.monotonic() < stop_at:
                n += 1
                t0 = time.perf_counter()
                try:
                    r = c.post(replicas[n % len(replicas)].url + "/v1/chat/completions", json=BODY)
                except httpx.TimeoutException:
                    counts["hangs"] += 1
                    continue
                except httpx.HTTPError:
                    counts["connect_errors"] += 1
                    time.sleep(0.02)
                    continue
                lat.append(time.perf_counter() - t0)
                if 200 <= r.status_code < 300:
                    counts["2xx"] += 1
                    ok_ids.append(r.headers["x-request-id"])
                else:
                    counts["non_2xx"] += 1

    def chaos() -> None:
        time.sleep(a.duration / 3)
        events["kill_at_s"] = round(time.monotonic() - t_start, 2)
        replicas[0].kill()
        time.sleep(2.0)
        events["restart_s"] = round(replicas[0].start(), 2)
        if a.restart_db and cluster is not None:
            time.sleep(max(0.0, 2 * a.duration / 3 - (time.monotonic() - t_start)))
            events["db_restart_at_s"] = round(time.monotonic() - t_start, 2)
            cluster.stop()
            cluster.start()

    load0 = os.getloadavg()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    threads.append(threading.Thread(target=chaos))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in replicas:
        r.kill()
    store = Store(db)
    found: set[str] = set()
    for i in range(0, len(ok_ids), 500):
        found |= {row["request_id"] for row in store.audit_rows(request_ids=ok_ids[i:i + 500])}
    with store._cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM (SELECT request_id FROM audit GROUP BY request_id HAVING COUNT(*) > 1) d")
        dup_ids = int(cur.fetchone()[0])
    total = store.count_audit()
    store.close()
    if cluster is not None:
        cluster.close()
    lost = len(set(ok_ids) - found)
    out = {"benchmark": "server-soak-replicas",
           "load_avg_before": [round(x, 2) for x in load0],
           "load_avg_after": [round(x, 2) for x in os.getloadavg()], "replicas": a.replicas, "clients": a.clients,
           "duration_s": a.duration, "events": events, **counts, "audit_rows_total": total,
           "ok_requests_checked": len(ok_ids), "audit_rows_lost_for_2xx": lost,
           "request_ids_with_duplicate_rows": dup_ids, "req_per_s": round(counts["2xx"] / a.duration, 1),
           "latency_ms": {"p50": round(percentile(lat, 50) * 1000, 2), "p95": round(percentile(lat, 95) * 1000, 2)},
           "pass": lost == 0 and dup_ids == 0 and counts["hangs"] == 0}
    print(json.dumps(out, indent=2))
    write_json(a.out, out, indent=2)


if __name__ == "__main__":
    main()
