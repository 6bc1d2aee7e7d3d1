"""The OpenAI-compatible API, auth, limits, audit and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from medsage.server.streaming import chunk_text

from .conftest import Env, make_env

CHAT = "/v1/chat/completions"


def ask(text: str, model: str = "mock/echo", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def test_models_lists_base_models(env: Env) -> None:
    r = env.client.get("/v1/models", headers=env.h())
    assert r.status_code == 200
    ids = [m["id"] for m in r.json()["data"]]
    assert ids[:3] == ["mock/echo", "mock/fixed", "mock/error"]
    assert all(m["object"] == "model" for m in r.json()["data"])


def test_chat_non_streaming_returns_model_text_and_extras(env: Env) -> None:
    r = env.client.post(CHAT, json=ask("chest pain since morning"), headers=env.h())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "chest pain since morning"
    assert body["usage"]["prompt_tokens"] == 4
    assert body["medsage"]["deid_applied"] is False
    assert "Decision support" in body["medsage"]["disclaimer"]


def test_chat_streaming_reassembles_to_full_text(env: Env) -> None:
    text = "Aspirin 100 mg daily 阿司匹林每日一次口服用于二级预防 after the stent."
    r = env.client.post(CHAT, json=ask(text, stream=True, stream_options={"include_usage": True}),
                        headers=env.h())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == text
    assert len(chunks) > 4  # really chunked
    final = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop"]
    assert final and "disclaimer" in final[0]["medsage"]
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_chunk_text_round_trips() -> None:
    for text in ["", "one", "a b c d e f g", "中文没有空格的长句子需要按字符切分", "x  y\n\nz "]:
        assert "".join(chunk_text(text)) == text


def test_model_failure_is_502(env: Env) -> None:
    r = env.client.post(CHAT, json=ask("x", model="mock/error"), headers=env.h())
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "model_error"
    r = env.client.post(CHAT, json=ask("x", model="mock/error", stream=True), headers=env.h())
    assert r.status_code == 502


def test_unknown_model_is_404(env: Env) -> None:
    for model in ["gpt-nope", "medsage-unknownpipe", "mock/random"]:
        r = env.client.post(CHAT, json=ask("x", model=model), headers=env.h())
        assert r.status_code == 404, model
        assert r.json()["error"]["code"] == "model_not_found"


def test_bad_input_gives_json_4xx(env: Env) -> None:
    c, h = env.client, env.h()
    cases = [
        (b"{not json", 400, "invalid_json"),
        (json.dumps({"model": "mock/echo", "messages": "hi"}).encode(), 422, "invalid_type"),
        (json.dumps({"model": 5, "messages": [{"role": "user", "content": "x"}]}).encode(), 422, None),
        (json.dumps({"model": "mock/echo", "messages": []}).encode(), 422, None),
        (json.dumps({"model": "mock/echo", "messages": [{"role": "bad", "content": "x"}]}).encode(), 422, None),
        (json.dumps(ask("x", temperature="hot")).encode(), 422, None),
        (json.dumps(ask("x", n=3)).encode(), 422, None),
        (json.dumps({"model": "mock/echo", "messages": [{"role": "system", "content": "x"}]}).encode(), 400, "no_user_message"),
    ]
    before = env.store.count_audit()
    for raw, status, code in cases:
        r = c.post(CHAT, content=raw, headers={**h, "content-type": "application/json"})
        assert r.status_code == status, (raw, r.text)
        err = r.json()["error"]
        assert err["message"] and err["type"]
        if code:
            assert err["code"] == code
    # every bad request is still audited, and nothing else changed
    assert env.store.count_audit() == before + len(cases)


def test_oversized_body_is_413(tmp_path: Path) -> None:
    for e in make_env(tmp_path, max_body_bytes=2000):
        big = ask("word " * 1000)
        r = e.client.post(CHAT, json=big, headers=e.h())
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "body_too_large"
        # chunked upload without content-length is cut off too
        payload = json.dumps(big).encode()
        r = e.client.post(CHAT, content=iter([payload]), headers={**e.h(), "content-type": "application/json"})
        assert r.status_code == 413
        rows = e.store.audit_rows(5)
        assert rows[0]["status"] == 413


def test_auth_missing_invalid_and_revoked(env: Env) -> None:
    c = env.client
    r = c.post(CHAT, json=ask("x"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    for bad in ["nope", "msk_000000000000_wrong", env.clinician[:-2] + "xx"]:
        r = c.post(CHAT, json=ask("x"), headers=env.h(bad))
        assert r.status_code == 401, bad
    assert c.post(CHAT, json=ask("x"), headers=env.h()).status_code == 200
    assert env.store.revoke_key(env.clinician_id)
    r = c.post(CHAT, json=ask("x"), headers=env.h())
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_keys_are_stored_hashed(env: Env) -> None:
    rec = env.store.get_key(env.clinician_id)
    assert rec is not None
    assert env.clinician not in (rec.hash, rec.salt)
    raw = Path(env.db_url.removeprefix("sqlite:///")).read_bytes()
    assert env.clinician.encode() not in raw
    assert env.clinician.split("_", 2)[2].encode() not in raw


def test_roles_admin_audit_endpoint(env: Env) -> None:
    env.client.post(CHAT, json=ask("secret patient text 12345"), headers=env.h())
    r = env.client.get("/v1/admin/audit", headers=env.h())
    assert r.status_code == 403
    r = env.client.get("/v1/admin/audit?limit=50", headers=env.h(env.admin))
    assert r.status_code == 200
    rows = r.json()["data"]
    chat = [row for row in rows if row["endpoint"] == CHAT and row["status"] == 200]
    assert chat and chat[0]["key_id"] == env.clinician_id and chat[0]["model"] == "mock/echo"
    assert chat[0]["role"] == "clinician" and chat[0]["latency_ms"] > 0
    assert len(chat[0]["input_hash"]) == 64
    assert "secret patient text" not in json.dumps(rows)  # raw text is not kept by default


def test_audit_raw_only_when_configured(tmp_path: Path) -> None:
    for e in make_env(tmp_path, store_raw=True):
        e.client.post(CHAT, json=ask("keep this text"), headers=e.h())
        assert "keep this text" in (e.store.audit_rows(1)[0]["raw"] or "")


def test_request_id_matches_audit_row(env: Env) -> None:
    r = env.client.post(CHAT, json=ask("x", stream=True), headers=env.h())
    rid = r.headers["x-request-id"]
    rows = env.store.audit_rows(request_ids=[rid])
    assert len(rows) == 1 and rows[0]["status"] == 200 and rows[0]["model"] == "mock/echo"


def test_rate_limit_per_key(tmp_path: Path) -> None:
    for e in make_env(tmp_path, rate_per_minute=3):
        codes = [e.client.get("/v1/models", headers=e.h()).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = e.client.get("/v1/models", headers=e.h())
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["type"] == "rate_limit_error"
        # another key has its own bucket
        assert e.client.get("/v1/models", headers=e.h(e.admin)).status_code == 200


def test_auth_off_is_anonymous(tmp_path: Path) -> None:
    for e in make_env(tmp_path, auth=False):
        assert e.client.post(CHAT, json=ask("x")).status_code == 200
        assert e.store.audit_rows(1)[0]["key_id"] == "anonymous"


def test_healthz_and_openapi(env: Env) -> None:
    assert env.client.get("/healthz").json()["status"] == "ok"
    spec = env.client.get("/openapi.json").json()
    for path in [CHAT, "/v1/models", "/v1/notes", "/v1/safety/check", "/v1/kb/search", "/v1/deid"]:
        assert path in spec["paths"], path
    assert env.client.get("/docs").status_code == 200


def test_cors_off_by_default(env: Env, tmp_path: Path) -> None:
    h = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    r = env.client.options(CHAT, headers=h)
    assert "access-control-allow-origin" not in r.headers
    for e in make_env(tmp_path / "cors", cors_origins=("http://ehr.local",)):
        r = e.client.options(CHAT, headers={**h, "Origin": "http://ehr.local"})
        assert r.headers.get("access-control-allow-origin") == "http://ehr.local"


def test_static_workspace_and_traversal(env: Env) -> None:
    r = env.client.get("/ui/")
    assert r.status_code == 200 and "<html" in r.text.lower()
    assert env.client.get("/static/app.js").status_code == 200
    for path in ["/static/../config.py", "/static/%2e%2e/config.py", "/static/..%2fconfig.py"]:
        r = env.client.get(path)
        assert r.status_code == 404, path
        assert "ServerConfig" not in r.text


def test_replicas_share_keys_and_audit(tmp_path: Path) -> None:
    """Two app instances on one database: keys and revocations are seen by both."""
    from fastapi.testclient import TestClient

    from medsage.server import create_app
    from medsage.server.auth import create_key
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = TestClient(create_app(ServerConfig(database=url)))
    b = TestClient(create_app(ServerConfig(database=url)))
    admin_store = Store(url)
    key, rec = create_key(admin_store, "nurse", "clinician")
    h = {"Authorization": f"Bearer {key}"}
    assert a.get("/v1/models", headers=h).status_code == 200
    assert b.get("/v1/models", headers=h).status_code == 200
    admin_store.revoke_key(rec.key_id)
    assert a.get("/v1/models", headers=h).status_code == 401
    assert b.get("/v1/models", headers=h).status_code == 401
    assert admin_store.count_audit() == 4
