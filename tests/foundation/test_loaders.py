from __future__ import annotations

from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.runner import get_task

from .conftest import FIX


def load(task: str, path: Path, **opts: object):
    return get_task(task).load(str(path), **opts)


def test_medqa_ids_tiers_and_bad_rows_reported_with_line() -> None:
    res = load("medqa_us", FIX / "medqa.jsonl")
    assert [s.id for s in res.samples] == ["0", "1", "5"]  # zero-based row numbers of the source
    first = res.samples[0]
    assert first.target == "B" and first.metadata["tier"] == "step1" and first.metadata["question_type"] == "case"
    assert res.samples[1].metadata["question_type"] == "knowledge"
    problems = "\n".join(res.problems)
    assert "medqa.jsonl:3: missing options" in problems
    assert "medqa.jsonl:4: answer key 'E'" in problems
    assert "medqa.jsonl:5: not a JSON object" in problems


def test_medmcqa_one_based_cop_and_source_ids() -> None:
    res = load("medmcqa", FIX / "medmcqa.json")
    assert {s.id: s.target for s in res.samples} == {"mm-1": "C", "mm-2": "A"}
    assert res.samples[0].metadata["discipline"] == "Pharmacology"


def test_pubmedqa_official_test_split_by_default() -> None:
    res = load("pubmedqa", FIX / "pubmedqa" / "ori_pqal.json")
    assert {s.id: s.target for s in res.samples} == {"111": "A", "333": "B"}
    assert "Trial A" in res.samples[0].metadata["context"]
    assert len(load("pubmedqa", FIX / "pubmedqa", split="all").samples) == 3


def test_mmlu_subject_row_ids_and_quoted_csv() -> None:
    res = load("mmlu_medical", FIX / "mmlu")
    ids = [s.id for s in res.samples]
    assert ids == ["anatomy-0", "anatomy-1", "medical_genetics-0"]
    assert res.samples[1].question == 'A "quoted" question, with comma'
    assert any("anatomy_test.csv:3" in p for p in res.problems)


def test_cmmlu_header_csv() -> None:
    res = load("cmmlu_medical", FIX / "cmmlu")
    assert [s.id for s in res.samples] == ["anatomy-0", "anatomy-1"]
    assert res.samples[0].language == "zh"


def test_cnmleqa_five_options_and_types() -> None:
    res = load("cnmleqa", FIX / "cnmleqa.json")
    assert [s.id for s in res.samples] == ["c-1", "c-2"]
    assert len(res.samples[0].choices) == 5 and res.samples[0].target == "A"
    assert res.samples[1].metadata["question_type"] == "case"
    assert any("missing options" in p for p in res.problems)
    assert [s.id for s in load("cnmleqa", FIX / "cnmleqa.json", question_type="case").samples] == ["c-2"]


def test_cmb_tiers_and_multi_answer_skipped() -> None:
    res = load("cmb_exam", FIX / "cmb.json")
    assert [s.metadata["tier"] for s in res.samples] == ["assistant", "senior"]
    assert any("multi-answer" in p for p in res.problems)


def test_cmexam_options_split() -> None:
    res = load("cmexam", FIX / "cmexam.csv")
    assert res.samples[0].choices["A"] == "硝普钠" and len(res.samples[0].choices) == 5
    assert any("multi-answer" in p for p in res.problems)


@pytest.mark.parametrize(("name", "msg"), [("empty.jsonl", "empty"), ("not_utf8.jsonl", "UTF-8"),
                                           ("truncated.json", "truncated"), ("nope.jsonl", "no such")])
def test_unusable_files_raise_one_clear_error(name: str, msg: str) -> None:
    task = "cnmleqa" if name.endswith(".json") else "medqa_us"
    with pytest.raises(DataError, match=msg):
        load(task, FIX / name)


def test_exam_sample_is_bundled_and_bilingual() -> None:
    res = get_task("exam-sample").load()
    langs = [s.language for s in res.samples]
    assert langs.count("en") >= 100 and langs.count("zh") >= 100
    assert not res.problems


def test_no_data_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="--data"):
        get_task("medqa_us").load(None)


def test_shuffle_options_remaps_target() -> None:
    from medsage.tasks.exams.common import shuffle_choices

    s = load("medqa_us", FIX / "medqa.jsonl").samples[0]
    moved = [shuffle_choices(s, seed) for seed in range(8)]
    for m in moved:
        assert m.choices[m.target] == s.choices[s.target]
    assert len({m.target for m in moved}) > 1
