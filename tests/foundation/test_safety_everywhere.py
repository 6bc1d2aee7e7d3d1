"""Issue #23: the same safety findings and actions from every entry point as from `medsage safety check`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from medsage.cli import cli

TEXTS = {
    "stemi_en": "58-year-old man with crushing substernal chest pain radiating to the left arm for 40 minutes, "
                "sweating. ECG shows ST elevation in II, III and aVF. What should we do?",
    "stemi_zh": "患者男，62岁，突发胸痛伴大汗1小时，心电图示ST段抬高。下一步怎么处理？",
    "drug_pair": "He takes simvastatin 40 mg at night and was started on clarithromycin 500 mg twice daily. "
                 "Is that a problem?",
    "cough": "I have had a mild dry cough for three days, no fever. What can I take?",
}
KB_FIXTURES = Path(__file__).parents[1] / "kb" / "fixtures"


def key(block: dict[str, Any] | None) -> tuple[Any, ...]:
    """What must agree: triage level, strongest action and each finding's type, severity and action."""
    assert block is not None
    return (block.get("urgency"), block.get("action"),
            sorted((f["type"], f["severity"], f["action"]) for f in block["findings"]))


def cli_json(*args: str, stdin: str | None = None) -> tuple[int, Any]:
    r = CliRunner().invoke(cli, list(args), input=stdin)
    return r.exit_code, json.loads(r.stdout)


@pytest.fixture(scope="module")
def expected() -> dict[str, tuple[Any, ...]]:
    out = {}
    for name, text in TEXTS.items():
        code, report = cli_json("safety", "check", text, "--json")
        assert code == (1 if report["blocked"] else 0)
        findings = report["findings"]
        action = max((f["action"] for f in findings), key=["annotate", "warn", "block"].index, default=None)
        out[name] = key({"urgency": report["urgency"], "action": action, "findings": findings})
    assert out["stemi_en"][0] == out["stemi_zh"][0] == "emergency"
    assert out["drug_pair"][1] in ("block", "warn") and out["cough"][0] != "emergency"
    return out


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kb") / "kb"
    r = CliRunner().invoke(cli, ["kb", "build", "--out", str(out), "--no-dense",
                                 f"medquad:{KB_FIXTURES / 'medquad'}", f"docs:{KB_FIXTURES / 'docs'}"])
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("name", list(TEXTS))
def test_consult(name: str, expected: dict[str, Any], tmp_path: Path) -> None:
    case = tmp_path / "case.txt"
    case.write_text(TEXTS[name], encoding="utf-8")
    _, body = cli_json("consult", str(case), "--model", "mock/fixed", "-M", "text=Rest and fluids.",
                       "--mode", "panel", "--json")
    assert key(body["safety"]) == expected[name]
    if expected[name][0] == "emergency":
        assert body["safety"]["guidance"] and body["plan"].startswith(body["safety"]["guidance"])


@pytest.mark.parametrize("name", list(TEXTS))
def test_note(name: str, expected: dict[str, Any]) -> None:
    _, body = cli_json("note", "-", "--strategy", "extractive", "--no-embed", "--json", stdin=TEXTS[name])
    assert key(body["safety"]["input"]) == expected[name]
    r = CliRunner().invoke(cli, ["note", "-", "--strategy", "extractive", "--no-embed"], input=TEXTS[name])
    if expected[name][0] == "emergency":
        assert body["safety"]["input"]["guidance"] in r.stdout


@pytest.mark.parametrize("name", list(TEXTS))
def test_ask_and_rag(name: str, expected: dict[str, Any], kb: Path) -> None:
    _, body = cli_json("ask", TEXTS[name], "--kb", str(kb), "--model", "mock/fixed", "--mode", "bm25", "--json")
    assert key(body["safety"]) == expected[name]
    if expected[name][0] == "emergency":
        assert body["answer"].startswith(body["safety"]["guidance"])


@pytest.mark.parametrize("name", list(TEXTS))
def test_domain_and_route_pipelines(name: str, expected: dict[str, Any], kb: Path) -> None:
    from medsage.models import get_model
    from medsage.pipeline import get_pipeline
    from medsage.types import GenerateConfig, Message

    for pipe, opts in (("domain", {"kb": str(kb)}), ("rag", {"kb": str(kb), "mode": "bm25"}), ("route", {})):
        p = get_pipeline(pipe, get_model("mock/fixed", {"text": "Rest."}), opts)
        out = asyncio.run(p.generate([Message("user", TEXTS[name])], GenerateConfig(max_tokens=32)))
        assert key(out.extras["input_safety"]) == expected[name], pipe


@pytest.mark.parametrize("name", list(TEXTS))
@pytest.mark.parametrize("model", ["mock/echo", "medsage-consult", "medsage-safety"])
def test_serve(name: str, model: str, expected: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from medsage.server import create_app
    from medsage.server.config import ServerConfig

    config = ServerConfig(database=f"sqlite:///{tmp_path / 's.db'}", auth=False, base_models=("mock/echo",),
                          default_model="mock/echo", pipelines=("consult", "safety"))
    with TestClient(create_app(config)) as client:
        r = client.post("/v1/chat/completions", json={"model": model,
                                                      "messages": [{"role": "user", "content": TEXTS[name]}]})
    assert r.status_code == 200, r.text
    carried = r.json()["medsage"]["input_safety"]
    assert key(carried) == expected[name]
    actions = {(f["type"], f["message"]): f["action"] for f in r.json()["medsage"]["findings"]}
    for f in carried["findings"]:  # the merged list keeps the CLI's action for every input finding
        assert actions[(f["type"], f["message"])] == f["action"]
