"""Curation: builders, records validation, filters, dedup, pairs (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import chat, write_jsonl

from medsage.errors import DataError
from medsage.train.dedup import dedup
from medsage.train.pairs import build_pairs
from medsage.train.quality import FilterConfig, apply_filters, is_commercial_ok, stated_answer
from medsage.train.records import Record, read_pairs, read_records
from medsage.train.records import write_jsonl as write_items
from medsage.train.sources.builders import build_source


def test_exam_builder_formats_and_reports_bad_rows(sources: dict[str, Path]) -> None:
    res = build_source("medmcqa", str(sources["medmcqa"]))
    assert [r.id for r in res.records] == ["medmcqa:m1", "medmcqa:m2", "medmcqa:m3", "medmcqa:m4"]
    assert len(res.problems) == 1 and "medmcqa.json:5" in res.problems[0]
    r = res.records[0]
    assert r.license == "MIT" and r.provenance["line"] == 1
    assert "B. Ethosuximide" in r.messages[0]["content"]
    assert r.messages[1]["content"].startswith("The answer is B. Ethosuximide")
    assert "Explanation:" in r.messages[1]["content"]


def test_medquad_and_safety_builders(sources: dict[str, Path]) -> None:
    mq = build_source("medquad", str(sources["medquad"]))
    assert len(mq.records) == 1 and mq.records[0].license == "CC BY 4.0"
    assert mq.records[0].provenance["url"] == "https://example.org/condition"
    assert len(mq.problems) == 1 and "empty answer" in mq.problems[0]
    saf = build_source("medsafetybench", str(sources["safety"]))
    assert len(saf.records) == 2 and saf.records[0].meta["kind"] == "safety"


def test_answer_key_consistency_filter(sources: dict[str, Path]) -> None:
    recs = build_source("medmcqa", str(sources["medmcqa"])).records
    kept, rep = apply_filters(recs, FilterConfig())
    # m2's explanation says "a" but its key is C: dropped; the others pass.
    assert [r.id for r in kept] == ["medmcqa:m1", "medmcqa:m3", "medmcqa:m4"]
    assert rep.dropped["answer_key"] == 1
    assert "explanation says A but the key is C" in rep.examples["answer_key"][0]
    assert stated_answer("Ans. is 'b' i.e.") == "B" and stated_answer("答案：D") == "D"
    assert stated_answer("Answer lies in physiology") is None


def test_language_length_licence_filters() -> None:
    recs = [
        Record("a", [{"role": "user", "content": "What is fever?"}, {"role": "assistant", "content": "A raised body temperature."}], "s", "CC BY 4.0"),
        Record("b", [{"role": "user", "content": "发热是什么？"}, {"role": "assistant", "content": "体温升高。"}], "s", "CC BY-NC-SA 4.0", "zh"),
        Record("c", [{"role": "user", "content": "What is a cold?"}, {"role": "assistant", "content": "ok"}], "s", "unknown"),
    ]
    kept, rep = apply_filters(recs, FilterConfig(languages=("zh",)))
    assert [r.id for r in kept] == ["b"]
    kept, rep = apply_filters(recs, FilterConfig(commercial_only=True))
    assert [r.id for r in kept] == ["a"] and rep.dropped["licence"] == 2
    kept, _ = apply_filters(recs, FilterConfig(min_answer_chars=5))
    assert [r.id for r in kept] == ["a", "b"]
    assert is_commercial_ok("MIT") and not is_commercial_ok("CC BY-NC-SA 4.0") and not is_commercial_ok("")


def test_exact_and_near_duplicates() -> None:
    base = "Hypertension is persistently raised arterial blood pressure, usually defined as 140/90 mmHg or more on repeated measurement in clinic."
    recs = [
        Record("1", [{"role": "user", "content": "Define hypertension."}, {"role": "assistant", "content": base}], "s", "MIT"),
        Record("2", [{"role": "user", "content": "define  HYPERTENSION."}, {"role": "assistant", "content": base}], "s", "MIT"),
        Record("3", [{"role": "user", "content": "Define hypertension!"}, {"role": "assistant", "content": base + " Treat it."}], "s", "MIT"),
        Record("4", [{"role": "user", "content": "What is asthma?"}, {"role": "assistant", "content": "Chronic airway inflammation with reversible obstruction and wheeze."}], "s", "MIT"),
    ]
    kept, rep = dedup(recs, threshold=0.7)
    assert [r.id for r in kept] == ["1", "4"]
    assert rep.exact == 1 and rep.near == 1 and rep.removed == {"2": "1", "3": "1"}
    kept, rep = dedup(recs, threshold=0)
    assert [r.id for r in kept] == ["1", "3", "4"]


def test_preference_pairs(sources: dict[str, Path], tmp_path: Path) -> None:
    recs = build_source("medmcqa", str(sources["medmcqa"])).records
    recs += build_source("medsafetybench", str(sources["safety"])).records
    pairs, stats = build_pairs(recs, seed=3)
    assert stats["exam"] == 4 and stats["safety"] == 2
    ex = pairs[0]
    assert ex.chosen.startswith("The answer is B") and not ex.rejected.startswith("The answer is B")
    assert ex.prompt[-1]["role"] == "user"
    saf = pairs[-1]
    assert saf.meta["rejected_synthetic"] is True and "can't help" in saf.chosen
    again, _ = build_pairs(recs, seed=3)
    assert [p.rejected for p in again] == [p.rejected for p in pairs]  # seeded
    out = tmp_path / "pairs.jsonl"
    write_items(pairs, out)
    assert len(read_pairs(out)) == 6


@pytest.mark.parametrize(("row", "needle"), [
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}]}, "turn 1 (assistant) is empty"),
    ({"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}, "turn 0 is 'assistant' but 'user' was expected"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "q2"}]}, "turn 1 is 'user'"),
    ({"messages": [{"role": "user", "content": "q"}]}, "last turn must be 'assistant'"),
    ({"messages": [{"role": "doctor", "content": "q"}]}, "unknown role 'doctor'"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}]}, "system message after the first"),
])
def test_malformed_records_name_file_and_line(tmp_path: Path, row: dict[str, object], needle: str) -> None:
    good = chat("What is fever?", "Raised temperature.", "ok1")
    bad = {"id": "bad", "source": "t", "license": "MIT", **row}
    p = write_jsonl(tmp_path / "d.jsonl", [good, bad])
    with pytest.raises(DataError) as ei:
        read_records(p)
    assert f"{p}:2" in str(ei.value) and needle in str(ei.value)


def test_bad_json_empty_file_and_duplicate_ids(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(chat("q", "a", "1")) + "\n{not json\n")
    with pytest.raises(DataError, match=r"x.jsonl:2: not valid JSON"):
        read_records(p)
    p.write_text("\n")
    with pytest.raises(DataError, match="no records"):
        read_records(p)
    write_jsonl(p, [chat("q", "a", "1"), chat("q2", "a2", "1")])
    with pytest.raises(DataError, match="repeats id '1'"):
        read_records(p)
    bad_pair = {"id": "p", "source": "t", "license": "MIT", "prompt": [{"role": "user", "content": "q"}],
                "chosen": "same", "rejected": "same"}
    write_jsonl(p, [bad_pair])
    with pytest.raises(DataError, match="identical"):
        read_pairs(p)
