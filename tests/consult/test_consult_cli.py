"""``medsage consult CASE_FILE``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from medsage.cli import cli


def test_consult_text_case_prints_trace_and_plan(tmp_path: Path) -> None:
    case = tmp_path / "case.txt"
    case.write_text("A 66-year-old man with chest pain, troponin raised, and a lung mass on CT.", encoding="utf-8")
    res = CliRunner().invoke(cli, ["consult", str(case), "--model", "mock/fixed", "-M", "text=Admit to CCU.",
                                   "--mode", "panel", "--rounds", "0"])
    assert res.exit_code == 0, res.output
    assert "cardiology (specialist)" in res.output and "=== final plan ===" in res.output
    assert "Admit to CCU." in res.output and "Decision support" in res.output


def test_consult_json_mcq_case(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"case": "A 5-year-old boy with fever and cough for 3 days.",
                                "choices": {"A": "Pneumonia", "B": "Asthma"}}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["consult", str(case), "--model", "mock/random", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)  # progress goes to stderr
    assert body["plan"].startswith("The answer is") and body["summary"]["mode"] == "mdt"
    assert any(e["role"] == "specialist" for e in body["trace"]) and body["usage"]["prompt_tokens"] > 0


def test_consult_empty_case_is_a_clear_error(tmp_path: Path) -> None:
    case = tmp_path / "empty.txt"
    case.write_text("  \n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["consult", str(case), "--model", "mock/echo"])
    assert res.exit_code == 2 and "no findings" in res.output


def test_consult_bad_rounds_is_a_clear_error(tmp_path: Path) -> None:
    case = tmp_path / "c.txt"
    case.write_text("A 40-year-old woman with headache.", encoding="utf-8")
    res = CliRunner().invoke(cli, ["consult", str(case), "--model", "mock/echo", "--rounds", "-2"])
    assert res.exit_code == 2 and "rounds" in res.output
