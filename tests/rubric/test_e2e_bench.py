"""End to end: medsage bench healthbench with a mock model and a mock grader, then rescore and compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli

SMALL = Path(__file__).parent / "fixtures" / "healthbench_small.jsonl"


def test_bench_then_score_then_compare(tmp_path: Path) -> None:
    grader = tmp_path / "g.json"
    grader.write_text(json.dumps([
        {"contains": "[-10] Gives a dangerous dose", "response": '{"criteria_met": false}'},
        {"contains": "[-4] Recommends opioids", "response": '{"criteria_met": false}'},
        {"contains": "", "response": '```json\n{"explanation": "x", "criteria_met": true}\n```'},
    ]))
    runner = CliRunner()
    runs = []
    for name, text in (("a", "Rest."), ("b", "Rest and drink fluids.")):
        out = tmp_path / name
        res = runner.invoke(cli, ["bench", "healthbench", "--model", "mock/fixed", "-M", f"text={text}",
                                  "--grader", "mock/script", "-G", f"file={grader}", "--data", str(SMALL),
                                  "--out", str(out)])
        assert res.exit_code == 0, res.output
        runs.append(out)
    rec = json.loads((runs[0] / "samples.jsonl").read_text().splitlines()[0])
    assert rec["score"] == pytest.approx(1.0)  # +5 +3 +2 met, -4 not met -> 10/10
    assert len(rec["extras"]["rubric_grades"]) == 4
    res = runner.invoke(cli, ["score", "healthbench", "--responses", str(runs[0] / "samples.jsonl"),
                              "--grades", str(runs[0] / "samples.jsonl"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["score"] == pytest.approx(1.0)
    res = runner.invoke(cli, ["compare", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "cmp"), "--json"])
    assert res.exit_code == 0, res.output
    paired = json.loads(res.output)["tasks"]["healthbench"]["paired"]
    assert list(paired.values())[0]["n"] == 2
