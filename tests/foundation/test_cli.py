from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli

from .conftest import FIX


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_bench_json_summary(tmp_path: Path) -> None:
    r = invoke("bench", "exam-sample", "--model", "mock/random", "--limit", "8", "--out", str(tmp_path / "r"), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"task", "n", "accuracy", "unparsed"} <= set(d) and d["n"] == 8


def test_score_stored_responses(tmp_path: Path) -> None:
    resp = tmp_path / "resp.jsonl"
    resp.write_text("\n".join(json.dumps(x) for x in [
        {"id": "0", "response": "答案：B"}, {"id": "1", "response": "The answer is (C)"},
        {"id": "5", "response": "no idea"}, {"id": "999", "response": "A"}]) + "\nnot json\n")
    r = invoke("score", "medqa_us", "--responses", str(resp), "--data", str(FIX / "medqa.jsonl"), "--json")
    d = json.loads(r.stdout)
    assert (d["task"], d["n"], d["accuracy"], d["unparsed"], d["no_response"]) == (
        "medqa_us", 3, pytest.approx(1 / 3, abs=1e-3), 1, 0)
    assert any("999" in p for p in d["problems"]) and any("not JSON" in p for p in d["problems"])


def test_list_and_view(tmp_path: Path) -> None:
    d = json.loads(invoke("list", "--json").stdout)
    names = {t["name"] for t in d["tasks"]}
    assert {"medqa_us", "cnmleqa", "exam-sample"} <= names and "mock" in d["providers"]
    invoke("bench", "exam-sample", "--model", "mock/random", "--limit", "3", "--out", str(tmp_path / "r"))
    r = invoke("view", str(tmp_path / "r"))
    assert "exam-sample" in r.output and r.exit_code == 0


@pytest.mark.parametrize(("args", "msg"), [
    (["bench", "nosuchtask", "--model", "mock/random"], "unknown task"),
    (["bench", "medqa_us", "--model", "mock/random", "--data", "/no/such/file"], "no such file"),
    (["bench", "medqa_us", "--model", "mock/random", "--data", str(FIX)], "is a folder"),
    (["bench", "medqa_us", "--model", "gpt4", "--data", str(FIX / "medqa.jsonl")], "malformed model spec"),
    (["bench", "medqa_us", "--model", "mock/random", "--data", str(FIX / "empty.jsonl")], "empty"),
    (["bench", "medqa_us", "--model", "mock/random", "--data", str(FIX / "not_utf8.jsonl")], "UTF-8"),
    (["bench", "cnmleqa", "--model", "mock/random", "--data", str(FIX / "truncated.json")], "truncated"),
    (["view", "/no/such/run"], "summary.json"),
])
def test_bad_input_is_one_line_on_stderr_no_traceback(args: list[str], msg: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "medsage", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert msg in proc.stderr and "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("medsage: error")]
    assert len(errors) == 1 and msg in errors[0]


def test_contamination_command_lists_overlapping_items(tmp_path: Path) -> None:
    from medsage.tasks.exams.sample import bundled_dir

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = (bundled_dir() / "en.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    (corpus / "leak.jsonl").write_text("\n".join(lines), encoding="utf-8")
    d = json.loads(invoke("data", "contamination", "exam-sample", "--corpus", str(corpus), "--json").stdout)
    flagged = {row["id"] for row in d["flagged"]}
    assert flagged == {json.loads(x)["id"] for x in lines}
