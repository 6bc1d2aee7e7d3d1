"""Lift: the same base model on exam tasks with and without ``--pipeline rag``.

Runs each task twice through :func:`medsage.runner.run_eval` (same samples, same mode),
then writes one report: accuracy with 95 % CI per arm, the difference, and an exact
McNemar test on the paired per-item outcomes.

    python benchmarks/kb/lift.py --model local/smollm2 --limit 200 --mode likelihood \
        --task medqa_us=/work/shared/data/exams/medqa_us_4options_test.jsonl@benchmarks/out/medquad_bm25:bm25 \
        --task cnmleqa=/work/shared/data/exams/cnmleqa_3k_2017_2020.json@benchmarks/out/kb_quality:hybrid \
        --out benchmarks/kb/results_lift.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from math import comb
from pathlib import Path

from medsage.runner import EvalConfig, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b / c discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)


def outcomes(run_dir: Path) -> dict[str, float]:
    return {i: float(r.get("score") or 0.0) for i, r in records(run_dir).items()}


def records(run_dir: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines() if line.strip()]
    return {str(r["id"]): r for r in rows}


def analysis(base_dir: Path, rag_dir: Path) -> dict:
    """Answer-letter distributions and the paired result on items parsed in both arms.

    A weak model's "lift" can be a format effect: evidence may only change whether an
    option letter is among the first-token candidates (unparsed → parsed) without
    changing which letter it prefers. This separates the two.
    """
    base, rag = records(base_dir), records(rag_dir)
    ids = sorted(set(base) & set(rag))

    def counts(rs: dict[str, dict], key: str) -> dict[str, int]:
        out = Counter(str(rs[i].get(key)) if rs[i].get(key) is not None else "unparsed" for i in ids)
        return dict(sorted(out.items()))

    both = [i for i in ids if not base[i].get("unparsed") and not rag[i].get("unparsed")]
    b = sum(1 for i in both if base[i].get("correct") and not rag[i].get("correct"))
    c = sum(1 for i in both if rag[i].get("correct") and not base[i].get("correct"))
    unparsed = [i for i in ids if base[i].get("unparsed")]
    return {"answers_base": counts(base, "answer"), "answers_rag": counts(rag, "answer"),
            "targets": counts(base, "target"),
            "parsed_in_both": {"n": len(both),
                               "base_accuracy": round(sum(bool(base[i].get("correct")) for i in both) / len(both), 4)
                               if both else None,
                               "rag_accuracy": round(sum(bool(rag[i].get("correct")) for i in both) / len(both), 4)
                               if both else None,
                               "rag_only_correct": c, "base_only_correct": b, "mcnemar_p": round(mcnemar_exact(b, c), 4)},
            "base_unparsed_items": {"n": len(unparsed), "rag_correct": sum(bool(rag[i].get("correct")) for i in unparsed)}}


async def one(task: str, data: str, kb: str, mode_kb: str, a: argparse.Namespace) -> dict:
    arms = {}
    for arm, pipeline, popts in (("base", None, {}), ("rag", "rag", {"kb": kb, "k": a.k, "mode": mode_kb,
                                                                     "evidence_chars": a.evidence_chars})):
        t0 = time.perf_counter()
        cfg = EvalConfig(tasks=[task], model=a.model, pipeline=pipeline, pipeline_options=popts, data={task: data},
                         limit=a.limit, mode=a.mode, concurrency=a.concurrency,
                         out_dir=Path(a.runs) / f"{task}_{arm}_{a.mode}", progress=False)
        res = await run_eval(cfg)
        summary = res.summary["tasks"][task]
        arms[arm] = {"run_dir": str(res.run_dir), "n": summary["n"], "accuracy": summary["accuracy"],
                     "ci95": summary["ci95"], "unparsed": summary["unparsed"], "errors": summary["errors"],
                     "latency_p50_s": summary["latency_s"]["p50"], "prompt_tokens": summary["tokens"]["prompt"],
                     "wall_s": round(time.perf_counter() - t0, 1)}
        print(task, arm, json.dumps(arms[arm]), flush=True)
    base, rag = outcomes(Path(arms["base"]["run_dir"])), outcomes(Path(arms["rag"]["run_dir"]))
    ids = sorted(set(base) & set(rag))
    b = sum(1 for i in ids if base[i] == 1 and rag[i] == 0)
    c = sum(1 for i in ids if base[i] == 0 and rag[i] == 1)
    return {"task": task, "data": data, "kb": kb, "retrieval_mode": mode_kb, "arms": arms,
            "paired_n": len(ids), "delta": round(arms["rag"]["accuracy"] - arms["base"]["accuracy"], 4),
            "rag_only_correct": c, "base_only_correct": b, "mcnemar_p": round(mcnemar_exact(b, c), 4),
            "analysis": analysis(Path(arms["base"]["run_dir"]), Path(arms["rag"]["run_dir"]))}


async def main_async(a: argparse.Namespace) -> None:
    result: dict = {"model": a.model, "mode": a.mode, "limit": a.limit, "k": a.k, "tasks": []}
    for spec in a.task:
        task, _, rest = spec.partition("=")
        data, _, kbspec = rest.partition("@")
        kb, _, mode_kb = kbspec.partition(":")
        result["tasks"].append(await one(task, data, kb, mode_kb or "hybrid", a))
        write_json(a.out, result)
    print(json.dumps(result, indent=1))


def merge(paths: list[str], out: str) -> None:
    """Combine per-task result files (tasks run in parallel processes) into one report."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    merged = {k: v for k, v in parts[0].items() if k != "tasks"} | {"tasks": [t for p in parts for t in p["tasks"]]}
    merged["merged_from"] = [{"file": p, "provenance": part.get("provenance")} for p, part in zip(paths, parts, strict=True)]
    write_json(out, merged)
    print(json.dumps(merged, indent=1))


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "model", "limit", "out",
                      limit=200, out="benchmarks/kb/results_lift.json")
    ap.add_argument("--merge", nargs="+", default=None, help="merge these result files into --out and stop")
    ap.add_argument("--analyse", nargs=2, metavar=("BASE_RUN", "RAG_RUN"), default=None,
                    help="print the answer analysis of two existing run folders and stop")
    ap.add_argument("--task", action="append", default=[], help="task=DATA@KB:MODE")
    ap.add_argument("--mode", default="likelihood")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--evidence-chars", type=int, default=800)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--runs", default="benchmarks/out/lift_runs")
    a = ap.parse_args()
    if a.merge:
        return merge(a.merge, a.out)
    if a.analyse:
        print(json.dumps(analysis(Path(a.analyse[0]), Path(a.analyse[1])), indent=1))
        return None
    asyncio.run(main_async(a))


if __name__ == "__main__":
    main()
