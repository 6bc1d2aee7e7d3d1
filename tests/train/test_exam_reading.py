"""Issue #21: exam files are parsed only by the task loaders (``medsage.tasks.exams``).

Training-data building, decontamination, curation and the question bank read exam files
through the loaders; the loaders keep explanations in ``metadata["explanation"]``, which
never reaches a prompt, a pipeline or a results file.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import MEDMCQA, write_jsonl

from medsage.errors import DataError
from medsage.runner import EvalConfig, _record, blind, get_task
from medsage.tasks.exams.common import exam_messages
from medsage.tasks.exams.detect import detect_exam_file, detect_file
from medsage.train.decontam import benchmark_items
from medsage.train.sources.builders import build_source
from medsage.train.sources.exams import load_exam_items, read_exam_items
from medsage.types import CaseState, Sample, Score

TESTS = Path(__file__).resolve().parents[1]
EXAMS = TESTS / "foundation" / "fixtures" / "exams"
SRC = TESTS.parent / "src" / "medsage"

PQAL = {"111": {"QUESTION": "Does aspirin reduce stroke risk?", "CONTEXTS": ["Trial A."], "final_decision": "yes",
                "LONG_ANSWER": "Aspirin reduced the risk of stroke.", "YEAR": "2001"},
        "222": {"QUESTION": "Is X linked to Y?", "CONTEXTS": ["Unclear."], "final_decision": "maybe",
                "LONG_ANSWER": "", "YEAR": "2005"}}
CMB_CLIN = [{"id": "0", "title": "案例分析-腹外疝", "description": "病人，男，49岁，3小时前解大便后出现右下腹疼痛。",
             "QA_pairs": [{"question": "诊断？", "answer": "腹股沟斜疝嵌顿"}]}]


def test_loaders_keep_explanations(sources: dict[str, Path], tmp_path: Path) -> None:
    med = {s.id: s for s in get_task("medmcqa").load(data=str(sources["medmcqa"])).samples}
    assert med["m1"].metadata["explanation"] == "Ans. is 'b' i.e., Ethosuximide"
    assert "explanation" not in med["m3"].metadata and "explanation" not in med["m4"].metadata  # null / empty
    pq = tmp_path / "ori_pqal.json"
    pq.write_text(json.dumps(PQAL))
    got = {s.id: s for s in get_task("pubmedqa").load(data=str(pq), split="all").samples}
    assert got["111"].metadata["explanation"] == "Aspirin reduced the risk of stroke."
    assert "explanation" not in got["222"].metadata
    cm = get_task("cmexam").load(data=str(EXAMS / "cmexam.csv")).samples
    assert cm and all(isinstance(s.metadata.get("explanation", ""), str) for s in cm)


def test_the_detector_picks_each_format_by_content(sources: dict[str, Path]) -> None:
    assert detect_exam_file(sources["test"]).reader == "medqa_mcmle"  # MedQA (either language)
    for path, reader in (("medmcqa.json", "medmcqa"), ("cmmlu/test", "cmmlu_medical"), ("pubmedqa", "pubmedqa")):
        assert detect_exam_file(EXAMS / path).reader == reader, path
    with pytest.raises(DataError, match="not an exam file any reader accepts"):
        detect_exam_file(TESTS / "pipelines" / "fixtures" / "not_an_exam.jsonl")
    # 2 of 3 rows usable: too few for the bank's rule, enough for training data (the bad row is a problem)
    with pytest.raises(DataError, match=r"cnmleqa \(2 of 3 rows usable\)"):
        detect_exam_file(EXAMS / "cnmleqa.json")
    assert detect_file(EXAMS / "cnmleqa.json").reader == "cnmleqa"
    assert detect_file(EXAMS / "cmb.json").reader == "cmb_exam"
    assert detect_file(EXAMS / "cmexam.csv").reader == "cmexam"  # 1 of 2: a multi-answer row is skipped
    assert detect_file(EXAMS / "mmlu").reader == "mmlu_medical"  # a folder
    assert detect_file(TESTS / "rubric" / "fixtures" / "healthbench_small.jsonl").reader == "healthbench"
    assert detect_file(TESTS / "notes" / "fixtures" / "mts_sample.csv").reader == "notes_mts"
    assert detect_file(TESTS / "notes" / "fixtures" / "aci_sample.csv").reader == "notes_aci"


def test_read_exam_items_are_the_loader_samples(sources: dict[str, Path]) -> None:
    samples = get_task("medmcqa").load(data=str(sources["medmcqa"])).samples
    items = read_exam_items(sources["medmcqa"])
    assert [(i.id, i.question, i.choices, i.answer) for i in items] == [
        (s.id, s.question, s.choices, s.target) for s in samples]
    assert items[0].explanation == MEDMCQA[0]["exp"] and items[0].line == 1
    assert items[0].path == str(sources["medmcqa"]) and items[0].discipline == "Pharmacology"
    got = load_exam_items(sources["medmcqa"])  # the loader's skipped row comes back as a problem
    assert got.readers == {str(sources["medmcqa"]): "medmcqa"}
    assert len(got.problems) == 1 and "medmcqa.json:5" in got.problems[0]
    folder = read_exam_items(EXAMS / "mmlu")
    assert [i.id for i in folder] == [s.id for s in get_task("mmlu_medical").load(data=str(EXAMS / "mmlu")).samples]


def test_open_formats_go_through_their_tasks(tmp_path: Path) -> None:
    hb = read_exam_items(TESTS / "rubric" / "fixtures" / "healthbench_small.jsonl")
    task = get_task("healthbench").load(data=str(TESTS / "rubric" / "fixtures" / "healthbench_small.jsonl"))
    assert [i.id for i in hb] == [s.id for s in task.samples] and all(not i.choices and not i.answer for i in hb)
    clin = tmp_path / "cmb_clin.json"
    clin.write_text(json.dumps(CMB_CLIN, ensure_ascii=False), encoding="utf-8")
    (item,) = read_exam_items(clin)
    assert (item.id, item.question, item.choices, item.language) == ("0", CMB_CLIN[0]["description"], {}, "zh")
    # a test file the named task rejects is read by the reader its content picks (a warning says so)
    (ti,) = benchmark_items("cmb_exam", clin)
    assert ti.id == "0" and ti.text == CMB_CLIN[0]["description"]
    junk = write_jsonl(tmp_path / "junk.jsonl", [{"foo": 1}])
    with pytest.raises(DataError, match="no usable cmb_exam items"):
        benchmark_items("cmb_exam", junk)
    with pytest.raises(DataError, match="no exam or open-answer reader accepts it"):
        read_exam_items(junk)


def test_build_reports_the_loader_problems_and_keeps_explanations(sources: dict[str, Path]) -> None:
    res = build_source("exam", str(sources["medmcqa"]))
    assert [r.id for r in res.records] == ["exam:m1", "exam:m2", "exam:m3", "exam:m4"]
    assert "Explanation: Ans. is 'b' i.e., Ethosuximide" in res.records[0].messages[1]["content"]
    assert len(res.problems) == 1 and "medmcqa.json:5: answer key 'D'" in res.problems[0]


def test_explanation_never_reaches_a_prompt_a_pipeline_or_a_result() -> None:
    with_exp = Sample("x", "Which drug?", {"A": "a", "B": "b"}, "B",
                      {"language": "en", "explanation": "Ans. B because of the answer key", "where": "f:1"})
    plain = Sample("x", "Which drug?", {"A": "a", "B": "b"}, "B", {"language": "en", "where": "f:1"})
    for mode in ("generate", "cot", "likelihood"):
        assert exam_messages(with_exp, mode) == exam_messages(plain, mode)
    seen = blind(with_exp)
    assert seen.target == "" and "explanation" not in seen.metadata
    rec = _record("t", EvalConfig(tasks=["t"], model="mock"), "mock", CaseState(sample=with_exp, messages=()),
                  Score(1.0, "B", "B"), 0.0)
    assert "explanation" not in rec["metadata"] and rec["metadata"]["language"] == "en"


# Field names of the native exam formats. A module that mentions one is parsing exam files
# itself; only the task loaders in medsage/tasks/exams may.
NATIVE_FIELDS = {"opa", "opb", "opc", "opd", "ope", "cop", "exp", "answer_idx", "meta_info", "QUESTION", "CONTEXTS",
                 "LONG_ANSWER", "final_decision", "exam_class", "exam_subject", "subject_name", "topic_name",
                 "reference_answer", "QA_pairs"}
# Modules that handle exam items; they read files only through the loaders (no csv, no xlsx rows).
EXAM_CONSUMERS = ("train/sources/exams.py", "train/decontam.py", "train/curation/load.py", "pipelines/bank.py")


def parser_traces(rel: str, source: str) -> list[str]:
    """Signs that module ``rel`` (path under ``medsage/``) parses exam files itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NATIVE_FIELDS:
            found.append(f"{rel}:{node.lineno} {node.value!r}")
        if rel not in EXAM_CONSUMERS:
            continue
        if isinstance(node, ast.Import) and any(a.name == "csv" for a in node.names):
            found.append(f"{rel}:{node.lineno} import csv")
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if name in ("read_xlsx_rows", "DictReader"):
            found.append(f"{rel}:{node.lineno} reads a table")
    return found


def test_no_module_outside_tasks_exams_parses_exam_files() -> None:
    assert parser_traces("train/decontam.py", 'import csv\ndef f(o):\n    return o["cop"], o.get("LONG_ANSWER")\n') == [
        "train/decontam.py:1 import csv", "train/decontam.py:3 'cop'", "train/decontam.py:3 'LONG_ANSWER'"]
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if not rel.startswith("tasks/exams/"):
            found += parser_traces(rel, path.read_text(encoding="utf-8"))
    assert found == []
