"""The lift benchmark's table: pooled cost only over ``--no-cache`` runs whose every item was fresh."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lift():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lift_bench", ROOT / "benchmarks" / "lift" / "lift.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(runs: Path, name: str, correct: list[bool], wall: float, cached: bool = False, timed: bool = True) -> None:
    folder = runs / name
    folder.mkdir(parents=True)
    rows = [{"id": f"q{i}", "correct": c, "answer": "A", "target": "A", "cached": cached, "prompt_tokens": 10,
             "extras": {"calls": 1}} for i, c in enumerate(correct)]
    (folder / "samples.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (runs / f"{name}.meta.json").write_text(json.dumps({"command": "medsage bench t --no-cache" if timed else "medsage bench t",
                                                                "wall_s_parts": [wall]}))


def test_pooled_cost_sums_fresh_runs_and_skips_cached_ones(tmp_path: Path) -> None:
    plan = {"datasets": {"a": {"task": "t", "data": "a.jsonl"}, "b": {"task": "t", "data": "b.jsonl"},
                         "c": {"task": "t", "data": "c.jsonl"}, "d": {"task": "t", "data": "d.jsonl"}},
            "arms": {"bare": {}, "domain": {"pipeline": "domain"}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    runs = tmp_path / "runs"
    _run(runs, "a__bare", [True, False], 10.0)
    _run(runs, "a__domain", [True, True], 40.0)
    _run(runs, "b__bare", [False, False], 30.0)
    _run(runs, "b__domain", [True, False], 90.0)
    _run(runs, "c__bare", [False, True], 5.0)
    _run(runs, "c__domain", [True, True], 1.0, cached=True)  # answered from the cache: its time means nothing
    _run(runs, "d__bare", [True, True], 5.0)
    _run(runs, "d__domain", [True, True], 0.5, timed=False)  # a pipeline replayed through the call cache
    lift = _lift()
    lift.table(argparse.Namespace(plan=str(tmp_path / "plan.json"), runs=str(runs), out=str(tmp_path / "out")))
    result = json.loads((tmp_path / "out" / "lift.json").read_text())
    pooled = result["pooled_cost"]["domain"]
    assert pooled["datasets"] == ["a", "b"]
    assert pooled["ratio"] == 3.25  # (40 + 90) / (10 + 30)
    assert "3.25× bare time" in (tmp_path / "out" / "lift.md").read_text()
