"""Issue #23: the main job is short, shows progress, stops on Ctrl-C and resumes; the report is honest."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from medsage.errors import SpecError
from medsage.models.threads import call_in_daemon, default_threads
from medsage.progress import Progress, fmt_duration
from medsage.runner import EvalConfig, run_eval


def cfg(tmp_path: Path, **kw: Any) -> EvalConfig:
    base: dict[str, Any] = dict(tasks=["exam-sample"], model="mock/random", limit=12, out_dir=tmp_path / "run",
                                cache_path=tmp_path / "c.sqlite", progress=False)
    base.update(kw)
    return EvalConfig(**base)


# -- 1. a main job in minutes ---------------------------------------------------------------

@pytest.mark.parametrize(("cpus", "load", "want"), [(2, 0.0, 1), (2, 1.2, 1), (4, 0.0, 3), (4, 2.0, 2),
                                                     (4, 9.0, 1), (1, 0.0, 1), (64, 0.0, 8)])
def test_default_threads_leave_a_core_and_adapt_to_load(cpus: int, load: float, want: int) -> None:
    assert default_threads(cpus, load) == want


def test_main_job_is_a_quick_sample_with_short_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.models.mock import MockModel

    budgets: list[int] = []
    real = MockModel.generate

    async def spy(self, messages, config):  # type: ignore[no-untyped-def]
        budgets.append(config.max_tokens)
        return await real(self, messages, config)

    monkeypatch.setattr(MockModel, "generate", spy)
    from click.testing import CliRunner

    from medsage.cli import cli

    r = CliRunner().invoke(cli, ["bench", "exam-sample", "--model", "mock/random", "--out", str(tmp_path / "r"),
                                 "--cache-path", str(tmp_path / "c.sqlite")])
    assert r.exit_code == 0, r.output
    assert len(budgets) == 100 and set(budgets) == {48}
    assert "quick sample: 100 of 230 items (50 en, 50 zh)" in r.output and "-T size=full" in r.output
    full = asyncio.run(run_eval(cfg(tmp_path, limit=None, out_dir=tmp_path / "full")))  # library default: all items
    assert full.summary["tasks"]["exam-sample"]["n"] == 230


def test_local_model_threads_poll_and_queue_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LocalModel against a stand-in for xllamacpp (no model is loaded)."""
    made: list[Any] = []

    class Cpu:
        n_threads, poll = -1, 50

    class Params:
        def __init__(self) -> None:
            self.model = types.SimpleNamespace(path="")
            self.cpuparams, self.cpuparams_batch = Cpu(), Cpu()

    class Server:
        def __init__(self, params: Params) -> None:
            made.append(params)

        def handle_chat_completions(self, req: dict[str, Any]) -> dict[str, Any]:
            time.sleep(0.2)
            return {"choices": [{"message": {"content": "The answer is A."}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 4}}

    monkeypatch.setitem(sys.modules, "xllamacpp", types.SimpleNamespace(CommonParams=Params, Server=Server))
    monkeypatch.delenv("MEDSAGE_THREADS", raising=False)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    from medsage.models import get_model
    from medsage.models.threads import default_threads as dt
    from medsage.types import GenerateConfig, Message

    model = get_model(f"local/{gguf}")
    params = made[0]
    assert params.cpuparams.n_threads == dt() and params.cpuparams.poll == 0 and params.cpuparams_batch.poll == 0

    async def two() -> list[Any]:
        cfg_ = GenerateConfig(max_tokens=8)
        return list(await asyncio.gather(*(model.generate([Message("user", "q")], cfg_) for _ in range(2))))

    outs = asyncio.run(two())
    assert all(o.latency_s == pytest.approx(0.2, abs=0.15) for o in outs)  # model time only
    assert max(o.extras["queue_s"] for o in outs) >= 0.15  # the second waited for the one slot


# -- 2. progress ------------------------------------------------------------------------------

def test_plain_progress_lines_show_rate_and_eta() -> None:
    buf = io.StringIO()
    p = Progress(40, "exam-sample · mock/random", enabled=False, stream=buf, every_s=3600, unit="samples")
    for _ in range(40):
        p.step()
    p.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 20  # every 5% of 40 = every 2
    assert re.search(r"2/40 \(5%\) · [\d.,]+ samples/(s|min) · \d+ s elapsed · ETA \d+", lines[0])
    assert lines[-1].startswith("exam-sample · mock/random: 40/40 (100%)") and "ETA" not in lines[-1]
    assert fmt_duration(198) == "3 min 18 s"


def test_plain_progress_lines_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr("medsage.progress.time.perf_counter", lambda: clock[0])
    buf = io.StringIO()
    p = Progress(10_000, "kb build", enabled=False, stream=buf, every_s=10)
    for _ in range(30):  # 30 steps of 1 s each: far below 5%, a line every 10 s
        clock[0] += 1
        p.step()
    assert len(buf.getvalue().splitlines()) == 3


# -- 3. interrupt and resume --------------------------------------------------------------------

def test_call_in_daemon_does_not_hold_up_cancellation() -> None:
    release = threading.Event()

    async def main() -> None:
        task = asyncio.ensure_future(call_in_daemon(release.wait, 30))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    start = time.perf_counter()
    asyncio.run(main())  # asyncio.to_thread would make asyncio.run join the thread (30 s)
    assert time.perf_counter() - start < 1.0
    release.set()


def test_ctrl_c_stops_within_two_seconds_and_prints_the_resume_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "medsage.cli.__main__", "bench", "exam-sample", "--model", "mock/random",
           "-M", "block=3", "--limit", "4", "-c", "1", "--out", str(out), "--cache-path", str(tmp_path / "c.sqlite")]
    # A shell started in the background ignores SIGINT and children inherit that; a user's terminal does not.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    samples = out / "samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (samples.exists() and samples.read_text().strip()):
        time.sleep(0.05)
    time.sleep(0.3)  # the second sample's blocking call (3 s) is now in flight
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - sent < 2.0, err
    assert proc.returncode == 130
    assert f"1 finished samples are kept in {out}" in err
    resume = next(line for line in err.splitlines() if line.startswith("resume with: ")).removeprefix("resume with: ")
    args = shlex.split(resume)
    assert args[:3] == ["medsage", "bench", "exam-sample"] and args[-2:] == ["--out", str(out)]
    # the resume may change options that cannot change answers (threads, the blocking time, concurrency)
    args = [a.replace("block=3", "block=0") for a in args] + ["-M", "threads=1", "-c", "2"]
    done = subprocess.run([sys.executable, "-m", "medsage.cli.__main__", *args[1:], "--json"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 4
    parts = json.loads((out / "summary.json").read_text())["parts"]
    assert [p["samples"] for p in parts] == [1, 3] and parts[0]["ended"] == "interrupted"


def test_resume_refuses_answer_changing_options_with_the_reason(tmp_path: Path) -> None:
    asyncio.run(run_eval(cfg(tmp_path, limit=4)))
    asyncio.run(run_eval(cfg(tmp_path, limit=6, model_options={"threads": 1, "parallel": 2}, concurrency=2)))
    with pytest.raises(SpecError, match=r"different max_tokens .*answer length"):
        asyncio.run(run_eval(cfg(tmp_path, limit=6, max_tokens=7)))
    with pytest.raises(SpecError, match=r"different model_options .*can change answers"):
        asyncio.run(run_eval(cfg(tmp_path, limit=6, model_options={"seed": 3})))


# -- 6. report honesty ------------------------------------------------------------------------

def test_wall_time_and_rate_cover_every_part(tmp_path: Path) -> None:
    asyncio.run(run_eval(cfg(tmp_path, limit=6, model_options={"delay": 0.05}, concurrency=1)))
    res = asyncio.run(run_eval(cfg(tmp_path, limit=12, model_options={"delay": 0.05}, concurrency=1)))
    s = res.summary
    assert [p["samples"] for p in s["parts"]] == [6, 6]
    assert s["wall_s"] == pytest.approx(sum(p["wall_s"] for p in s["parts"]), abs=0.2)
    assert s["wall_s"] >= 0.5 and s["samples_per_s"] == pytest.approx(12 / s["wall_s"], rel=0.05)


def test_killed_part_is_timed_to_its_last_sample(tmp_path: Path) -> None:
    from medsage.resume import parts_summary

    run = tmp_path / "r"
    run.mkdir()
    (run / "parts.json").write_text(json.dumps([{"started_at": 100.0, "done_before": 0},
                                                {"started_at": 500.0, "done_before": 2}]))
    recs = [{"finished_at": 110.0}, {"finished_at": 160.0}, {"finished_at": 505.0}]
    parts = parts_summary(run, recs, current_wall_s=8.0)
    assert parts[0]["wall_s"] == 60.0 and parts[0]["samples"] == 2 and parts[0]["ended"].startswith("killed")
    assert parts[1]["wall_s"] == 8.0


def test_summary_latency_tokens_chance_coverage_and_small_groups(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, limit=None, pass_line=0.0, model_options={"delay": 0.01},
                                   concurrency=4)))
    t = res.summary["tasks"]["exam-sample"]
    assert t["chance"] == 0.25
    assert t["coverage"]["tier"] == {"known": 90, "of": 230}
    assert set(t["queue_s"]) == {"mean", "p50", "p95"}
    assert all(len(str(v).split(".")[-1]) <= 3 for v in t["latency_s"].values())
    v = t["verdicts"]
    small = {k for k, c in t["by"]["discipline"].items() if c["n"] < 20}
    assert small and set(v["discipline"]["too_few_to_judge"]) == small
    assert v["discipline"]["of"] == len(t["by"]["discipline"]) - len(small)
    assert "too few to judge (n < 20)" in v["text"]
    from medsage.cli.common import summary_lines

    text = "\n".join(summary_lines(res.summary))
    assert "chance (guessing among each item's options): 0.250" in text
    assert "[tier known for 90 of 230]" in text
    assert "tokens: prompt" in text and "completion" in text and "queue p50" in text


def test_wrong_samples_in_the_report_come_from_every_language(tmp_path: Path) -> None:
    res = asyncio.run(run_eval(cfg(tmp_path, limit=None, model="mock/fixed", model_options={"text": "no idea"})))
    html = (res.run_dir / "report.html").read_text()
    shown = re.findall(r"<summary>((?:en|zh)-[^ ]+) —", html)
    assert len(shown) == 20 and sum(s.startswith("zh") for s in shown) == 10


# -- other findings of the trial ----------------------------------------------------------------

def test_pneumonia_is_coded_j18_9_not_viral() -> None:
    pytest.importorskip("simple_icd_10_cm")
    from medsage.notes.coding import suggest_codes

    codes, _ = suggest_codes({"assessment_plan": "Community-acquired pneumonia of the right lower lobe."}, "en", None)
    assert [c["code"] for c in codes] == ["J18.9"]


def test_compare_output_folder_is_git_ignored() -> None:
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run(["git", "check-ignore", "-q", "cmp/summary.json"], cwd=root)
    assert r.returncode == 0


def test_hybrid_search_on_a_bm25_only_kb_says_it_falls_back(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from medsage.cli import cli

    fixtures = Path(__file__).parents[1] / "kb" / "fixtures"
    kb = tmp_path / "kb"
    assert CliRunner().invoke(cli, ["kb", "build", "--out", str(kb), "--no-dense", f"docs:{fixtures / 'docs'}"]).exit_code == 0
    r = CliRunner().invoke(cli, ["kb", "search", "fever", "--kb", str(kb)])
    assert r.exit_code == 0 and "falls back to BM25" in r.stderr


def test_kb_build_stages_show_rate_and_eta_in_plain_mode() -> None:
    from medsage.progress import StageProgress

    buf = io.StringIO()
    cb = StageProgress("kb", unit="chunks", enabled=False, stream=buf)
    for done in range(0, 101, 4):
        cb("embed", done, 100)
    lines = buf.getvalue().splitlines()
    assert lines and all(line.startswith("kb · embed: ") and "chunks/" in line for line in lines)
    assert "ETA" in lines[0] and lines[-1].startswith("kb · embed: 100/100")


def test_report_shows_a_huge_prompt_clipped(tmp_path: Path) -> None:
    from medsage.report.html import SHOWN_CHARS, _examples

    rec = {"id": "x", "correct": False, "answer": "A", "target": "B", "response": "r" * 50_000,
           "messages": [{"role": "user", "content": "q" * 1_000_000}]}
    html = _examples([rec])
    assert len(html) < 4 * SHOWN_CHARS and "more characters" in html
