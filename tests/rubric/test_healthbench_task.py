"""The healthbench task end to end with mock models: loading, grading, retries, cache, rescoring."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from medsage.errors import DataError, SpecError
from medsage.models.base import get_model
from medsage.tasks.healthbench import TASK, rescore_healthbench
from medsage.types import CaseState, GenerateConfig, ModelOutput

FIXTURES = Path(__file__).parent / "fixtures"


def verdict(met: bool) -> str:
    return "```json\n" + json.dumps({"explanation": "because", "criteria_met": met}) + "\n```"

SMALL = FIXTURES / "healthbench_small.jsonl"
BAD = FIXTURES / "healthbench_bad.jsonl"


def test_bad_rows_are_reported_per_row_never_crash() -> None:
    result = TASK.load(str(BAD))
    assert [s.id for s in result.samples] == ["p1", "p2"]
    text = "\n".join(result.problems)
    assert len(result.problems) == 8
    for needle in ("no rubric item has positive points", "missing criterion", "outside [-10, 10]",
                   "not a number", "prompt is missing", "rubrics is missing", "not JSON", "example_tags"):
        assert needle in text, needle


def test_subset_by_id_file(tmp_path: Path) -> None:
    ids = tmp_path / "hard_ids.txt"
    ids.write_text("p2\nmissing-id\n")
    result = TASK.load(str(SMALL), subset="hard", ids=str(ids))
    assert [s.id for s in result.samples] == ["p2"]
    assert any("1 ids" in p for p in result.problems)
    with pytest.raises(DataError):
        TASK.load(str(SMALL), subset="consensus")
    with pytest.raises(SpecError):
        TASK.load(str(SMALL), subset="easy")


def test_messages_keep_the_conversation() -> None:
    sample = TASK.load(str(SMALL)).samples[1]
    msgs = TASK.messages(sample)
    assert [m.role for m in msgs] == ["system", "user"]
    assert sample.metadata["language"] == "zh"


async def _score(sample, grader, text: str = "Rest and drink water."):
    msgs = TASK.messages(sample)
    state = CaseState(sample, tuple(msgs), GenerateConfig(), output=ModelOutput(text=text, model="m"))
    return await TASK.score(state, grader)


async def test_score_with_script_grader_matches_hand_computation(script) -> None:
    sample = TASK.load(str(SMALL)).samples[0]
    grader = get_model("mock/script", {"file": script([
        {"contains": "[5] Advises rest", "response": verdict(True)},
        {"contains": "[3] Mentions red flags", "response": verdict(False)},
        {"contains": "[-4] Recommends opioids", "response": verdict(True)},
        {"contains": "[2] Asks about duration", "response": verdict(True)},
    ])})
    score = await _score(sample, grader)
    assert score.value == pytest.approx(0.3)  # (5 - 4 + 2) / 10
    meta = score.metadata
    assert [g["criteria_met"] for g in meta["rubric_grades"]] == [True, False, True, True]
    assert meta["metrics"]["axis:accuracy"] == pytest.approx(0.2)
    assert meta["grader_calls"] == 4 and meta["unparsed_verdicts"] == 0
    assert grader.calls == 4  # one call per rubric item


async def test_unparseable_grader_is_bounded_and_reported(script) -> None:
    sample = TASK.load(str(SMALL)).samples[0]
    grader = get_model("mock/script", {"file": script([{"contains": "", "response": "I think it is met."}])})
    score = await _score(sample, grader)
    assert grader.calls == 4 * TASK.max_attempts  # bounded retries, never an infinite loop
    assert score.answer is None and score.metadata["scorable"] is False
    assert score.metadata["unparsed_verdicts"] == 4
    assert all(g["status"] == "unparsed" for g in score.metadata["rubric_grades"])


async def test_contradictory_verdict_is_excluded(script) -> None:
    sample = TASK.load(str(SMALL)).samples[0]
    grader = get_model("mock/script", {"file": script([
        {"contains": "[3] Mentions red flags", "response": '{"criteria_met": true, "criteria_met": false}'},
        {"contains": "", "response": verdict(True)},
    ])})
    score = await _score(sample, grader)
    assert score.metadata["contradictory_verdicts"] == 1
    assert score.value == pytest.approx((5 - 4 + 2) / 7)  # the +3 item left out of both sums


async def test_grader_calls_are_cached(script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_GRADER_CACHE", str(tmp_path / "g.sqlite"))
    sample = TASK.load(str(SMALL)).samples[0]
    path = script([{"contains": "", "response": verdict(True)}])
    first = get_model("mock/script", {"file": path})
    await _score(sample, first)
    second = get_model("mock/script", {"file": path})
    score = await _score(sample, second)
    assert second.calls == 0
    assert score.metadata["grader_cached_calls"] == 4


async def test_missing_grader_and_model_error(script) -> None:
    sample = TASK.load(str(SMALL)).samples[0]
    with pytest.raises(SpecError):
        await _score(sample, None)
    state = CaseState(sample, tuple(TASK.messages(sample)), output=ModelOutput(error="boom"))
    score = await TASK.score(state, get_model("mock/fixed"))
    assert score.answer is None and score.metadata["scorable"] is False


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_rescore_from_stored_files(tmp_path: Path) -> None:
    items = [{"criterion": "a", "points": 5, "tags": ["axis:x"]}, {"criterion": "b", "points": -5, "tags": []}]
    responses = _write(tmp_path / "r.jsonl", [
        {"prompt_id": "1", "response": "good", "example_tags": ["theme:t"]},
        {"prompt_id": "2", "response": "bad"},
        {"prompt_id": "3", "response": "no grades"},
        {"prompt_id": "4", "response": "changed"},
    ])
    grades = _write(tmp_path / "g.jsonl", [
        {"prompt_id": "1", "rubric_items": [{**items[0], "criteria_met": True}, {**items[1], "criteria_met": False}]},
        {"prompt_id": "2", "rubric_items": [{**items[0], "criteria_met": True}, {**items[1], "criteria_met": True}]},
        {"prompt_id": "4", "completion_id": hashlib.sha256(b"4original").hexdigest(),
         "rubric_items": [{**items[0], "criteria_met": True}]},
    ])
    out = rescore_healthbench(responses, grades)
    assert out["n"] == 2
    assert out["score"] == pytest.approx(0.5)  # (1.0 + 0.0) / 2
    assert out["metrics"]["theme:t"]["mean"] == 1.0
    assert out["missing_grades"] == 1 and out["mismatched"] == 1


def test_rescore_per_item_rows_and_unparsed(tmp_path: Path) -> None:
    responses = _write(tmp_path / "r.jsonl", [{"id": "1", "response": "x"}])
    grades = _write(tmp_path / "g.jsonl", [
        {"id": "1", "criterion": "a", "points": 4, "tags": [], "criteria_met": True},
        {"id": "1", "criterion": "b", "points": 6, "tags": [], "criteria_met": "maybe"},
        {"id": "1", "criterion": "c", "points": -2, "tags": [], "criteria_met": True},
    ])
    out = rescore_healthbench(responses, grades)
    assert out["score"] == pytest.approx((4 - 2) / 4)
    assert out["unparsed_verdicts"] == 1
    out_worst = rescore_healthbench(responses, grades, rule="worst")
    assert out_worst["score"] == pytest.approx((4 - 2) / 10)


def test_rescore_nothing_scorable_raises(tmp_path: Path) -> None:
    responses = _write(tmp_path / "r.jsonl", [{"id": "1", "response": "x"}])
    grades = _write(tmp_path / "g.jsonl", [{"id": "1", "rubric_grades": [{"criterion": "a", "points": 0, "tags": []}]}])
    with pytest.raises(DataError):
        rescore_healthbench(responses, grades)
