from __future__ import annotations

import json

from click.testing import CliRunner

from medsage.cli import cli
from medsage.models.base import get_model
from medsage.pipeline import get_pipeline
from medsage.registry import tasks
from medsage.types import CaseState, GenerateConfig, ModelOutput


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["note", *args])


def test_cli_markdown_and_json(fixtures):
    r = _invoke(str(fixtures / "consult_en.txt"), "--strategy", "extractive", "--no-embed")
    assert r.exit_code == 0, r.output
    assert "## Assessment and plan" in r.output and "[turns: t" in r.output
    r = _invoke(str(fixtures / "consult_en.txt"), "-m", "mock/fixed", "-M", "text=Chest pain for three days.",
                "--no-embed", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sections"][0]["sentences"][0]["supported"] is True
    assert data["transcript"]["turns"][0]["id"] == "t1"


def test_cli_bad_inputs(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = _invoke(str(empty), "--strategy", "extractive")
    assert r.exit_code == 2 and "empty" in r.output and "Traceback" not in r.output
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    r = _invoke(str(junk), "--strategy", "extractive")
    assert r.exit_code == 2 and "does not look like" in r.output


def test_cli_no_patient_turns_warns(tmp_path):
    f = tmp_path / "doc.txt"
    f.write_text("Doctor: Blood pressure is 150 over 90.\nDoctor: I will start lisinopril 10 mg daily.\n")
    r = _invoke(str(f), "--strategy", "extractive", "--no-embed")
    assert r.exit_code == 0 and "no patient turns" in r.output


async def test_note_pipeline_on_aci_sample(fixtures):
    task = tasks.get("notes_aci")
    loaded = task.load(str(fixtures / "aci_sample.csv"))
    assert len(loaded.samples) == 2 and loaded.samples[0].metadata["tier"] == "aci_sample"
    sample = loaded.samples[0]
    pipe = get_pipeline("note", get_model("mock/fixed", {"text": "Chest pain for three days."}), {})
    msgs = task.messages(sample)
    state = await pipe.run(CaseState(sample, tuple(msgs), GenerateConfig()))
    assert state.output is not None and "CHIEF COMPLAINT" in state.output.text
    assert state.output.extras["note"]["sections"][0]["sentences"]
    score = await task.score(state)
    assert 0 < score.value < 1
    for key in ("rouge1", "rouge2", "rougeL", "concept_f1", "hallucination_rate", "omission_rate",
                "completeness", "time_saved"):
        assert key in score.metadata


async def test_plain_prompt_baseline_scores(fixtures):
    task = tasks.get("notes_aci")
    sample = task.load(str(fixtures / "aci_sample.csv")).samples[0]
    msgs = task.messages(sample)
    assert "CHIEF COMPLAINT".lower() in msgs[-1].content.lower() and "Lisinopril" in msgs[-1].content
    out = ModelOutput(text="CHIEF COMPLAINT\nChest pain.\nASSESSMENT AND PLAN\nThe patient was abducted by aliens.")
    score = await task.score(CaseState(sample, tuple(msgs), output=out))
    assert score.metadata["hallucination_rate"] == 0.5
    empty = await task.score(CaseState(sample, tuple(msgs), output=ModelOutput(error="boom")))
    assert empty.value == 0.0


async def test_mts_and_primock_loaders(fixtures):
    mts = tasks.get("notes_mts").load(str(fixtures / "mts_sample.csv"))
    assert [s.metadata["section_id"] for s in mts.samples] == ["ALLERGY", "MEDICATIONS"]
    assert len(mts.problems) == 1
    pipe = get_pipeline("note", get_model("mock/fixed", {"text": "Allergic to penicillin."}), {})
    s = mts.samples[0]
    state = await pipe.run(CaseState(s, tuple(tasks.get("notes_mts").messages(s))))
    score = await tasks.get("notes_mts").score(state)
    assert score.value == 1.0  # heading removed, text identical to the reference
    pm = tasks.get("notes_primock57").load(str(fixtures / "primock"))
    assert len(pm.samples) == 1 and "gastroenteritis" in pm.samples[0].target
    assert pm.samples[0].question.startswith("Doctor:")


async def test_mie_task_and_extractor(fixtures):
    task = tasks.get("mie_zh")
    loaded = task.load(str(fixtures / "mie" / "test.json"))
    (sample,) = loaded.samples
    assert sample.question.splitlines()[0] == "患者:我最近胸口疼，晚上睡不着"
    pipe = get_pipeline("note", get_model("mock/echo"), {})
    state = await pipe.run(CaseState(sample, tuple(task.messages(sample))))
    labels = set(state.output.text.splitlines())
    assert "症状:胸痛-状态:阳性" in labels and "症状:发热-状态:阴性" in labels
    assert "检查:心电图-状态:医生阳性" in labels and "症状:发热-状态:未知" in labels
    score = await task.score(state)
    assert score.value == 1.0
    bad = await task.score(CaseState(sample, (), output=ModelOutput(text="症状:胸闷-状态:阳性")))
    assert bad.value == 0.0 and bad.metadata["fp"] == 1
