from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medsage.errors import SpecError
from medsage.runner import EvalConfig, run_eval

from .conftest import FIX


def cfg(tmp_path: Path, **kw: object) -> EvalConfig:
    base = dict(tasks=["exam-sample"], model="mock/random", limit=12, out_dir=tmp_path / "run",
                cache_path=tmp_path / "c.sqlite", progress=False)
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


def test_artefacts_and_summary(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path)))
    recs = [json.loads(x) for x in (res.run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 12
    for key in ("prompt_tokens", "latency_s", "answer", "correct", "response", "messages", "metadata"):
        assert key in recs[0]
    t = res.summary["tasks"]["exam-sample"]
    assert t["n"] == 12 and 0 <= t["ci95"][0] <= t["accuracy"] <= t["ci95"][1] <= 1
    assert t["accuracy"] == pytest.approx(sum(r["correct"] for r in recs) / 12, abs=1e-4)
    assert "language" in t["by"]
    html = (res.run_dir / "report.html").read_text()
    assert "data:image/png;base64" in html
    assert "<script src" not in html and "https://" not in html  # self-contained, no CDN


def test_cache_means_no_second_call(tmp_path: Path, mock_calls: list[int]) -> None:
    calls = mock_calls
    asyncio.run(run_eval(cfg(tmp_path)))
    assert len(calls) == 12
    res = asyncio.run(run_eval(cfg(tmp_path, out_dir=tmp_path / "run2")))
    assert len(calls) == 12  # all answered from the cache
    assert res.summary["tasks"]["exam-sample"]["cached"] == 12


def test_killed_run_resumes_without_asking_twice(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    out, cache = tmp_path / "run", tmp_path / "c.sqlite"
    cmd = [sys.executable, "-m", "medsage.cli.__main__", "bench", "exam-sample", "--model", "mock/random",
           "-M", "delay=0.2", "--limit", "30", "--concurrency", "1", "--out", str(out), "--cache-path", str(cache)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 60
    samples = out / "samples.jsonl"
    while time.time() < deadline:
        if samples.exists() and len(samples.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len([ln for ln in samples.read_text().splitlines() if ln.strip()])
    assert 5 <= done_before < 30

    calls = request.getfixturevalue("mock_calls")  # count only from the resumed run on
    res = asyncio.run(run_eval(EvalConfig(tasks=["exam-sample"], model="mock/random", model_options={"delay": 0.2},
                                          limit=30, concurrency=1, out_dir=out, cache_path=cache, progress=False)))
    ids = [json.loads(x)["id"] for x in samples.read_text().splitlines()]
    assert len(ids) == 30 and len(set(ids)) == 30  # none lost, none duplicated
    assert len(calls) <= 30 - done_before + 1  # at most the one in flight at the kill is asked again
    assert res.summary["tasks"]["exam-sample"]["n"] == 30


def test_resume_refuses_other_model(tmp_path: Path) -> None:
    asyncio.run(run_eval(cfg(tmp_path)))
    with pytest.raises(SpecError, match="different model"):
        asyncio.run(run_eval(cfg(tmp_path, model="mock/fixed")))


def test_errors_and_empty_replies_recorded_on_samples(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, model="mock/random", model_options={"fail_every": 3})))
    t = res.summary["tasks"]["exam-sample"]
    assert t["errors"] == 4 and t["n"] == 12
    res = asyncio.run(run_eval(cfg(tmp_path, model="mock/fixed", model_options={"text": ""}, out_dir=tmp_path / "e")))
    recs = [json.loads(x) for x in (res.run_dir / "samples.jsonl").read_text().splitlines()]
    assert all(r["error"] == "empty reply" and r["correct"] is False for r in recs)


def test_unparsed_counted_wrong(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, model="mock/fixed", model_options={"text": "no idea"})))
    t = res.summary["tasks"]["exam-sample"]
    assert t["unparsed"] == 12 and t["accuracy"] == 0


def test_likelihood_mode_uses_logprobs(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, mode="likelihood")))
    recs = [json.loads(x) for x in (res.run_dir / "samples.jsonl").read_text().splitlines()]
    assert all(r["extras"]["extracted_from"] == "logprobs" for r in recs)


def test_bad_rows_counted_in_summary(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, tasks=["medqa_us"], data={"medqa_us": str(FIX / "medqa.jsonl")})))
    assert res.summary["tasks"]["medqa_us"]["skipped"] == 3


def test_tier_verdicts(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, limit=None, pass_line=0.2)))
    v = res.summary["tasks"]["exam-sample"]["verdicts"]
    assert v["pass_line"] == 0.2 and "tiers" in v["text"] and "disciplines" in v["text"]
