"""Extraction on synthetic replies in common Chinese (and English) answer styles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medsage.scoring.extract import REASONS, extract, extract_choice

FIX = Path(__file__).parent / "fixtures"
CHOICES = json.loads((FIX / "choices.json").read_text(encoding="utf-8"))
ROWS = [json.loads(x) for x in (FIX / "zh_styles.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['item']}-{i}" for i, r in enumerate(ROWS)])
def test_style(row: dict) -> None:
    got = extract(row["reply"], CHOICES[row["item"]])
    assert got.letter == row["expected"], got
    if row["expected"] is None:
        assert got.reason == row["reason"]
        assert got.reason in REASONS
    else:
        assert got.reason == "" and got.rule


def test_fixture_covers_every_reason_and_many_styles() -> None:
    assert len(ROWS) >= 60
    assert {r["reason"] for r in ROWS if r["expected"] is None} >= set(REASONS)


def test_extract_choice_is_the_letter() -> None:
    assert extract_choice("故选E", CHOICES["report"]) == "E"
    assert extract_choice("A或C", CHOICES["report"]) is None


def test_never_a_default_letter_on_off_topic_replies() -> None:
    for reply in ("def helper(x):\n    return x", "Not A Language Model", "你好，建议到医院就诊。"):
        assert extract(reply, CHOICES["fracture"]).letter is None
