"""`medsage data curate-exams` on a tiny data folder: provenance, decontamination, balance, targets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from curate_fixtures import make_root

from medsage.errors import DataError
from medsage.runner import get_task
from medsage.tasks.exams.cmexam import parse as parse_cmexam
from medsage.train.curation.catalog import ISSUE_EVAL, EvalSpec
from medsage.train.curation.curate import CurateConfig, curate
from medsage.train.curation.load import Item, select
from medsage.train.curation.rotate import (
    balance,
    clean_explanations,
    pin_reason,
    remap_letters,
    rotate,
)
from medsage.train.records import Record, read_records, write_jsonl
from medsage.types import Sample

# The fixture's CMB and MedMCQA files are tiny: evaluate 1 and 2 seeded items of them.
SMALL_EVAL = tuple(
    EvalSpec(e.name, e.task, e.path, 1, e.seed, why=e.why) if e.name == "cmb_300"
    else EvalSpec(e.name, e.task, e.path, 2, e.seed, why=e.why) if e.name == "medmcqa_300" else e
    for e in ISSUE_EVAL)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "data")


def run(root: Path, **kw: object) -> tuple[list[Record], dict]:  # type: ignore[type-arg]
    return curate(CurateConfig(root, issue_sets=SMALL_EVAL, test_files=False, **kw))  # type: ignore[arg-type]


def test_every_record_has_licence_provenance_and_valid_chat(root: Path, tmp_path: Path) -> None:
    records, report = run(root)
    out = tmp_path / "out.jsonl"
    write_jsonl(records, out)
    back = read_records(out)  # the project's strict reader: roles, ids, licence
    assert len(back) == len(records) == report["records"]
    for r in back:
        assert r.license and r.provenance["path"].startswith("exams/") and r.provenance["source_id"]
        assert r.messages[0]["role"] == "system" and r.messages[-1]["role"] == "assistant"
    assert report["sources"]["cmexam_val"]["licence"].startswith("no licence file")
    assert set(report["not_shippable"]) == {"cmexam_val", "cmmlu_dev", "cnmleqa_2017_2019"}
    assert {r.source for r in back} == set(report["sources"])


def test_evaluation_items_never_reach_training(root: Path) -> None:
    records, report = run(root)
    ids = {r.id for r in records}
    # CNMLEQA: 2020 is the evaluation year
    assert "cnmleqa_2017_2019:3" not in ids and "cnmleqa_2017_2019:1" in ids
    # the MCMLE dev item copied in the test file is removed by overlap, and reported
    assert "medqa_mcmle_dev:1" not in ids and "medqa_mcmle_dev:0" in ids
    sets = {e["name"]: e for e in report["eval_sets"]}
    assert sets["mcmle_test"]["overlap_removed"] == 1
    # the seeded MedMCQA and CMB items: the same selection as `medsage bench --shuffle --seed 0 -n N`
    med = get_task("medmcqa").load(str(root / "exams/medmcqa_dev.json")).samples
    held = {s.id for s in select(med, 2, 0)}
    assert not {f"medmcqa_dev:{i}" for i in held} & ids
    assert sets["medmcqa_300"]["identity_excluded"] == 2
    assert sets["cmb_300"]["identity_excluded"] == 1
    assert report["sources"]["cmb_sample"]["kept"] == 2


def test_keys_are_balanced_and_targets_teach_reasoning_or_fact(root: Path) -> None:
    records, report = run(root)
    by_set: dict[str, Counter[str]] = {}
    for r in records:
        by_set.setdefault("".join(r.meta["choices"]), Counter())[r.meta["answer"]] += 1
    for letters, c in by_set.items():
        counts = [c.get(k, 0) for k in letters]
        assert max(counts) - min(counts) <= 1 + sum(report["letters"]["pinned"].values()), (letters, c)
    for r in records:
        answer, text = r.meta["answer"], r.meta["choices"][r.meta["answer"]]
        last = r.messages[-1]["content"].splitlines()[-1]
        assert last in (f"答案：{answer}。{text}", f"The answer is {answer}. {text}")
        assert r.messages[1]["content"].count(f"{answer}. {text}") == 1  # the prompt shows the rotated options
    cm = [r for r in records if r.source == "cmexam_val"]
    assert cm and all(r.meta["target"] == "reasoning" and r.meta["mode"] == "cot" for r in cm)
    med = {r.id: r for r in records if r.source == "medmcqa_dev"}
    for r in med.values():
        assert "Ans" not in r.messages[-1]["content"]  # the opening answer clause is dropped
    assert report["targets"]["fact"] >= 1 and report["targets"]["reasoning"] >= 1


def test_rotation_rewrites_explanation_letters() -> None:
    s = Sample("0", "上消化道出血表现取决于", {"A": "原发病", "B": "出血部位", "C": "出血量", "D": "停留时间", "E": "凝血"}, "C",
               {"language": "zh"})
    it = Item("cmexam_val", s, "取决于出血量（C对），出血部位（A、B错），（DE错）。")
    got = rotate(it, 2)
    assert got.sample.target == "E" and got.sample.choices["E"] == "出血量" and got.sample.choices["A"] == "停留时间"
    assert got.explanation == "取决于出血量（E对），出血部位（C、D错），（AB错）。"
    assert got.sample.metadata["original_target"] == "C"
    text, clean = remap_letters("Ans. is 'a' i.e., Appendix; option (b) is wrong", {"A": "C", "B": "D"}, "en")
    assert text == "Ans. is 'c' i.e., Appendix; option (d) is wrong" and clean


def test_opening_answer_clause_is_dropped_and_a_contradicting_one_drops_the_explanation() -> None:
    opts = {"A": "Tretinoin", "B": "b", "C": "c", "D": "d"}
    agree = Item("m", Sample("1", "q", opts, "A"), "Answer- ATretinoin plus anthracycline.")
    clash = Item("m", Sample("2", "q", opts, "B"), "Ans. is 'c' i.e., c")
    plain = Item("m", Sample("3", "q", opts, "A"), "Ans. In this case the first line failed.")
    out, contradicting = clean_explanations([agree, clash, plain])
    assert [it.explanation for it in out] == ["Tretinoin plus anthracycline.", "", plain.explanation]
    assert contradicting == 1


def test_items_that_cannot_move_are_pinned() -> None:
    all_above = Item("x", Sample("1", "q", {"A": "a", "B": "b", "C": "c", "D": "All of the above"}, "D"))
    odd_letter = Item("x", Sample("2", "问题", {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}, "A", {"language": "zh"}),
                      "缺乏维生素A所致")
    free = Item("x", Sample("3", "q", {"A": "a", "B": "b", "C": "c", "D": "d"}, "A"), "The drug blocks T-type channels.")
    assert pin_reason(all_above) and pin_reason(odd_letter) and not pin_reason(free)
    items = [Item("x", Sample(str(i), "q", {"A": "a", "B": "b", "C": "c", "D": "d"}, "A")) for i in range(8)]
    out, stats = balance([*items, all_above], seed=1)
    assert out[-1] is all_above
    assert stats.before["A"] == 8 and sorted(stats.by_options["ABCD"]["after"].values()) == [2, 2, 2, 3]


def test_cmexam_loader_reads_the_xlsx_copy(root: Path) -> None:
    res = parse_cmexam(root / "exams/cmexam_val.xlsx", {})
    assert [s.id for s in res.samples] == ["0", "1"] and len(res.problems) == 1  # one multi-answer row
    assert res.samples[0].choices["E"] == "以上均非" and res.samples[0].target == "C"


def test_general_share(root: Path) -> None:
    general = [Record(f"g{i}", [{"role": "user", "content": f"Write a haiku about season {i}."},
                                {"role": "assistant", "content": "Leaves fall softly now."}], "general", "CC BY 4.0")
               for i in range(50)]
    records, report = run(root, general=general, general_share=0.2)
    n_general = sum(1 for r in records if r.source == "general")
    assert n_general == report["general"]["added"] > 0
    assert abs(n_general / len(records) - 0.2) < 0.05
    with pytest.raises(DataError):
        run(root, general_share=0.1)


def test_cli_writes_data_and_card(root: Path, tmp_path: Path) -> None:
    from medsage.cli.data import data

    out = tmp_path / "cur" / "exams.jsonl"
    res = CliRunner().invoke(data, ["curate-exams", "--root", str(root), "-o", str(out), "--no-plan",
                                    "--no-test-files", "--card", str(tmp_path / "card" / "exams")])
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "card" / "exams.json").read_text())
    md = (tmp_path / "card" / "exams.md").read_text()
    assert card["command"].startswith("medsage") and card["records"] == len(read_records(out))
    assert "| cnmleqa_2020 |" in md and "must not be committed" in md
