"""Decontamination against benchmark test items (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import chat, write_jsonl

from medsage.cli import cli
from medsage.errors import DataError
from medsage.train.decontam import DecontamConfig, decontaminate
from medsage.train.records import read_records
from medsage.train.sources.builders import build_source


def test_removes_reworded_test_item_and_reports(sources: dict[str, Path]) -> None:
    recs = build_source("medmcqa", str(sources["medmcqa"])).records
    kept, rep = decontaminate(recs, [("my_medqa", str(sources["test"]))])
    d = rep.to_dict()
    assert [r["id"] for r in d["removed"]] == ["medmcqa:m4"]
    assert d["records_in"] == 4 and d["records_out"] == 3
    assert d["removed_by_task"] == {"my_medqa": 1}
    assert d["contaminated_test_items"] == {"my_medqa": ["0"]}
    assert d["against"][0]["items"] == 2
    assert all(r.id != "medmcqa:m4" for r in kept)


def test_ngram_hit_inside_a_long_answer() -> None:
    q = ("A 45-year-old man presents with crushing chest pain radiating to the left arm for two hours. "
         "What is the next best step?")
    text = "Background reading on cardiology. " * 20 + q + " ECG Discharge Antacids Colonoscopy. More text."
    rec = read_records.__globals__["record_from_dict"](chat("Tell me about chest pain.", text, "r1"), "x")
    item_file_rows = [{"question": q, "options": {"A": "ECG", "B": "Discharge", "C": "Antacids", "D": "Colonoscopy"}, "answer_idx": "A"}]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = write_jsonl(Path(d) / "t.jsonl", item_file_rows)
        kept, rep = decontaminate([rec], [("t", str(p))], DecontamConfig(near_dup=0))
    assert kept == [] and rep.removed[0]["matches"][0]["method"] == "ngram"


def test_boilerplate_ngrams_do_not_flag(tmp_path: Path) -> None:
    stem = "Which of the following is the most likely diagnosis in this patient"
    items = [{"question": f"{stem} number {i} with {w}?", "options": {"A": w, "B": "x"}, "answer_idx": "A"}
             for i, w in enumerate(["gout", "lupus", "sarcoid", "anemia", "asthma", "typhus"] * 2)]
    p = write_jsonl(tmp_path / "t.jsonl", items)
    rec = read_records.__globals__["record_from_dict"](
        chat(f"{stem} who has a productive cough and fever after travel abroad?", "Pneumonia.", "r"), "x")
    kept, _ = decontaminate([rec], [("t", str(p))], DecontamConfig(max_df=5, near_dup=0))
    assert len(kept) == 1


def test_chinese_items(tmp_path: Path) -> None:
    items = [{"id": "z1", "question": "小剂量地塞米松抑制试验适用于下列哪种情况的定性诊断",
              "opa": "醛固酮增多症定性", "opb": "肾上腺皮质增多症定性", "opc": "肾上腺皮质功能减退症定位",
              "opd": "肾上腺皮质功能减退症定性", "ope": "肾上腺皮质增多症定位", "answer": "opb"}]
    p = tmp_path / "cn.json"
    p.write_text(json.dumps(items, ensure_ascii=False))
    hit = chat("请回答：小剂量地塞米松抑制试验适用于下列哪种情况的定性诊断？", "肾上腺皮质增多症定性", "h", language="zh")
    miss = chat("请回答：大剂量地塞米松抑制试验的临床意义是什么？", "用于鉴别库欣病与异位ACTH综合征。", "m", language="zh")
    rf = read_records.__globals__["record_from_dict"]
    kept, rep = decontaminate([rf(hit, "a"), rf(miss, "b")], [("cnmleqa", str(p))])
    assert [r.id for r in kept] == ["m"]


def test_decontam_cli_writes_report_and_fails_when_emptied(sources: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    built = tmp_path / "b.jsonl"
    r = runner.invoke(cli, ["data", "build", "-s", f"medmcqa={sources['medmcqa']}", "-o", str(built)])
    assert r.exit_code == 0, r.output
    out, rep = tmp_path / "c.jsonl", tmp_path / "rep.json"
    r = runner.invoke(cli, ["data", "decontam", str(built), "-o", str(out), "-a", f"medqa_us={sources['test']}",
                            "--report", str(rep)])
    assert r.exit_code == 0, r.output
    assert json.loads(rep.read_text())["records_removed"] == 1 and len(read_records(out)) == 3
    # Decontaminating against the training data itself empties it: a clear error, exit 2.
    r = runner.invoke(cli, ["data", "decontam", str(built), "-o", str(out), "-a", f"self={sources['medmcqa']}",
                            "--report", str(rep)])
    assert r.exit_code == 2 and "removed all 4 records" in r.output


def test_needs_a_benchmark() -> None:
    with pytest.raises(DataError, match="at least one benchmark"):
        decontaminate([], [])
