"""Simulated-patient (AgentClinic) evaluation with scripted mock agents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medsage.errors import DataError, SpecError
from medsage.models.base import get_model
from medsage.pipeline import get_pipeline
from medsage.tasks.agentclinic import TASK, diagnosis_match, extract_diagnosis
from medsage.tasks.simulated_patient import measure
from medsage.types import CaseState, GenerateConfig, ModelOutput

OSCE = {  # a synthetic case written for these tests
    "Objective_for_Doctor": "Diagnose the patient with fatigue and weight gain.",
    "Patient_Actor": {"Demographics": "45-year-old woman", "History": "Tired for 6 months, gained 5 kg.",
                      "Symptoms": {"Primary_Symptom": "Fatigue", "Secondary_Symptoms": ["Cold intolerance"]}},
    "Physical_Examination_Findings": {"Vital_Signs": {"Heart_Rate": "54 bpm"}},
    "Test_Results": {"Blood_Tests": {"TSH": "12 mIU/L (high)", "Free_T4": "Low"}},
    "Correct_Diagnosis": "Hypothyroidism",
}


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    p = tmp_path / "cases.jsonl"
    p.write_text(json.dumps({"OSCE_Examination": OSCE}) + "\nnot json\n", encoding="utf-8")
    return p


def _state(case_file: Path) -> CaseState:
    sample = TASK.load(str(case_file)).samples[0]
    return CaseState(sample, tuple(TASK.messages(sample)), GenerateConfig(max_tokens=64))


def test_loader_skips_bad_rows(case_file: Path) -> None:
    res = TASK.load(str(case_file))
    assert len(res.samples) == 1 and res.samples[0].target == "Hypothyroidism" and len(res.problems) == 1
    assert "Hypothyroidism" not in TASK.messages(res.samples[0])[1].content
    with pytest.raises(DataError):
        TASK.load(None)


def test_measurement_agent_only_reveals_the_file() -> None:
    assert "12 mIU/L" in measure(OSCE, "TSH")
    assert "54 bpm" in measure(OSCE, "heart rate")
    assert measure(OSCE, "MRI brain") == "RESULTS: NORMAL READINGS"


async def test_interview_with_test_request_then_diagnosis(case_file: Path, script_model) -> None:
    rules = [{"contains": "You are a patient", "response": "Yes, I feel cold all the time."},
             {"contains": "TSH", "response": "DIAGNOSIS READY: Primary hypothyroidism"},
             {"contains": "cold", "response": "REQUEST TEST: TSH"},
             {"contains": "", "response": "Do you feel cold more than others?"}]
    pipe = get_pipeline("consult", script_model(rules), {"turns": 5})
    out = await TASK.solve(_state(case_file), pipe)
    roles = [e["role"] for e in out.trace]
    assert roles[:4] == ["doctor", "patient", "doctor", "measurement"]
    assert out.output is not None and out.output.extras["osce"]["tests_requested"] == ["TSH"]
    score = await TASK.score(out)
    assert score.value == 1.0 and score.answer == "Primary hypothyroidism"


async def test_turn_budget_zero_commits_at_once(case_file: Path, script_model) -> None:
    model = script_model([{"contains": "", "response": "DIAGNOSIS READY: Anaemia"}])
    out = await TASK.solve(_state(case_file), get_pipeline("route", model, {"turns": 0, "panel_at": 9, "mdt_at": 9}))
    assert any("turn budget 0" in str(e.get("content")) for e in out.trace)
    assert model.calls == 1 and out.output is not None and out.output.text == "DIAGNOSIS READY: Anaemia"
    assert (await TASK.score(out)).value == 0.0


async def test_looping_doctor_is_stopped_within_budget(case_file: Path, script_model) -> None:
    model = script_model([{"contains": "no questions left", "response": "DIAGNOSIS READY: Hypothyroidism"},
                          {"contains": "You are a patient", "response": ""},
                          {"contains": "", "response": "How are you?"}])
    out = await TASK.solve(_state(case_file), get_pipeline("consult", model, {"turns": 50, "mode": "panel"}))
    assert any("loop" in str(e.get("content")) for e in out.trace)
    assert sum(1 for e in out.trace if e.get("role") == "doctor") <= 4
    assert any(e.get("role") == "recruitment" for e in out.trace)  # the panel reviewed the history
    assert out.output is not None and out.output.extras["osce"]["diagnosis"] == "Hypothyroidism"


async def test_silent_doctor_gives_no_diagnosis(case_file: Path, script_model) -> None:
    model = script_model([{"contains": "", "response": ""}])
    out = await TASK.solve(_state(case_file), get_pipeline("route", model, {"turns": 3, "panel_at": 9, "mdt_at": 9}))
    assert out.output is not None and out.output.text == "No diagnosis committed."
    assert (await TASK.score(out)).answer is None


def test_negative_budget_is_rejected(case_file: Path) -> None:
    import asyncio

    pipe = get_pipeline("consult", get_model("mock/echo"), {"turns": -1})
    with pytest.raises(SpecError):
        asyncio.run(TASK.solve(_state(case_file), pipe))


@pytest.mark.parametrize(("answer", "target", "ok"), [
    ("Myasthenia gravis", "Myasthenia gravis", True),
    ("myasthenia gravis.", "Myasthenia Gravis", True),
    ("Generalized myasthenia gravis", "Myasthenia gravis", True),
    ("Lambert-Eaton syndrome", "Myasthenia gravis", False),
    ("Type 1 diabetes", "Type 2 diabetes", False),
])
def test_diagnosis_match(answer: str, target: str, ok: bool) -> None:
    assert diagnosis_match(answer, target)[0] is ok


async def test_grader_decides_when_given(case_file: Path) -> None:
    state = _state(case_file).evolve(output=ModelOutput(text="DIAGNOSIS READY: Underactive thyroid"))
    assert extract_diagnosis("DIAGNOSIS READY: Underactive thyroid") == "Underactive thyroid"
    assert (await TASK.score(state)).value == 0.0
    yes = get_model("mock/fixed", {"text": "Yes"})
    assert (await TASK.score(state, grader=yes)).value == 1.0


async def test_run_summary_is_binary_accuracy_with_wilson_ci(case_file: Path, tmp_path: Path) -> None:
    """Diagnosis match is 0/1, so the run reports accuracy with a Wilson CI, not a degenerate [0, 0]."""
    from medsage.runner import EvalConfig, run_eval

    cfg = EvalConfig(tasks=["agentclinic"], model="mock/fixed", model_options={"text": "DIAGNOSIS READY: Anaemia"},
                     data={"agentclinic": str(case_file)}, out_dir=tmp_path / "run", cache=False, progress=False)
    res = await run_eval(cfg)
    summary = res.summary["tasks"]["agentclinic"]
    assert summary["metric"] == "accuracy" and summary["accuracy"] == 0.0
    assert summary["ci95"][1] > 0.5  # one wrong case: Wilson upper bound ≈ 0.79
    rec = json.loads((res.run_dir / "samples.jsonl").read_text().splitlines()[0])
    assert rec["correct"] is False and rec["answer"] == "Anaemia"


@pytest.mark.parametrize(("text", "dx"), [
    ("Based on the findings, the most likely diagnosis for the patient with abdominal distension is "
     "Hirschsprung disease. This condition is rare.", "Hirschsprung disease"),
    ("The most likely diagnosis for this patient is likely to be a chronic kidney disease.", "chronic kidney disease"),
    ("患者最可能的诊断为急性心肌梗死。", "急性心肌梗死"),
    ("DIAGNOSIS READY: Myasthenia gravis\nThe most likely diagnosis is flu.", "Myasthenia gravis"),
    ("Hypothyroidism, given the TSH.\nMore text.", "Hypothyroidism, given the TSH"),
])
def test_extract_diagnosis_from_prose(text: str, dx: str) -> None:
    assert extract_diagnosis(text) == dx
