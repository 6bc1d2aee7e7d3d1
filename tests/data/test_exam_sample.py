"""Validation of the bundled exam-sample data (src/medsage/data/exam_sample)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import medsage

DATA_DIR = Path(medsage.__file__).resolve().parent / "data" / "exam_sample"
LETTERS = {"A", "B", "C", "D"}
CJK = re.compile(r"[\u4e00-\u9fff]")
PERMISSIVE = {"MIT", "Apache-2.0"}
REQUIRED = {
    "id", "question", "options", "answer", "language", "discipline", "discipline_zh", "tier",
    "question_type", "source", "source_id", "licence",
}
SOURCE_RE = re.compile(r"^(MedQA-US test|MedMCQA dev|MMLU [a-z_]+ test|medsage-original)$")
TRANSLATION_NOTE = (
    "medsage developers (human-in-the-loop LLM translation), not an official exam item"
)


def load(name: str) -> list[dict[str, Any]]:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def en() -> list[dict[str, Any]]:
    return load("en.jsonl")


@pytest.fixture(scope="module")
def zh() -> list[dict[str, Any]]:
    return load("zh.jsonl")


def test_at_least_100_items_per_language(en: list[dict[str, Any]], zh: list[dict[str, Any]]) -> None:
    assert len(en) >= 100
    assert len(zh) >= 100
    assert {r["language"] for r in en} == {"en"}
    assert {r["language"] for r in zh} == {"zh"}


def test_ids_unique(en: list[dict[str, Any]], zh: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in en + zh]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes


@pytest.mark.parametrize("name", ["en.jsonl", "zh.jsonl"])
def test_records_well_formed(name: str) -> None:
    for r in load(name):
        missing = REQUIRED - set(r)
        assert not missing, (r.get("id"), missing)
        assert set(r["options"]) == LETTERS, r["id"]
        assert all(isinstance(v, str) and v.strip() for v in r["options"].values()), r["id"]
        assert len({v.strip().lower() for v in r["options"].values()}) == 4, r["id"]
        assert r["answer"] in r["options"], r["id"]
        assert r["question"].strip(), r["id"]
        assert r["question_type"] in {"knowledge", "case"}, r["id"]
        assert r["tier"] in {None, "step1", "step2&3"}, r["id"]
        assert r["discipline"] and re.fullmatch(r"[a-z_]+", r["discipline"]), r["id"]
        assert CJK.search(r["discipline_zh"]), r["id"]
        assert SOURCE_RE.match(r["source"]), r["id"]
        assert r["id"].startswith(r["language"] + "-"), r["id"]
        if r["source"] == "MedQA-US test":
            assert r["tier"] in {"step1", "step2&3"}, r["id"]


@pytest.mark.parametrize("name", ["en.jsonl", "zh.jsonl"])
def test_only_permissive_licences(name: str) -> None:
    for r in load(name):
        assert r["licence"] in PERMISSIVE, r["id"]
        if r["source"] == "medsage-original":
            assert r["licence"] == "Apache-2.0", r["id"]
        else:
            assert r["licence"] == "MIT", r["id"]
        text = json.dumps(r, ensure_ascii=False)
        assert "CMMLU" not in text and "CNMLEQA" not in text, r["id"]


def test_chinese_items_are_chinese(zh: list[dict[str, Any]]) -> None:
    for r in zh:
        assert CJK.search(r["question"]), r["id"]
        # an option may be a pure number or symbol ("25%", "gp120"), but most must be Chinese
        assert sum(bool(CJK.search(v)) for v in r["options"].values()) >= 1 or all(
            not re.search(r"[A-Za-z]{4,}", v) for v in r["options"].values()
        ), r["id"]
    share = sum(all(CJK.search(v) for v in r["options"].values()) for r in zh) / len(zh)
    assert share > 0.7


def test_chinese_items_record_translation(zh: list[dict[str, Any]]) -> None:
    for r in zh:
        if r["source"] == "medsage-original":
            continue
        assert r["translation"] == TRANSLATION_NOTE, r["id"]
        src = r["translated_from"]
        assert src == {"source": r["source"], "source_id": r["source_id"]}, r["id"]


def test_english_items_are_english(en: list[dict[str, Any]]) -> None:
    for r in en:
        assert not CJK.search(r["question"]), r["id"]


def test_halves_are_independent(en: list[dict[str, Any]], zh: list[dict[str, Any]]) -> None:
    en_keys = {(r["source"], r["source_id"]) for r in en}
    zh_keys = {(r["source"], r["source_id"]) for r in zh if r["source"] != "medsage-original"}
    assert not en_keys & zh_keys


def test_balance(en: list[dict[str, Any]], zh: list[dict[str, Any]]) -> None:
    for half in (en, zh):
        by_source = Counter(r["source"].split()[0] for r in half)
        assert by_source["MedQA-US"] >= 30 and by_source["MedMCQA"] >= 30
        assert by_source["MMLU"] >= 24
        assert len({r["source"] for r in half if r["source"].startswith("MMLU")}) == 6
        assert {r["tier"] for r in half if r["source"] == "MedQA-US test"} == {"step1", "step2&3"}
        assert {r["question_type"] for r in half} == {"knowledge", "case"}
        assert len({r["discipline"] for r in half}) >= 15


def test_attribution_present() -> None:
    text = (DATA_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("MedQA", "MedMCQA", "MMLU", "MIT", "Jin", "Pal", "Hendrycks", "translat"):
        assert needle in text
    assert "{{" not in text
