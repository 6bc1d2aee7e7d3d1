"""The key/audit store on a real PostgreSQL.

Uses ``$MEDSAGE_TEST_POSTGRES_URL`` when set; otherwise starts a throwaway
cluster from Debian's ``postgresql`` package (unix socket only, no TCP) and
removes it afterwards. Skips when neither psycopg nor the server is available.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from fastapi.testclient import TestClient  # noqa: E402

from medsage.server import create_app  # noqa: E402
from medsage.server.auth import create_key  # noqa: E402
from medsage.server.config import ServerConfig  # noqa: E402
from medsage.server.store import Store  # noqa: E402


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if os.environ.get("MEDSAGE_TEST_POSTGRES_URL"):
        yield os.environ["MEDSAGE_TEST_POSTGRES_URL"]
        return
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed")
    root = Path(tempfile.mkdtemp(prefix="medsage-pg-"))  # outside pytest's 0700 tree
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(pg_ctl, "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"), "-o",
            f"-k {sock} -c listen_addresses='' -p 55432 -c fsync=off", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a throwaway PostgreSQL: {exc}")
    try:
        yield f"postgresql://postgres@/postgres?host={sock}&port=55432"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_store_keys_audit_and_replicas(pg_url: str) -> None:
    store = Store(pg_url)
    assert store.kind == "postgres"
    key, rec = create_key(store, "pg clinician", "clinician")
    h = {"Authorization": f"Bearer {key}"}
    a = TestClient(create_app(ServerConfig(database=pg_url)))
    b = TestClient(create_app(ServerConfig(database=pg_url)))
    before = store.count_audit()
    body = {"model": "mock/echo", "messages": [{"role": "user", "content": "pg test"}]}
    ra = a.post("/v1/chat/completions", json=body, headers=h)
    rb = b.post("/v1/chat/completions", json={**body, "stream": True}, headers=h)
    assert ra.status_code == rb.status_code == 200
    rows = store.audit_rows(request_ids=[ra.headers["x-request-id"], rb.headers["x-request-id"]])
    assert len(rows) == 2 and {r["key_id"] for r in rows} == {rec.key_id}
    assert store.revoke_key(rec.key_id)
    assert a.get("/v1/models", headers=h).status_code == 401
    assert b.get("/v1/models", headers=h).status_code == 401
    assert store.count_audit() == before + 4
    store.close()
