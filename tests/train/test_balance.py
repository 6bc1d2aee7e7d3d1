"""Answer-key balancing of exam records (no letter prior for the model to learn)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from medsage.cli import cli
from medsage.train.balance import balance_keys
from medsage.train.records import Record, read_records, write_jsonl
from medsage.train.sources.builders import exam_answer, exam_prompt
from medsage.train.sources.exams import ExamItem


def _exam(i: int, key: str = "A", explanation: str = "Ans. is 'a' i.e., Aspirin. It blocks COX.") -> Record:
    choices = {"A": f"right{i}", "B": f"w1-{i}", "C": f"w2-{i}", "D": f"w3-{i}"}
    item = ExamItem(id=str(i), question=f"Question {i}?", choices=choices, answer=key, explanation=explanation,
                    language="en", path="x.json", line=i)
    return Record(id=f"medmcqa:{i}", messages=[{"role": "user", "content": exam_prompt(item)},
                                               {"role": "assistant", "content": exam_answer(item, key)}],
                  source="medmcqa", license="MIT",
                  meta={"kind": "exam", "answer": key, "choices": choices, "explanation": explanation})


def test_keys_are_spread_evenly_and_records_stay_consistent() -> None:
    recs = [_exam(i) for i in range(40)] + [Record(id="q:1", messages=[{"role": "user", "content": "hi"},
                                                                       {"role": "assistant", "content": "yo"}],
                                                   source="medquad", license="CC BY 4.0", meta={"kind": "qa"})]
    out, stats = balance_keys(recs, seed=3)
    assert stats["keys_after"] == {"A": 10, "B": 10, "C": 10, "D": 10}
    assert stats["unchanged"] == 1 and out[-1] == recs[-1]
    for r in out[:40]:
        key = r.meta["answer"]
        right = r.meta["choices"][key]
        assert right.startswith("right")  # the correct text moved with its letter
        assert f"{key}. {right}" in r.messages[0]["content"]
        assert r.messages[1]["content"].startswith(f"The answer is {key}. {right}")
        assert Counter(r.meta["choices"].values()) == Counter(recs[int(r.id.split(':')[1])].meta["choices"].values())
        if key != "A":  # the stale "Ans. is 'a'" clause is gone, the rest of the explanation stays
            assert "Ans. is" not in r.messages[1]["content"] and "It blocks COX." in r.messages[1]["content"]


def test_cli_balance(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl([_exam(i) for i in range(8)], src)
    res = CliRunner().invoke(cli, ["data", "balance", str(src), "-o", str(dst)])
    assert res.exit_code == 0, res.output
    assert Counter(r.meta["answer"] for r in read_records(dst)) == {"A": 2, "B": 2, "C": 2, "D": 2}


def test_cli_balance_without_exam_records_is_a_clear_error(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl([Record(id="q:1", messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
                        source="medquad", license="CC BY 4.0", meta={"kind": "qa"})], src)
    res = CliRunner().invoke(cli, ["data", "balance", str(src), "-o", str(dst)])
    assert res.exit_code == 2 and "no exam records" in res.output and not dst.exists()
