"""medsage compare on hand-written run directories (numbers computed by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.errors import DataError
from medsage.report.compare import build_comparison, compare_runs, load_run, parse_price

FIX = Path(__file__).parent / "fixtures"
GENERAL, DOMAIN = FIX / "run_general", FIX / "run_domain"


def test_exam_table_and_mcnemar() -> None:
    cmp = build_comparison([load_run(GENERAL), load_run(DOMAIN)])
    assert cmp["baseline"] == "openai/general-model"
    exam = cmp["tasks"]["medqa_us"]
    assert exam["runs"]["openai/general-model"]["mean"] == pytest.approx(0.4)
    assert exam["runs"]["rag:mock/fixed"]["mean"] == pytest.approx(0.9)
    lo, hi = exam["runs"]["rag:mock/fixed"]["ci95"]
    assert lo == pytest.approx(0.5958, abs=1e-3) and hi == pytest.approx(0.9821, abs=1e-3)  # Wilson 9/10
    d = exam["paired"]["rag:mock/fixed"]
    assert d["test"] == "mcnemar" and d["wins_b"] == 5 and d["wins_a"] == 0
    assert d["p"] == pytest.approx(1 / 32) and d["p_exact"] == pytest.approx(2 / 32)
    assert d["diff"] == pytest.approx(0.5)
    by = d["by"]["discipline"]["groups"]
    assert by["medicine"]["diff"] == pytest.approx(0.6) and by["surgery"]["diff"] == pytest.approx(0.4)


def test_rubric_pairs_permutation_and_grader_agreement() -> None:
    cmp = build_comparison([load_run(GENERAL), load_run(DOMAIN)])
    d = cmp["tasks"]["healthbench"]["paired"]["rag:mock/fixed"]
    assert d["test"] == "permutation"
    assert d["diff"] == pytest.approx(0.25)
    assert d["p"] == pytest.approx(10 / 16)
    g = d["grader_agreement"]  # only hb4 has the same response in both runs
    assert g["items"] == 2 and g["agree"] == 1 and g["kappa"] == pytest.approx(0.0)
    assert set(d["by"]["theme"]["groups"]) == {"hedging", "emergency_referrals"}


def test_cost_with_prices() -> None:
    prices = parse_price(["openai/general-model=1,2", "openai/grader-model=10,20"])
    cmp = build_comparison([load_run(GENERAL), load_run(DOMAIN)], prices)
    assert cmp["tasks"]["medqa_us"]["runs"]["openai/general-model"]["cost_usd"] == pytest.approx(0.0012)
    assert cmp["tasks"]["healthbench"]["runs"]["openai/general-model"]["cost_usd"] == pytest.approx(0.045)
    assert cmp["tasks"]["medqa_us"]["runs"]["rag:mock/fixed"]["cost_usd"] is None
    with pytest.raises(DataError):
        parse_price(["nonsense"])


def test_html_is_self_contained(tmp_path: Path) -> None:
    _, out = compare_runs([GENERAL, DOMAIN], tmp_path / "cmp")
    assert out is not None
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html
    assert json.loads((out / "compare.json").read_text())["tasks"]["medqa_us"]


def test_cli_compare_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["compare", str(GENERAL), str(DOMAIN), "--out", str(tmp_path / "o"), "--json",
                                   "--price", "mock/fixed=0.5,1.5"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["tasks"]["medqa_us"]["paired"]["rag:mock/fixed"]["n"] == 10


def test_cli_compare_rejects_non_run_dir(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["compare", str(GENERAL), str(tmp_path)])
    assert res.exit_code == 2
    assert "not a run directory" in res.output
