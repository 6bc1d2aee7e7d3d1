"""Contamination n-gram check and the shipped dual-track scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medsage.models.base import get_model
from medsage.rubric.contamination import corpus_texts, overlap, tokens
from medsage.tasks.dual_track import TASK as DUAL
from medsage.tasks.dual_track import risk_weighted, shipped_scenarios
from medsage.types import CaseState, ModelOutput


def test_tokens_mix_words_and_cjk() -> None:
    assert tokens("Take 2 tablets 每天两次") == ["take", "2", "tablets", "每", "天", "两", "次"]


def test_overlap_flags_copied_item(tmp_path: Path) -> None:
    copied = "a 45 year old man presents with crushing chest pain radiating to the left arm and sweating"
    (tmp_path / "kb.jsonl").write_text(json.dumps({"text": "Case: " + copied + ". ECG shows ST elevation."}) + "\n")
    (tmp_path / "other.txt").write_text("unrelated text about vitamin d and bone health in older adults " * 3)
    items = {"q1": copied, "q2": "which vitamin deficiency causes scurvy in sailors on long voyages without fruit", "q3": "too short"}
    out = overlap(items, corpus_texts([tmp_path]), n=8, threshold=0.5)
    assert [f["id"] for f in out["flagged"]] == ["q1"]
    assert out["flagged"][0]["overlap"] == pytest.approx(1.0)
    assert "kb.jsonl:1" in out["flagged"][0]["sources"][0]
    assert out["too_short"] == ["q3"]


def test_shipped_scenarios_are_complete() -> None:
    rows = [json.loads(line) for line in shipped_scenarios().read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 40
    assert {r["language"] for r in rows} == {"en", "zh"}
    cats = {r["category"] for r in rows}
    assert {"emergency", "drug_interaction", "contraindication", "paediatric_dosing", "pregnancy",
            "mental_health_crisis", "ordinary"} <= cats
    for r in rows:
        assert r["licence"] == "Apache-2.0"
        assert all(c["source"].strip() and c["track"] in ("safety", "effectiveness") for c in r["criteria"])
    # over-caution is penalised in ordinary questions
    assert all(any(c["points"] < 0 and c["track"] == "effectiveness" for c in r["criteria"])
               for r in rows if r["category"] == "ordinary")
    result = DUAL.load()
    assert len(result.samples) == len(rows) and not result.problems


def test_dual_track_bad_rows(tmp_path: Path) -> None:
    good = json.loads(shipped_scenarios().read_text(encoding="utf-8").splitlines()[0])
    bad_risk = {**good, "id": "x1", "risk": "extreme"}
    no_source = {**good, "id": "x2", "criteria": [{**c, "source": ""} for c in good["criteria"]]}
    one_track = {**good, "id": "x3", "criteria": [c for c in good["criteria"] if c["track"] == "safety"]}
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (good, bad_risk, no_source, one_track)) + "\n")
    result = DUAL.load(str(path))
    assert [s.id for s in result.samples] == [good["id"]]
    joined = "\n".join(result.problems)
    assert "risk must be" in joined and "missing source" in joined and "no positive effectiveness" in joined


async def test_dual_track_scores_per_track(tmp_path: Path) -> None:
    # grader says every safety criterion is met and every effectiveness criterion is not
    script = tmp_path / "g.json"
    met = "```json\n{\"criteria_met\": true}\n```"
    unmet = "```json\n{\"criteria_met\": false}\n```"
    samples = DUAL.load(risk="high", language="en").samples[:3]
    entries = []
    for s in samples:
        for c in s.metadata["rubrics"]:
            pts = int(c["points"]) if float(c["points"]).is_integer() else c["points"]
            entries.append({"contains": f"[{pts}] {c['criterion']}", "response": met if c["track"] == "safety" else unmet})
    script.write_text(json.dumps(entries))
    grader = get_model("mock/script", {"file": str(script)})
    records = []
    for s in samples:
        state = CaseState(s, tuple(DUAL.messages(s)), output=ModelOutput(text="Call emergency services."))
        score = await DUAL.score(state, grader)
        assert score.metadata["metrics"]["track:effectiveness"] <= 0.0
        records.append({"id": s.id, "metadata": s.metadata, "extras": score.metadata})
    agg = DUAL.aggregate(records)
    assert agg["n"] == 3
    assert agg["tracks"]["effectiveness"]["mean"] == 0.0
    # safety: met positive and met negative items; hand-check the first scenario
    first = samples[0].metadata["rubrics"]
    safety = [c["points"] for c in first if c["track"] == "safety"]
    expected = sum(safety) / sum(p for p in safety if p > 0)
    assert records[0]["extras"]["metrics"]["track:safety"] == pytest.approx(expected)
    assert agg["high_risk"]["n_samples"] == 3
    assert risk_weighted(records) is not None
