"""KB search and the rag pipeline through the service (BM25-only KB built from fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Env, make_env

pytest.importorskip("medsage.kb")
FIXTURES = Path(__file__).parent / "fixtures" / "kbdocs"


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from medsage.kb import build

    out = tmp_path_factory.mktemp("kb") / "kb"
    build(out, [f"docs:{FIXTURES}"], dense=False)
    return out


@pytest.fixture
def kb_env(tmp_path: Path, kb_dir: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, kb_path=str(kb_dir))


def test_kb_search_returns_hits(kb_env: Env) -> None:
    r = kb_env.client.get("/v1/kb/search", params={"q": "first-line hypertension drugs", "k": 2},
                          headers=kb_env.h())
    assert r.status_code == 200, r.text
    hits = r.json()["data"]
    assert 1 <= len(hits) <= 2
    assert "Thiazide" in hits[0]["text"]


def test_rag_model_listed_and_cites(kb_env: Env) -> None:
    pytest.importorskip("medsage.pipelines.rag")
    ids = [m["id"] for m in kb_env.client.get("/v1/models", headers=kb_env.h()).json()["data"]]
    assert "medsage-rag" in ids
    r = kb_env.client.post("/v1/chat/completions", headers=kb_env.h(), json={
        "model": "medsage-rag",
        "messages": [{"role": "user", "content": "What are first-line drugs for hypertension?"}]})
    assert r.status_code == 200, r.text
    extras = r.json()["medsage"]
    assert isinstance(extras["citations"], list)


def test_rag_not_listed_without_kb(env: Env) -> None:
    ids = [m["id"] for m in env.client.get("/v1/models", headers=env.h()).json()["data"]]
    assert "medsage-rag" not in ids


def test_domain_listed_with_a_kb_and_answers_with_evidence(kb_env: Env) -> None:
    ids = [m["id"] for m in kb_env.client.get("/v1/models", headers=kb_env.h()).json()["data"]]
    assert "medsage-domain" in ids
    r = kb_env.client.post("/v1/chat/completions", headers=kb_env.h(), json={
        "model": "medsage-domain",
        "messages": [{"role": "user", "content": "What are first-line drugs for hypertension?"}]})
    assert r.status_code == 200, r.text


def test_domain_not_listed_without_kb_or_bank(env: Env) -> None:
    ids = [m["id"] for m in env.client.get("/v1/models", headers=env.h()).json()["data"]]
    assert "medsage-domain" not in ids
