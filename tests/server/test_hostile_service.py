"""Hostile input against the service (issue #17): disguised text, login bursts, leaks, headers."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .conftest import Env, make_env, serve_in_thread

pytest.importorskip("fastapi")

ZWSP = "\u200b"
CHAT = "/v1/chat/completions"


def test_safety_check_over_http_sees_disguised_name(env: Env) -> None:
    text = f"war{ZWSP}farin 5 mg daily, ibuprofen 400 mg tid"
    r = env.client.post("/v1/safety/check", json={"text": text}, headers=env.h())
    assert r.status_code == 200
    types = {f["type"] for f in r.json()["findings"]}
    assert {"interaction", "evasion"} <= types


def test_chat_deid_does_not_forward_disguised_identifiers(env: Env) -> None:
    msg = f"患者张{ZWSP}伟，男，45岁，手机１３８１２３４５６７８，邮箱ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"
    r = env.client.post(CHAT, json={"model": "mock/echo", "deid": True,
                                    "messages": [{"role": "user", "content": msg}]}, headers=env.h())
    assert r.status_code == 200
    echoed = r.json()["choices"][0]["message"]["content"]
    for secret in ("伟", "１３８１２３４５６７８", "ｊｏｈｎ"):
        assert secret not in echoed, echoed


def test_wrong_content_type_is_415(env: Env) -> None:
    r = env.client.post(CHAT, content=b"model=x", headers={**env.h(), "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_security_headers_and_offline_docs(env: Env) -> None:
    r = env.client.get("/ui/")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    docs = env.client.get("/docs")
    assert docs.status_code == 200 and "/v1/chat/completions" in docs.text
    assert "cdn" not in docs.text.lower() and "<script" not in docs.text.lower()


def test_workspace_keeps_the_key_out_of_local_storage() -> None:
    from medsage.server.routes.system import static_dir

    js = (static_dir() / "app.js").read_text(encoding="utf-8")
    assert 'localStorage.setItem("medsage.key"' not in js and 'sessionStorage.setItem("medsage.key"' in js


def test_kb_search_hides_server_paths(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    from medsage.kb.build import build

    kb = tmp_path / "kb"
    fixtures = Path(__file__).parent / "fixtures" / "kbdocs"
    build(kb, [f"docs:{fixtures}"], dense=False)
    for e in make_env(tmp_path, base_models=("mock/echo",), kb_path=str(kb)):
        r = e.client.get("/v1/kb/search", params={"q": "asthma inhaler"}, headers=e.h())
        assert r.status_code == 200 and r.json()["data"]
        assert str(fixtures) not in r.text and str(tmp_path) not in r.text


def test_audit_raw_is_withheld_when_deid_requested(tmp_path: Path) -> None:
    for e in make_env(tmp_path, base_models=("mock/echo",), store_raw=True):
        secret = "Patient: John Smith, phone 555-123-4567"
        r = e.client.post(CHAT, json={"model": "mock/echo", "deid": True,
                                      "messages": [{"role": "user", "content": secret}]}, headers=e.h())
        assert r.status_code == 200
        row = e.store.audit_rows(1)[0]
        assert row["raw"] is None
        e.client.post(CHAT, json={"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]},
                      headers=e.h())
        assert e.store.audit_rows(1)[0]["raw"]  # without deid, store_raw still works


def test_input_hash_is_keyed(env: Env) -> None:
    import hashlib
    import json

    body = json.dumps({"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]}).encode()
    env.client.post(CHAT, content=body, headers={**env.h(), "Content-Type": "application/json"})
    assert env.store.audit_rows(1)[0]["input_hash"] != hashlib.sha256(body).hexdigest()


def test_database_and_folder_are_private(tmp_path: Path) -> None:
    from medsage.server.store import Store

    path = tmp_path / "home" / ".medsage" / "server.db"
    Store(f"sqlite:///{path}").close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_keys_can_expire(tmp_path: Path) -> None:
    from medsage.server.auth import Authenticator, create_key
    from medsage.server.store import Store

    store = Store(f"sqlite:///{tmp_path / 'k.db'}")
    key, rec = create_key(store, "short", expires_days=1.0)
    auth = Authenticator(store)
    assert auth.verify(key) is not None
    with store._cursor() as cur:  # noqa: SLF001 - age the key
        cur.execute("UPDATE api_keys SET expires = ? WHERE key_id = ?", (time.time() - 1, rec.key_id))
    assert auth.verify(key) is None
    store.close()


def test_failed_logins_are_throttled_without_hashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.server import auth as auth_mod
    from medsage.server.store import Store

    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    key, rec = auth_mod.create_key(store, "victim")
    hashes: list[int] = []
    real = auth_mod.hash_key
    monkeypatch.setattr(auth_mod, "hash_key", lambda k, s: (hashes.append(1), real(k, s))[1])
    a = auth_mod.Authenticator(store)
    assert a.verify(key, "10.0.0.1") is not None
    throttled = 0
    for i in range(50):
        try:
            assert a.verify(f"msk_{rec.key_id}_wrong{i}", "10.0.0.2") is None
        except auth_mod.Throttled:
            throttled += 1
    assert len(hashes) <= 1 + 5 and throttled >= 40
    assert a.verify(key, "10.0.0.1") is not None  # the owner is not locked out
    store.close()


@pytest.fixture
def live_env(tmp_path: Path) -> Iterator[tuple[str, Any, str, str]]:
    from medsage.server import create_app
    from medsage.server.auth import create_key
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = Store(db_url)
    key, rec = create_key(store, "dr burst")
    app = create_app(ServerConfig(database=db_url, base_models=("mock/echo",)), store)
    for url in serve_in_thread(app):
        yield url, store, key, rec.key_id


def test_login_burst_leaves_valid_requests_fast(live_env: tuple[str, Any, str, str]) -> None:
    httpx = pytest.importorskip("httpx")
    url, _store, key, key_id = live_env
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/v1/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 200

        def wrong(i: int) -> int:
            with httpx.Client(base_url=url, timeout=30) as w:
                return w.get("/v1/whoami", headers={"Authorization": f"Bearer msk_{key_id}_bad{i}"}).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            burst = pool.map(wrong, range(100))
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert c.get("/v1/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 200
                times.append(time.perf_counter() - t0)
            codes = list(burst)
    assert set(codes) <= {401, 429} and 429 in codes
    assert sorted(times)[-1] < 2.0, times  # generous on a loaded CI core; benchmarks/safety has the p95


def test_stream_stops_when_the_client_hangs_up(tmp_path: Path) -> None:
    """Without a checkpoint per piece the whole reply was written into the dead socket."""
    import anyio

    from medsage.server import create_app
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    db_url = f"sqlite:///{tmp_path / 's.db'}"
    app = create_app(ServerConfig(database=db_url, base_models=("mock/echo",), auth=False), Store(db_url))
    long_text = " ".join(f"word{i}" for i in range(3000))
    body = (b'{"model": "mock/echo", "stream": true, "messages": [{"role": "user", "content": "'
            + long_text.encode() + b'"}]}')
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        first_body = anyio.Event()
        calls = 0

        async def receive() -> dict[str, Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            await first_body.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                first_body.set()

        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": CHAT, "raw_path": CHAT.encode(),
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("t", 80),
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        with anyio.fail_after(30):
            await app(scope, receive, send)

    anyio.run(main)
    pieces = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert 0 < len(pieces) < 50, len(pieces)
