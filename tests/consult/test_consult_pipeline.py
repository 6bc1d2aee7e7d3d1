"""The consult pipeline with scripted mock agents: votes, rounds, bad agents, bad input."""

from __future__ import annotations

import time

import pytest

from medsage.errors import SpecError
from medsage.models.base import get_model
from medsage.pipeline import get_pipeline
from medsage.types import DISCLAIMER

from .conftest import mcq_state, open_state, specialists

SPLIT = [  # cardiologist and endocrinologist say A, the pulmonologist B
    {"contains": "experienced cardiologist", "response": "The answer is A. Rationale: ST elevation."},
    {"contains": "experienced endocrinologist", "response": "The answer is A. Rationale: diabetic, atypical."},
    {"contains": "experienced pulmonologist", "response": "The answer is B. Rationale: tachycardia."},
    {"contains": "experienced", "response": "The answer is B. Rationale: other."},
]


async def test_majority_vote_with_dissent_and_summed_usage(script_model) -> None:
    pipe = get_pipeline("consult", script_model(SPLIT), {"mode": "panel", "rounds": 1, "safety": "off"})
    out = await pipe.run(mcq_state())
    assert out.output is not None and out.output.text == "The answer is A."
    mod = next(e for e in out.trace if e["role"] == "moderator" and "votes" in e)
    assert mod["votes"]["A"] == 2 and mod["confidence"] == pytest.approx(2 / 3, abs=1e-3)
    assert [d["department"] for d in mod["dissent"]] == [e["department"] for e in specialists(out)
                                                         if e["answer"] == "B"][:1]
    total = sum(e["usage"]["prompt_tokens"] + e["usage"]["completion_tokens"] for e in out.trace if "usage" in e)
    assert out.output.usage.total_tokens == total > 0
    assert out.output.extras["trace"] == list(out.trace)
    assert out.output.extras["consult"]["calls"] == len(specialists(out))


async def test_rounds_are_bounded_and_recorded(script_model) -> None:
    pipe = get_pipeline("consult", script_model(SPLIT), {"mode": "mdt", "rounds": 2, "safety": "off"})
    out = await pipe.run(mcq_state())
    rounds = sorted({e["round"] for e in specialists(out)})
    assert rounds == [0, 1, 2]
    per_round = len(specialists(out)) // 3
    assert per_round >= 3 and len(specialists(out)) == 3 * per_round


async def test_unanimous_panel_closes_discussion_early() -> None:
    pipe = get_pipeline("consult", get_model("mock/fixed", {"text": "The answer is C."}), {"rounds": 3})
    out = await pipe.run(mcq_state())
    assert {e["round"] for e in specialists(out)} == {0}
    assert any("closed early" in str(e.get("content")) for e in out.trace)
    assert out.output is not None and out.output.text == "The answer is C."


async def test_zero_rounds_gives_independent_opinions_only(script_model) -> None:
    pipe = get_pipeline("consult", script_model(SPLIT), {"rounds": 0})
    out = await pipe.run(mcq_state())
    assert {e["round"] for e in specialists(out)} == {0}
    assert out.output is not None and out.output.text == "The answer is A."


async def test_empty_replies_give_a_clear_no_answer(script_model) -> None:
    pipe = get_pipeline("consult", script_model([{"contains": "", "response": ""}]), {"rounds": 1})
    out = await pipe.run(mcq_state())
    assert out.output is not None and out.output.text.startswith("No answer")
    assert all(e.get("error") == "empty reply" for e in specialists(out))


async def test_failing_agents_are_recorded_not_raised() -> None:
    pipe = get_pipeline("consult", get_model("mock/error"), {"mode": "mdt"})
    out = await pipe.run(mcq_state())
    assert out.output is not None and out.output.text.startswith("No answer")
    assert all(e.get("error") == "mock failure" for e in specialists(out))


async def test_looping_agent_is_cut_and_still_counted(script_model) -> None:
    pipe = get_pipeline("consult", script_model([{"contains": "", "response": "The answer is D. " * 60}]),
                        {"rounds": 1})
    out = await pipe.run(mcq_state())
    first = specialists(out)[0]
    assert any("loop detected" in n for n in first["notes"]) and len(first["content"]) < 100
    assert out.output is not None and out.output.text == "The answer is D."


async def test_hanging_agent_times_out() -> None:
    model = get_model("mock/fixed", {"delay": 5})
    pipe = get_pipeline("consult", model, {"rounds": 2, "agent_timeout": 0.05, "max_specialists": 2})
    start = time.perf_counter()
    out = await pipe.run(mcq_state())
    assert time.perf_counter() - start < 2
    assert all("no reply within" in e["error"] for e in specialists(out))


async def test_empty_case_is_an_error_with_trace() -> None:
    out = await get_pipeline("consult", get_model("mock/echo")).run(open_state("   "))
    assert out.output is not None and "no findings" in (out.output.error or "")
    assert out.trace and out.trace[0]["error"] == "empty case"


async def test_contradictory_findings_reach_agents_and_trace() -> None:
    text = "A 40-year-old man, 12 weeks pregnant, afebrile, temperature 39.2 °C, with abdominal pain."
    out = await get_pipeline("consult", get_model("mock/echo"), {"rounds": 0}).run(open_state(text))
    caveats = out.trace[0]["caveats"]
    assert any("female-specific" in c for c in caveats) and any("39.2" in c for c in caveats)
    first = specialists(out)[0]
    assert "Note on the case record" in first["content"]  # echo shows what the agent was told


async def test_foreign_language_case_is_flagged() -> None:
    text = "Patient de 45 ans avec une douleur thoracique depuis deux heures et une dyspnée."
    out = await get_pipeline("consult", get_model("mock/echo"), {"rounds": 0}).run(open_state(text))
    assert any("no specialist prompts" in c for c in out.trace[0]["caveats"])
    assert out.output is not None and out.output.text


async def test_chinese_mcq_uses_chinese_prompts_and_format() -> None:
    state = mcq_state("男，59岁。胸痛1小时，心电图示ST段抬高。最可能的诊断是",
                      {"A": "急性心肌梗死", "B": "肺栓塞", "C": "主动脉夹层"}, lang="zh")
    out = await get_pipeline("consult", get_model("mock/random"), {"rounds": 0}).run(state)
    assert out.output is not None and out.output.text.startswith("答案：")
    assert specialists(out)[0]["department"] == "cardiology"


async def test_open_case_moderator_records_dissent(script_model) -> None:
    rules = [
        {"contains": "chair of a multidisciplinary", "response": "Admit and start antibiotics.\nDissent: cardiologist prefers echo first."},
        {"contains": "", "response": "Start antibiotics after cultures."},
    ]
    out = await get_pipeline("consult", script_model(rules), {"rounds": 1, "safety": "off"}).run(
        open_state("A 70-year-old woman with fever 39 °C, a new murmur and positive blood cultures."))
    assert out.output is not None and out.output.text.startswith("Admit and start antibiotics.")
    assert out.output.text.endswith(DISCLAIMER)
    assert out.output.extras["consult"]["dissent"] == ["cardiologist prefers echo first."]


@pytest.mark.parametrize("options", [{"mode": "tumour"}, {"rounds": -1}, {"max_specialists": 0},
                                     {"rounds": "many"}])
def test_bad_options_are_spec_errors(options: dict[str, object]) -> None:
    with pytest.raises(SpecError):
        get_pipeline("consult", get_model("mock/echo"), options)
