"""The --model rerank (mock models only), the CLI verb and the HTTP endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.models.base import get_model
from medsage.route.department import DepartmentRouter, sample_departments
from medsage.route.dept_rerank import rerank

FIXTURES = Path(__file__).parent / "fixtures"
COUGH = "孩子3岁，发烧两天了，咳嗽有痰"


async def test_rerank_uses_the_models_pick_among_candidates(hash_router: DepartmentRouter) -> None:
    base = hash_router.route(COUGH, sample_departments())
    pick = base.candidates[1].name
    model = get_model("mock/fixed", {"text": f"建议挂{pick}"})
    out = await rerank(base, COUGH, model)
    assert out.source == "offline+model" and out.names == [pick]


async def test_rerank_ignores_invented_names_and_errors(hash_router: DepartmentRouter) -> None:
    base = hash_router.route(COUGH, sample_departments())
    for model in (get_model("mock/fixed", {"text": "去火星科"}), get_model("mock/error", {})):
        out = await rerank(base, COUGH, model)
        assert out.names == base.names and out.source == "offline (model unusable)"


async def test_rerank_keeps_the_red_flag_first(hash_router: DepartmentRouter) -> None:
    text = "胸口像压了块大石头一样疼，出冷汗"
    base = hash_router.route(text, sample_departments())
    model = get_model("mock/fixed", {"text": "心血管内科"})
    out = await rerank(base, text, model)
    assert out.names[0] == "急诊科" and "心血管内科" in out.names


def test_cli_json_shape_and_verbatim_names(use_hash_router: DepartmentRouter) -> None:
    res = CliRunner().invoke(cli, ["route", "department", COUGH, "--departments",
                                    str(FIXTURES / "hospital_list.txt"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["medical"] is True and out["departments"][0]["name"] == "小儿呼吸内科"
    listed = [ln for ln in (FIXTURES / "hospital_list.txt").read_text(encoding="utf-8").splitlines()
              if ln and not ln.startswith("#")]
    assert all(d["name"] in listed for d in out["departments"])


def test_cli_with_mock_model(use_hash_router: DepartmentRouter) -> None:
    res = CliRunner().invoke(cli, ["route", "department", COUGH, "--departments", "sample",
                                    "--model", "mock/fixed", "-M", "text=小儿内科", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["departments"][0]["name"] == "小儿内科"


@pytest.mark.parametrize(("args", "content", "message"), [
    ([""], None, "empty complaint"),
    (["眼睛红", "--departments", "LIST"], b"", "empty"),
    (["眼睛红", "--departments", "LIST"], b"\x00\x01binary", "binary"),
    (["眼睛红", "--departments", "LIST"], "眼科\n眼科\n".encode(), "duplicate"),
])
def test_cli_bad_input_is_one_line_exit_2(use_hash_router: DepartmentRouter, tmp_path: Path,
                                          args: list[str], content: bytes | None, message: str) -> None:
    p = tmp_path / "list.txt"
    if content is not None:
        p.write_bytes(content)
    argv = ["route", "department", *[str(p) if a == "LIST" else a for a in args]]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2 and message in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1


fastapi = pytest.importorskip("fastapi")


@pytest.fixture
def client(tmp_path: Path, use_hash_router: DepartmentRouter):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from medsage.server import create_app
    from medsage.server.auth import create_key
    from medsage.server.config import ServerConfig
    from medsage.server.store import Store

    db = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(db)
    key, _ = create_key(store, "dr test", "clinician")
    app = create_app(ServerConfig(database=db, base_models=("mock/fixed",)), store)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def test_endpoint_routes_with_the_hospitals_list(client) -> None:  # type: ignore[no-untyped-def]
    names = ["小儿呼吸内科", "小儿内科", "呼吸内科", "急诊科", "眼科"]
    r = client.post("/v1/route/department", json={"text": COUGH, "departments": names})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["departments"][0]["name"] == "小儿呼吸内科" and body["medical"] is True
    assert all(d["name"] in names for d in body["departments"]) and "urgency" in body


def test_endpoint_with_model_and_bad_input(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/route/department", json={"text": COUGH, "model": "mock/fixed"})
    assert r.status_code == 200 and r.json()["source"].startswith("offline")
    assert client.post("/v1/route/department", json={"text": "  "}).status_code == 400
    r = client.post("/v1/route/department", json={"text": "眼睛红", "departments": ["眼科", "眼科"]})
    assert r.status_code == 400 and "duplicate" in r.json()["error"]["message"]
    assert client.post("/v1/route/department", json={"text": "眼睛红", "departments": []}).status_code == 400
    r = client.post("/v1/route/department", json={"text": COUGH, "model": "nope/x"})
    assert r.status_code == 404
