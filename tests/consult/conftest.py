"""Shared helpers for the consult/route tests (mock models only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medsage.models.base import Model, get_model
from medsage.types import CaseState, GenerateConfig, Message, Sample

CARDIO_CASE = (
    "A 62-year-old man with diabetes presents with crushing chest pain and sweating for 1 hour. "
    "Blood pressure is 150/90 mmHg, pulse 110/min. ECG shows ST elevation; troponin is raised."
)
COMPLEX_CASE = CARDIO_CASE + (
    " He also reports fever 39 °C and a productive cough for a week, and has lost 6 kg over three months."
    " Past history: type 2 diabetes for 15 years on metformin and insulin, chronic kidney disease stage 3,"
    " a 40 pack-year smoking history and hypertension treated with amlodipine. On examination he is pale"
    " and sweaty, respiratory rate 28/min, oxygen saturation 89% on room air, with crackles at the right"
    " base and pitting oedema to the knees. Laboratory studies show creatinine 2.1 mg/dL, potassium 5.9"
    " mEq/L, glucose 300 mg/dL, haemoglobin 8 g/dL, white cell count 16,000/mm3 and platelets 90,000/mm3."
    " A chest CT shows a 4 cm spiculated mass in the right upper lobe with mediastinal lymphadenopathy"
    " and a small right pleural effusion; blood cultures are pending."
)
CHOICES = {"A": "Acute myocardial infarction", "B": "Pulmonary embolism", "C": "Aortic dissection",
           "D": "Gastro-oesophageal reflux"}


@pytest.fixture
def script_model(tmp_path: Path):
    """Build a ``mock/script`` model from a list of rules or replies."""

    def make(rules: list[Any], **options: Any) -> Model:
        path = tmp_path / f"script{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
        return get_model("mock/script", {"file": str(path), **options})

    return make


def mcq_state(question: str = CARDIO_CASE, choices: dict[str, str] | None = None,
              lang: str = "en") -> CaseState:
    choices = CHOICES if choices is None else choices
    body = question + "\n" + "\n".join(f"{k}. {v}" for k, v in choices.items())
    body += "\nReply in the form 'The answer is X'." if lang == "en" else "\n请以“答案：X”的格式作答。"
    sample = Sample("1", question, choices, "A", {"language": lang})
    return CaseState(sample, (Message("system", "exam"), Message("user", body)), GenerateConfig(max_tokens=64))


def open_state(text: str) -> CaseState:
    return CaseState(Sample("1", text), (Message("user", text),), GenerateConfig(max_tokens=64))


def specialists(state: CaseState) -> list[dict[str, Any]]:
    return [e for e in state.trace if e.get("role") == "specialist"]
