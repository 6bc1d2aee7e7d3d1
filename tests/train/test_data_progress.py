"""Issue #23, item 2: every ``medsage data`` verb reports progress on stderr (plain lines off a
terminal), never on stdout; passes over records show rate and ETA."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.progress import StageProgress

SUMMARY = r"^data {verb}: .+ · [\d.]+ s in all$"


def _ok(args: list[str]) -> tuple[str, str]:
    r = CliRunner().invoke(cli, ["data", *args])
    assert r.exit_code == 0, r.output
    return r.stdout, r.stderr


def _summary(stderr: str, verb: str, *stages: str) -> str:
    lines = [ln for ln in stderr.splitlines() if re.match(SUMMARY.format(verb=verb), ln)]
    assert len(lines) == 1, stderr
    for stage in stages:
        assert re.search(rf"(: | → ){re.escape(stage)} [\d.]+ s", lines[0]), (stage, lines[0])
    return lines[0]


@pytest.fixture
def built(sources: dict[str, Path], tmp_path: Path) -> Path:
    out = tmp_path / "b.jsonl"
    _, err = _ok(["build", "-s", f"medmcqa={sources['medmcqa']}", "-s", f"medsafetybench={sources['safety']}",
                  "-o", str(out)])
    _summary(err, "build", "medmcqa", "medsafetybench", "write")
    return out


def test_each_data_verb_reports_its_stages_on_stderr(built: Path, sources: dict[str, Path], tmp_path: Path) -> None:
    o = str(tmp_path / "o.jsonl")
    _summary(_ok(["filter", str(built), "-o", o])[1], "filter", "read", "filter", "write")
    _summary(_ok(["dedup", str(built), "-o", o])[1], "dedup", "read", "exact", "near", "write")
    _summary(_ok(["decontam", str(built), "-o", o, "-a", f"medqa_us={sources['test']}",
                  "--report", str(tmp_path / "r.json")])[1], "decontam", "read", "index", "check", "write")
    _summary(_ok(["balance", str(built), "-o", o])[1], "balance", "read", "balance", "write")
    _summary(_ok(["pairs", str(built), "-o", o])[1], "pairs", "read", "pairs", "write")


def test_json_stdout_stays_clean(built: Path, tmp_path: Path) -> None:
    out, err = _ok(["stats", str(built), "--json"])
    assert json.loads(out)["n"] >= 4
    _summary(err, "stats", "read")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("nothing from any exam here\n")
    out, err = _ok(["contamination", "exam-sample", "--corpus", str(corpus), "--json"])
    assert json.loads(out)["checked"] > 0
    _summary(err, "contamination", "read benchmark", "corpus")


def test_a_pass_over_records_shows_rate_and_eta(built: Path) -> None:
    from medsage.train.dedup import dedup
    from medsage.train.records import read_any

    buf = io.StringIO()
    items = read_any(str(built))
    with StageProgress("data dedup", unit="records", enabled=False, stream=buf) as stages:
        dedup(list(items), 0.8, progress=stages)
    lines = buf.getvalue().splitlines()
    n = len(items)
    assert re.match(rf"data dedup · exact: 1/{n} \(\d+%\) · [\d.,]+ records/(s|min) · \d+ s elapsed · ETA", lines[0])
    assert any(ln.startswith(f"data dedup · exact: {n}/{n} (100%)") for ln in lines)
    assert any(ln.startswith("data dedup · near: ") for ln in lines) and lines[-1].startswith("data dedup: exact ")
