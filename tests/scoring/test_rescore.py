"""The published-predictions task, ``medsage score`` honesty, --extract and compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.scoring.conventions import (
    get_convention,
    mirage_locate_answer,
    opencompass_first_option,
)
from medsage.tasks.exams.published import TASK, split_question

FIX = Path(__file__).parent / "fixtures" / "published"
ITEMS = str(FIX / "items.jsonl")
CH = {"A": "HBV", "B": "HAV", "C": "HCV", "D": "HDV", "E": "HEV"}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medsage", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)


def test_items_parse_into_stem_options_and_answer() -> None:
    loaded = TASK.load(ITEMS)
    s = loaded.samples[1]
    assert (s.id, s.target, s.choices["C"]) == ("1", "C", "HCV")
    assert "回答上面" not in s.question and s.metadata["instruction"].startswith("回答上面")
    stem, choices, tail = split_question("题干\nA：甲\nB：乙\n说明")
    assert (stem, choices, tail) == ("题干", {"A": "甲", "B": "乙"}, "说明")


def test_score_reads_prediction_files_and_reports_unparsed_reasons() -> None:
    d = json.loads(invoke("score", "medqa_mainland_published", "-d", ITEMS, "-r", str(FIX / "pred_domain.jsonl"),
                          "--json").stdout)
    assert (d["n"], d["accuracy"], d["unparsed"], d["no_response"]) == (4, 0.25, 2, 0)
    assert d["unparsed_reasons"] == {"hedge": 1, "refusal": 1}
    g = json.loads(invoke("score", "medqa_mainland_published", "-d", ITEMS, "-r", str(FIX / "pred_general.jsonl"),
                          "--json").stdout)
    assert (g["accuracy"], g["unparsed"]) == (1.0, 0)


def test_extract_option_changes_the_convention() -> None:
    d = json.loads(invoke("score", "medqa_mainland_published", "-d", ITEMS, "-r", str(FIX / "pred_domain.jsonl"),
                          "--extract", "opencompass-first-option", "--json").stdout)
    # OpenCompass reads "A或C" as A and the option text alone as nothing.
    assert (d["extract"], d["unparsed"]) == ("opencompass-first-option", 2)
    r = CliRunner().invoke(cli, ["score", "medqa_mainland_published", "-d", ITEMS, "-r",
                                 str(FIX / "pred_domain.jsonl"), "--extract", "nope"])
    assert r.exit_code != 0 and "known: medsage" in str(r.exception) + r.output


def test_no_matching_id_is_one_error_exit_2(tmp_path: Path) -> None:
    resp = tmp_path / "r.jsonl"
    resp.write_text('{"id": "x1", "response": "A"}\n', encoding="utf-8")
    proc = run_cli(tmp_path, "score", "medqa_mainland_published", "-d", ITEMS, "-r", str(resp))
    assert proc.returncode == 2 and "none of the 1 responses matches" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    resp = tmp_path / "r.jsonl"
    resp.write_text('{"id": "0", "response": "E"}\n{"id": "0", "response": "A"}\n', encoding="utf-8")
    proc = run_cli(tmp_path, "score", "medqa_mainland_published", "-d", ITEMS, "-r", str(resp))
    assert proc.returncode == 2 and "duplicate response id" in proc.stderr


def test_partial_match_reports_items_without_response(tmp_path: Path) -> None:
    resp = tmp_path / "r.jsonl"
    resp.write_text('{"id": "0", "response": "故选E"}\n{"id": "1", "response": "A或C"}\n', encoding="utf-8")
    proc = run_cli(tmp_path, "score", "medqa_mainland_published", "-d", ITEMS, "-r", str(resp), "--json")
    d = json.loads(proc.stdout)
    assert (d["n"], d["accuracy"], d["unparsed"], d["no_response"]) == (4, 0.25, 1, 2)
    assert "2 of 4 items" in proc.stderr and "no response" in proc.stderr
    only = json.loads(run_cli(tmp_path, "score", "medqa_mainland_published", "-d", ITEMS, "-r", str(resp),
                              "--answered-only", "--json").stdout)
    assert (only["n"], only["accuracy"], only["no_response"]) == (2, 0.5, 2)


def test_prediction_for_a_different_question_is_not_matched(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (FIX / "pred_general.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[0]["question"] = "另一道题\nA：甲\nB：乙"
    resp = tmp_path / "p.jsonl"
    resp.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    d = json.loads(invoke("score", "medqa_mainland_published", "-d", ITEMS, "-r", str(resp), "--json").stdout)
    assert (d["no_response"], d["unmatched_responses"]) == (1, 1)


def test_out_folders_pair_in_compare(tmp_path: Path) -> None:
    for name in ("general", "domain"):
        r = invoke("score", "medqa_mainland_published", "-d", ITEMS, "-r", str(FIX / f"pred_{name}.jsonl"),
                   "--label", name, "--out", str(tmp_path / name))
        assert r.exit_code == 0, r.output
    r = invoke("compare", str(tmp_path / "general"), str(tmp_path / "domain"), "--out", str(tmp_path / "cmp"), "--json")
    cmp = json.loads(r.stdout)
    pair = cmp["tasks"]["medqa_mainland_published"]["paired"]["domain"]
    assert pair["n"] == 4 and pair["diff"] == pytest.approx(-0.75) and pair["test"] == "mcnemar"


def test_opencompass_convention_first_pattern_wins() -> None:
    assert opencompass_first_option("答案：C", CH).letter == "C"
    assert opencompass_first_option("B和C都对", CH).letter == "B"  # no notion of several answers
    assert opencompass_first_option("无法回答", CH).letter is None
    assert get_convention("medsage")("B和C都对", CH).letter is None


def test_mirage_convention_defaults_to_a_as_mirage_does() -> None:
    assert mirage_locate_answer('{"step_by_step_thinking": "...", "answer_choice": "C"}', CH).letter == "C"
    got = mirage_locate_answer("I am not sure", CH)
    assert (got.letter, got.rule) == ("A", "default")
