"""Issue #23, item 2: progress on stderr for note, consult and train (plain lines off a terminal),
never on the ``--json`` stdout; the progress module's heartbeat, one-step stages and summary."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.progress import Progress, StageProgress

TRANSCRIPT = """Doctor: What brings you in today?
Patient: I have had a cough and fever for three days.
Doctor: Any chest pain or shortness of breath?
Patient: Some shortness of breath when I climb stairs.
Doctor: We will start amoxicillin 500 mg three times a day.
"""


def test_note_progress_on_stderr_and_clean_json(tmp_path: Path) -> None:
    tr = tmp_path / "t.txt"
    tr.write_text(TRANSCRIPT)
    r = CliRunner().invoke(cli, ["note", str(tr), "--model", "mock/echo", "--no-embed", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["template"]  # stdout is the JSON and nothing else
    summary = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
    assert len(summary) == 1
    assert re.fullmatch(r"note: draft [\d.]+ s → grounding [\d.]+ s → omissions [\d.]+ s → codes [\d.]+ s → "
                        r"safety [\d.]+ s · [\d.]+ s in all", summary[0])


def test_note_draft_stage_counts_model_calls_with_rate_and_eta() -> None:
    from medsage.models.base import get_model
    from medsage.notes.grounding import GroundingConfig
    from medsage.notes.service import NoteOptions, make_note, transcript_from_text

    buf = io.StringIO()
    stages = StageProgress("note", units={"draft": "model calls"}, enabled=False, stream=buf)
    opts = NoteOptions(grounding=GroundingConfig(use_embeddings=False), safety=False)
    asyncio.run(make_note(transcript_from_text(TRANSCRIPT), get_model("mock/echo"), opts, progress=stages))
    stages.close()
    lines = buf.getvalue().splitlines()
    draft = [ln for ln in lines if ln.startswith("note · draft: ")]
    assert draft and re.search(r"1/\d+ \(\d+%\) · [\d.,]+ model calls/(s|min) · \d+ s elapsed · ETA", draft[0])
    assert re.match(r"note · draft: (\d+)/\1 \(100%\)", draft[-1])
    assert lines[-1].startswith("note: draft ") and "safety" in lines[-1]


def test_consult_counts_model_calls_on_stderr_and_clean_json(tmp_path: Path) -> None:
    case = tmp_path / "case.txt"
    case.write_text("58-year-old man, crushing chest pain for 40 minutes, ST elevation in V1-V4. Plan?")
    r = CliRunner().invoke(cli, ["consult", str(case), "--model", "mock/echo", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("consult · mdt: ")]
    assert len(lines) == 1, r.stderr
    calls = int(re.match(r"consult · mdt: (\d+) · [\d.,]+ model calls/(s|min) · \d+ s elapsed$", lines[0])[1])
    assert calls == out["summary"]["calls"] and calls > 3


def _fake_sft(cfg: Any, progress: Any = None) -> dict[str, Any]:
    """run_sft without transformers: the stages and trainer hooks a real run reports."""
    from medsage.train.callbacks import TrainProgress

    progress("load model", 0, 1)
    progress("load model", 1, 1)
    cb = TrainProgress(progress)
    state = types.SimpleNamespace(global_step=0, max_steps=20)
    cb.on_train_begin(None, state, None)
    for step in range(1, 21):
        state.global_step = step
        cb.on_log(None, state, None, logs={"loss": 3.0 / step})
        cb.on_step_end(None, state, None)
    progress("save", 0, 1)
    return {"method": "sft", "steps": 20, "config": {}}


def test_train_progress_on_stderr_and_json_summary_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medsage.train.trainer.run_sft", _fake_sft)
    data = tmp_path / "d.jsonl"
    data.write_text("{}\n")
    r = CliRunner().invoke(cli, ["train", "sft", "--base-model", "tiny", "--data", str(data),
                                 "--out-dir", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"method": "sft", "steps": 20}
    steps = [ln for ln in r.stderr.splitlines() if ln.startswith("train sft · steps: ")]
    assert steps and "ETA" in steps[0] and "steps/" in steps[0] and "loss" in steps[0]
    assert steps[-1].startswith("train sft · steps: 20/20 (100%)") and steps[-1].endswith("loss 0.15")
    assert re.search(r"^train sft: load model [\d.]+ s → steps [\d.]+ s → save [\d.]+ s · ", r.stderr, re.M)


def test_train_progress_counts_a_resumed_run_from_its_checkpoint_and_shows_eval() -> None:
    from medsage.train.callbacks import TrainProgress

    seen: list[tuple[str, int, int]] = []
    cb = TrainProgress(lambda *a: seen.append(a))
    state = types.SimpleNamespace(global_step=50, max_steps=100)
    cb.on_train_begin(None, state, None)
    state.global_step = 51
    cb.on_step_end(None, state, None)
    assert seen == [("steps", 0, 50), ("steps", 1, 50)]  # rate and ETA of this run, not of the checkpoint
    for _ in range(3):
        cb.on_prediction_step(None, state, None, eval_dataloader=[0, 1, 2])
    cb.on_evaluate(None, state, None)
    assert seen[2:] == [("eval", 1, 3), ("eval", 2, 3), ("eval", 3, 3), ("eval", 3, 3)]
    state.global_step = 52
    cb.on_step_end(None, state, None)
    assert seen[-1] == ("steps", 0, 48)  # a new steps stage after the evaluation


def test_plain_progress_heartbeat_while_no_step_finishes() -> None:
    buf = io.StringIO()
    p = Progress(100, "bench", enabled=False, stream=buf, every_s=0.2)
    deadline = time.monotonic() + 10
    while len(buf.getvalue().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    p.close()
    beats = buf.getvalue().splitlines()
    assert len(beats) >= 2 and all(ln.startswith("bench: 0/100 (0%)") for ln in beats)
    time.sleep(0.4)
    assert buf.getvalue().splitlines() == beats  # closed: the heartbeat stopped


def test_one_step_stage_has_no_count_but_a_heartbeat_and_a_done_line() -> None:
    buf = io.StringIO()
    stages = StageProgress("note", enabled=False, stream=buf, every_s=0.2, long_s=0.3)
    with stages.stage("codes"):
        time.sleep(0.5)
    with stages.stage("safety"):
        pass
    stages.close()
    lines = buf.getvalue().splitlines()
    assert re.fullmatch(r"note · codes … \d+ s elapsed", lines[0])
    assert re.fullmatch(r"note · codes: done in \d\.\d s", lines[-2]) and not any("1/1" in ln for ln in lines)
    assert not any(ln.startswith("note · safety") for ln in lines)  # quick: only in the summary
    assert re.fullmatch(r"note: codes \d\.\d s → safety 0\.0 s · \d\.\d s in all", lines[-1])


def test_min_s_keeps_a_fast_stage_quiet_and_errors_skip_the_summary() -> None:
    buf = io.StringIO()
    with pytest.raises(ValueError), StageProgress("data dedup", enabled=False, stream=buf, min_s=5) as stages:
        for i in range(1, 101):
            stages("exact", i, 100)
        raise ValueError("boom")
    assert buf.getvalue() == ""


def test_terminal_mode_draws_bars_not_lines() -> None:
    buf = io.StringIO()
    stages = StageProgress("note", enabled=True, stream=buf)
    for i in range(1, 4):
        stages("draft", i, 3)
    with stages.stage("codes"):
        pass
    stages.close()
    assert "note · draft:" not in buf.getvalue() and buf.getvalue().rstrip().splitlines()[-1].startswith("note: draft")
