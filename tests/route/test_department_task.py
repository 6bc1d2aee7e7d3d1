"""The department_triage task: loading, parsing, and the micro set metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.registry import tasks
from medsage.tasks.department_triage import (
    TASK,
    parse_departments,
    set_metrics,
    split_reference,
)
from medsage.types import CaseState, ModelOutput

FIXTURES = Path(__file__).parent / "fixtures"


def test_reference_formula_by_hand() -> None:
    pairs = [(["小儿呼吸内科"], ["小儿呼吸内科", "小儿内科"]),  # tp 1, p 1, r 2
             (["急诊科", "心血管内科", "呼吸内科"], ["急诊科", "心血管内科"]),  # tp 2, p 3, r 2
             ([], [])]  # a non-medical query answered with nothing
    m = set_metrics(pairs)
    assert (m["tp"], m["predicted"], m["reference"]) == (3, 4, 4)
    assert m["micro_precision"] == 0.75 and m["micro_recall"] == 0.75 and m["micro_f1"] == 0.75
    assert m["exact_set_accuracy"] == round(1 / 3, 4)


def test_parse_departments_prefers_longest_names() -> None:
    cands = ["内科", "小儿内科", "呼吸内科", "小儿呼吸内科", "急诊科"]
    assert parse_departments("建议：急诊科|小儿呼吸内科", cands) == ["急诊科", "小儿呼吸内科"]
    assert parse_departments("无", cands) == []
    assert split_reference("") == [] and split_reference("A| B") == ["A", "B"]


def test_registered_and_loads_with_problems() -> None:
    assert tasks.get("department_triage") is TASK
    res = TASK.load(str(FIXTURES / "triage_rows.jsonl"))
    assert [s.id for s in res.samples] == ["a", "b", "c"]
    assert len(res.problems) == 2  # an unknown department, a row without a patient
    assert "小儿呼吸内科" in TASK.messages(res.samples[0])[0].content


def test_default_is_the_shipped_test_split() -> None:
    res = TASK.load()
    assert len(res.samples) > 80 and res.note == "split=test"


async def test_score_and_aggregate() -> None:
    res = TASK.load(str(FIXTURES / "triage_rows.jsonl"))
    records = []
    for sample, answer in zip(res.samples, ["小儿呼吸内科", "急诊科|心血管内科|呼吸内科", "无"], strict=True):
        state = CaseState(sample, tuple(TASK.messages(sample)), output=ModelOutput(text=answer))
        score = await TASK.score(state)
        records.append({"answer": score.answer, "target": score.target, "score": score.value})
    agg = TASK.aggregate(records)
    assert agg["tp"] == 3 and agg["predicted"] == 4 and agg["reference"] == 3
    assert agg["score"] == agg["micro_f1"] == round(2 * 0.75 * 1.0 / 1.75, 4)
    assert agg["exact_set_accuracy"] == round(2 / 3, 4)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        TASK.load(str(tmp_path / "none.jsonl"))
