"""Two or more service replicas on one PostgreSQL: keys, revocation, global rate limits,
audit rows through a replica kill and a database restart.

Starts a throwaway cluster from Debian's ``postgresql`` (skips without it or psycopg).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("psycopg")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from medsage.server import create_app  # noqa: E402
from medsage.server.auth import create_key  # noqa: E402
from medsage.server.config import ServerConfig  # noqa: E402
from medsage.server.store import AuditRow, Store  # noqa: E402

from .pgcluster import Cluster, Unavailable  # noqa: E402

BODY = {"model": "mock/echo", "messages": [{"role": "user", "content": "replica test"}]}


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield cluster
    cluster.close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """``uvicorn medsage.server.app_env:app`` on one port, configured by environment."""

    def __init__(self, db: str, log: Path) -> None:
        self.port, self.db, self.log = _port(), db, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "MEDSAGE_DATABASE_URL": self.db, "MEDSAGE_MODELS": "mock/echo",
               "MEDSAGE_DEFAULT_MODEL": "mock/echo", "MEDSAGE_RATE_PER_MINUTE": "0"}
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "medsage.server.app_env:app", "--host",
                                      "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                                     env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("replica did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def test_audit_insert_is_idempotent_and_survives_a_database_restart(pg: Cluster) -> None:
    store = Store(pg.url)
    before = store.count_audit()
    row = AuditRow("req-idem-1", time.time(), "POST", "/v1/x", 200)
    store.add_audit(row)
    store.add_audit(row)  # a retried insert whose first attempt committed: no duplicate
    assert store.count_audit() == before + 1
    pg.stop()
    pg.start()
    store.add_audit(AuditRow("req-after-restart", time.time(), "POST", "/v1/x", 200))  # reconnects
    assert store.count_audit() == before + 2
    store.close()


def test_database_down_is_a_clear_503_and_service_resumes(pg: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.server.store as store_mod

    monkeypatch.setattr(store_mod, "RECONNECT_BACKOFF_S", (0.05, 0.1, 0.1, 0.1))
    store = Store(pg.url)
    key, _ = create_key(store, "down", "clinician", rate_per_minute=0)
    h = {"Authorization": f"Bearer {key}"}
    app = TestClient(create_app(ServerConfig(database=pg.url)), raise_server_exceptions=False)
    assert app.get("/v1/models", headers=h).status_code == 200
    pg.stop()
    try:
        r = app.post("/v1/chat/completions", json=BODY, headers=h)
        assert r.status_code == 503 and "unavailable" in r.json()["error"]["message"]
    finally:
        pg.start()
    r = app.post("/v1/chat/completions", json=BODY, headers=h)  # reconnected, nothing to restart
    assert r.status_code == 200 and store.audit_rows(request_ids=[r.headers["x-request-id"]])
    store.close()


def test_rate_limits_are_global_across_replicas(pg: Cluster) -> None:
    store = Store(pg.url)
    key, _ = create_key(store, "rate", "clinician", rate_per_minute=4)
    h = {"Authorization": f"Bearer {key}"}
    a = TestClient(create_app(ServerConfig(database=pg.url)))
    b = TestClient(create_app(ServerConfig(database=pg.url)))
    codes = [(a if i % 2 else b).get("/v1/models", headers=h).status_code for i in range(7)]
    assert codes[:4] == [200] * 4 and codes[4:] == [429] * 3, codes  # 4 per minute in all, not per replica
    assert int(b.get("/v1/models", headers=h).headers["retry-after"]) >= 1
    store.close()


def test_two_serve_processes_kill_restart_and_revoke(pg: Cluster, tmp_path: Path) -> None:
    store = Store(pg.url)
    key, rec = create_key(store, "soak", "clinician", rate_per_minute=0)
    replicas = [Replica(pg.url, tmp_path / f"r{i}.log") for i in range(2)]
    for r in replicas:
        r.start()
    ok_ids: list[str] = []
    errors = {"connect": 0, "non_2xx": 0}
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10) as c:
            n = i
            while not stop.is_set():
                n += 1
                try:
                    r = c.post(replicas[n % 2].url + "/v1/chat/completions", json=BODY)
                except httpx.HTTPError:
                    errors["connect"] += 1
                    time.sleep(0.02)
                    continue
                if r.status_code == 200:
                    ok_ids.append(r.headers["x-request-id"])
                else:
                    errors["non_2xx"] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        replicas[0].kill()  # SIGKILL mid-load
        time.sleep(1.0)
        replicas[0].start()
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(30)
        found = {r["request_id"] for i in range(0, len(ok_ids), 500)
                 for r in store.audit_rows(request_ids=ok_ids[i:i + 500])}
        assert len(ok_ids) > 20 and len(set(ok_ids)) == len(ok_ids)
        assert set(ok_ids) <= found  # 0 audit rows lost for answered requests
        assert errors["connect"] >= 1  # the kill was felt …
        assert errors["non_2xx"] == 0  # … as refused connections, never as errors from the live replica
        # revocation on one replica (here: the database) is refused by both within a second
        h = {"Authorization": f"Bearer {key}"}
        assert all(httpx.get(r.url + "/v1/models", headers=h).status_code == 200 for r in replicas)
        assert store.revoke_key(rec.key_id)
        t0 = time.monotonic()
        assert all(httpx.get(r.url + "/v1/models", headers=h).status_code == 401 for r in replicas)
        assert time.monotonic() - t0 < 1.0
    finally:
        stop.set()
        for r in replicas:
            r.kill()
        store.close()
