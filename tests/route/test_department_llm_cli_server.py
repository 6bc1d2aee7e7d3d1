"""The --model rerank (mock models only), the CLI verb and the HTTP endpoint."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.models.base import get_model
from medsage.route.department import (
    DepartmentChoice,
    DepartmentResult,
    DepartmentRouter,
    sample_departments,
)
from medsage.route.dept_rerank import STRATEGIES, USED, combine, prompt_for, rerank
from medsage.route.patient import PatientProfile

FIXTURES = Path(__file__).parent / "fixtures"
COUGH = "孩子3岁，发烧两天了，咳嗽有痰"


async def test_rerank_uses_the_models_pick_among_candidates(hash_router: DepartmentRouter) -> None:
    base = hash_router.route(COUGH, sample_departments())
    pick = base.candidates[1].name
    model = get_model("mock/fixed", {"text": f"建议挂{pick}"})
    out = await rerank(base, COUGH, model, strategy="replace")
    assert out.source == "offline+model" and out.names == [pick]
    default = await rerank(base, COUGH, model)  # pick1-confirm: chosen on the dev split
    assert default.source == "offline+model" and pick in default.names


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


def _result(offline: Sequence[tuple[str, float]], extra: Sequence[tuple[str, float]] = (),
            red_flag: bool = False, medical: bool = True) -> DepartmentResult:
    """A hand-built offline result: ``offline`` is the set, candidates are offline + ``extra``."""
    deps = [DepartmentChoice(n, s, "r", red_flag and i == 0) for i, (n, s) in enumerate(offline)]
    cands = deps + [DepartmentChoice(n, s, "r") for n, s in extra]
    return DepartmentResult(deps if medical else [], None, medical, "zh", PatientProfile(None, None, None, False),
                            "sample", [], cands if medical else [])


THREE = _result([("呼吸内科", 0.80), ("小儿内科", 0.75), ("感染科", 0.60)], [("眼科", 0.30), ("皮肤科", 0.2)])


@pytest.mark.parametrize(("strategy", "answer", "expected"), [
    ("replace", "小儿内科|眼科", ["小儿内科", "眼科"]),
    ("replace", "感染科", ["感染科"]),
    # confirm: the pick plus the offline departments scoring >= 0.9 x top (0.72)
    ("pick1-confirm", "感染科", ["感染科", "呼吸内科", "小儿内科"]),
    ("pick1-confirm", "小儿内科", ["小儿内科", "呼吸内科"]),
    ("pick1-confirm", "呼吸内科", ["呼吸内科", "小儿内科"]),
    ("pick1-confirm", "眼科", ["眼科", "呼吸内科"]),  # a candidate outside the set: pick, offline top-1
    ("pick1-confirm", "眼科|呼吸内科", ["眼科", "呼吸内科"]),  # only the first name counts
    ("pick1-add", "小儿内科", ["呼吸内科", "小儿内科", "感染科"]),
    ("pick1-add", "皮肤科", ["呼吸内科", "小儿内科", "感染科", "皮肤科"]),
    ("pick1-only", "建议挂感染科", ["感染科"]),
])
def test_combine_set_logic(strategy: str, answer: str, expected: list[str]) -> None:
    out = combine(THREE, answer, strategy)
    assert out.names == expected and out.source == USED
    assert all(out.departments[0].score >= d.score for d in out.departments[1:])


def test_combine_confirm_keep_ratio_and_single_offline() -> None:
    assert combine(THREE, "感染科", "pick1-confirm", keep_ratio=0.95).names == ["感染科", "呼吸内科"]
    assert combine(THREE, "感染科", "pick1-confirm", keep_ratio=0.5).names == ["感染科", "呼吸内科", "小儿内科"]
    one = _result([("眼科", 0.9)], [("耳鼻喉科", 0.5)])
    assert combine(one, "眼科", "pick1-confirm").names == ["眼科"]
    assert combine(one, "耳鼻喉科", "pick1-confirm").names == ["耳鼻喉科", "眼科"]
    assert combine(one, "眼科", "pick1-add").names == ["眼科"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_combine_unusable_answer_keeps_offline(strategy: str) -> None:
    for answer in (None, "", "去火星科", "I don't know"):
        out = combine(THREE, answer, strategy)
        assert out.names == THREE.names and out.source == "offline (model unusable)"
    nonmed = _result([], medical=False)
    assert combine(nonmed, "呼吸内科", strategy) is nonmed and prompt_for(nonmed, "你好", strategy) is None


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_combine_red_flag_stays_first(strategy: str) -> None:
    flagged = _result([("急诊科", 0.95), ("心血管内科", 0.7)], [("呼吸内科", 0.5), ("消化内科", 0.3)], red_flag=True)
    for answer in ("呼吸内科", "心血管内科", "消化内科|急诊科", "急诊科"):
        out = combine(flagged, answer, strategy)
        assert out.names[0] == "急诊科" and out.departments[0].red_flag, (strategy, answer)
        assert len(set(out.names)) == len(out.names)
    assert combine(flagged, "消化内科", strategy).names[1:] == {
        "replace": ["消化内科"], "pick1-confirm": ["消化内科"], "pick1-only": ["消化内科"],
        "pick1-add": ["心血管内科", "消化内科"]}[strategy]
    # confirming the emergency itself keeps the specialty the router paired with it
    assert combine(flagged, "急诊科", strategy).names == {
        "replace": ["急诊科"], "pick1-confirm": ["急诊科", "心血管内科"], "pick1-only": ["急诊科"],
        "pick1-add": ["急诊科", "心血管内科"]}[strategy]
    assert combine(flagged, "心血管内科", strategy).names == {
        "replace": ["急诊科", "心血管内科"], "pick1-confirm": ["急诊科", "心血管内科"],
        "pick1-only": ["急诊科", "心血管内科"], "pick1-add": ["急诊科", "心血管内科"]}[strategy]


def test_pick1_prompt_is_identical_across_pick1_strategies(hash_router: DepartmentRouter) -> None:
    for text in (COUGH, "My eye has been red and itchy for three days"):
        base = hash_router.route(text, sample_departments())
        prompts = {s: prompt_for(base, text, s) for s in STRATEGIES}
        pick1 = {prompts[s] for s in STRATEGIES if s.startswith("pick1-")}
        assert len(pick1) == 1 and None not in pick1 and prompts["replace"] not in pick1
        assert all(c.name in next(iter(pick1)) for c in base.candidates[:6])  # type: ignore[operator]
    with pytest.raises(ValueError, match="unknown rerank strategy"):
        prompt_for(base, COUGH, "pick2")


async def test_rerank_strategies_call_the_model_once_each(hash_router: DepartmentRouter) -> None:
    base = hash_router.route(COUGH, sample_departments())
    pick = base.candidates[1].name
    for strategy in STRATEGIES:
        model = get_model("mock/fixed", {"text": pick})
        out = await rerank(base, COUGH, model, strategy=strategy)
        assert model.calls == 1 and out.source == USED and pick in out.names  # type: ignore[attr-defined]
        assert out.names == combine(base, pick, strategy).names
    echo = get_model("mock/echo", {})  # echoes the prompt: the first candidate listed is the one "picked"
    out = await rerank(base, COUGH, echo, strategy="pick1-only")
    assert out.names == [base.candidates[0].name]

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
