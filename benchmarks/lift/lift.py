"""The lift benchmark: the same model bare and inside ``--pipeline domain`` on the same items.

Two steps, so a long run can be split across sessions and resumed (every arm is a plain
``medsage bench`` run with its own folder; a killed one resumes through the cache):

    # run arms (one model job at a time); DATASETS from plan.json, ARMS bare|domain|<ablation>
    python benchmarks/lift/lift.py run --model local/<qwen.gguf> --kb KB_DIR \
        --runs benchmarks/lift/runs --datasets mcmle_test,cnmleqa --arms bare,domain
    # the headline table from whatever runs exist
    python benchmarks/lift/lift.py table --runs benchmarks/lift/runs --out benchmarks/lift/results

``plan.json`` holds the datasets (task, data file under ``--data-root``, items, seed, the
bank files — never the evaluated file itself — and the breakdown fields) and the arms
(pipeline options per arm). The table has accuracy with Wilson CIs, the paired Δ with
its bootstrap CI and McNemar mid-p, per-group wins/losses (each group's own McNemar),
answer-letter distributions, tokens and seconds per item, and each run's command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance  # noqa: E402

from medsage.scoring.paired import paired_difference  # noqa: E402
from medsage.scoring.stats import wilson_ci  # noqa: E402

PLAN = Path(__file__).with_name("plan.json")
# A bank entry meaning "the evaluated file minus every item this run can evaluate": used
# where no separate development file exists (MedQA-US has only its test split here).
REST = "@rest"


def rest_bank(ds: dict[str, Any], a: argparse.Namespace, runs: Path) -> Path:
    """Write the rows of ``ds``'s data file that are not among its first ``plan n`` items.

    The evaluated items are the seeded selection ``medsage bench`` makes (shuffle, then the
    first ``n``); the plan's ``n`` is used even with ``--limit``, so a pilot and the full run
    share one bank and none of the full run's items is in it. Rows are matched to samples
    by their question text; the bank keeps the source format, so the bank reader detects it.
    """
    import random

    from medsage.runner import get_task

    data = Path(a.data_root) / ds["data"]
    samples = list(get_task(ds["task"]).load(str(data)).samples)
    if ds.get("shuffle", True):
        random.Random(ds.get("seed", a.seed)).shuffle(samples)
    held = {" ".join(s.question.split()) for s in samples[: ds["n"]]}
    kept = [line for line in data.read_text(encoding="utf-8").splitlines()
            if line.strip() and " ".join(str(json.loads(line).get("question", "")).split()) not in held]
    out = runs / f"bank_rest__{ds['task']}__{data.stem}__n{ds['n']}_s{ds.get('seed', a.seed)}{data.suffix}"
    out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    dropped = sum(1 for line in data.read_text(encoding="utf-8").splitlines() if line.strip()) - len(kept)
    if dropped < len(held):
        raise SystemExit(f"{ds['task']}: only {dropped} of {len(held)} evaluated items matched rows of {data}")
    return out


def subset_file(ds: dict[str, Any], a: argparse.Namespace, runs: Path) -> Path:
    """The rows of a JSON-list data file whose fields equal the dataset's ``where`` (e.g. a year).

    Raises:
        SystemExit: the file is not a JSON list or no row matches.
    """
    data = Path(a.data_root) / ds["data"]
    rows = json.loads(data.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise SystemExit(f"{data}: 'where' needs a JSON-list data file")
    where = ds["where"]
    kept = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    if not kept:
        raise SystemExit(f"{data}: no row has {where}")
    tag = "_".join(f"{k}{v}" for k, v in where.items())
    out = runs / f"subset__{ds['task']}__{data.stem}__{tag}{data.suffix}"
    out.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    return out


def bench_command(ds: dict[str, Any], arm: dict[str, Any], a: argparse.Namespace, out: Path) -> list[str]:
    """The ``medsage bench`` command line of one dataset × arm."""
    root = Path(a.data_root)
    data = subset_file(ds, a, out.parent) if ds.get("where") else root / ds["data"]
    cmd = ["medsage", "bench", ds["task"], "--data", str(data), "--model", a.model,
           "-M", f"threads={a.threads}", "--mode", a.mode, "-c", "2", "--out", str(out), "--json"]
    cmd += [x for opt in a.model_opt for x in ("-M", opt)]
    n = a.limit or ds.get("n")
    if n:
        cmd += ["-n", str(n)]
    if ds.get("shuffle", True):
        cmd += ["--shuffle", "--seed", str(ds.get("seed", a.seed))]
    if a.no_cache:
        cmd += ["--no-cache"]
    if arm.get("pipeline"):
        cmd += ["--pipeline", arm["pipeline"]]
        popts = dict(arm.get("options", {}))
        if popts.pop("kb", False) and a.kb:
            cmd += ["-P", f"kb={a.kb}"]
        if popts.pop("bank", False):
            for bank in ds.get("banks", []):
                path = rest_bank(ds, a, out.parent) if bank == REST else root / bank
                cmd += ["-P", f"bank={path}"]
        # "@model" stands for the run's own --model spec (e.g. the base model of an adapter ensemble)
        cmd += [x for k, v in popts.items() for x in ("-P", f"{k}={a.model if v == '@model' else v}")]
    return cmd


def run(a: argparse.Namespace) -> None:
    plan = json.loads(Path(a.plan).read_text())
    runs = Path(a.runs)
    runs.mkdir(parents=True, exist_ok=True)
    for name in a.datasets.split(","):
        ds = plan["datasets"][name]
        for arm_name in a.arms.split(","):
            arm = plan["arms"][arm_name]
            out = runs / f"{name}__{arm_name}"
            cmd = bench_command(ds, arm, a, out)
            print(shlex.join(cmd), flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            meta_path = runs / f"{name}__{arm_name}.meta.json"
            previous = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
            meta = {"dataset": name, "arm": arm_name, "command": shlex.join(cmd), "rc": proc.returncode,
                    "wall_s_parts": [*previous.get("wall_s_parts", []), round(wall, 1)],
                    "stderr_tail": proc.stderr[-2000:], "provenance": provenance()}
            meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False))
            print(f"  rc={proc.returncode} {wall:.0f}s", flush=True)


def records(run_dir: Path) -> dict[str, dict[str, Any]]:
    path = run_dir / "samples.jsonl"
    if not path.is_file():
        return {}
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return {str(r["id"]): r for r in rows if "id" in r}


def _acc(rs: list[dict[str, Any]]) -> dict[str, Any]:
    k = sum(bool(r.get("correct")) for r in rs)
    lo, hi = wilson_ci(k, len(rs))
    return {"n": len(rs), "accuracy": round(k / len(rs), 4) if rs else None, "ci95": [round(lo, 4), round(hi, 4)],
            "unparsed": sum(bool(r.get("unparsed")) for r in rs), "errors": sum(bool(r.get("error")) for r in rs)}


def _cost(rs: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    n = len(rs) or 1
    wall = sum(meta.get("wall_s_parts", []))
    fresh = sum(1 for r in rs if not r.get("cached"))
    return {"prompt_tokens_per_item": round(sum(int(r.get("prompt_tokens") or 0) for r in rs) / n, 1),
            "calls_per_item": round(sum(int((r.get("extras") or {}).get("calls", 1)) for r in rs) / n, 2),
            "wall_s": round(wall, 1), "fresh_items": fresh,
            "s_per_item": round(wall / fresh, 2) if fresh and wall else None,
            "items_per_min": round(60 * fresh / wall, 1) if fresh and wall else None}


def compare(base: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]], groups: list[str]) -> dict[str, Any]:
    ids = sorted(set(base) & set(other))
    a = [float(bool(base[i].get("correct"))) for i in ids]
    b = [float(bool(other[i].get("correct"))) for i in ids]
    out: dict[str, Any] = {"paired": paired_difference(a, b, binary=True)}
    by: dict[str, dict[str, Any]] = {}
    for g in groups:
        buckets: dict[str, list[str]] = defaultdict(list)
        for i in ids:
            buckets[str((base[i].get("metadata") or {}).get(g, "?"))].append(i)
        rows = {}
        for key, members in sorted(buckets.items()):
            d = paired_difference([float(bool(base[i].get("correct"))) for i in members],
                                  [float(bool(other[i].get("correct"))) for i in members], binary=True)
            rows[key] = {"n": len(members), "bare": round(d["mean_a"], 3), "arm": round(d["mean_b"], 3),
                         "gained": d["wins_b"], "lost": d["wins_a"], "p": round(d["p"], 4)}
        by[g] = rows
    out["by"] = by
    out["significant_losses"] = [f"{g}={k}" for g, rows in by.items() for k, r in rows.items()
                                 if r["lost"] > r["gained"] and r["p"] < 0.05]
    return out


def letters(rs: list[dict[str, Any]], key: str) -> dict[str, int]:
    return dict(sorted(Counter(str(r.get(key)) if r.get(key) else "none" for r in rs).items()))


def table(a: argparse.Namespace) -> None:
    plan = json.loads(Path(a.plan).read_text())
    runs = Path(a.runs)
    result: dict[str, Any] = {"provenance": provenance(), "datasets": {}}
    lines = ["| dataset | arm | n | accuracy [95% CI] | Δ vs bare [95% CI] | gained / lost | McNemar p | "
             "tokens/item | s/item | × bare time |", "|---|---|---|---|---|---|---|---|---|---|"]
    pooled: dict[str, dict[str, Any]] = {}
    for name, ds in plan["datasets"].items():
        base_dir = runs / f"{name}__bare"
        base = records(base_dir)
        if not base:
            continue
        entry: dict[str, Any] = {"task": ds["task"], "data": ds["data"], "arms": {}}
        base_meta = _meta(runs, name, "bare")
        base_cost = _cost(list(base.values()), base_meta)
        for arm_name in plan["arms"]:
            rs = records(runs / f"{name}__{arm_name}")
            if not rs:
                continue
            ids = sorted(set(rs) & set(base))
            arm_recs = [rs[i] for i in ids]
            meta = _meta(runs, name, arm_name)
            info: dict[str, Any] = {"command": meta.get("command"), **_acc(arm_recs),
                                    "cost": _cost(list(rs.values()), meta), "answers": letters(arm_recs, "answer")}
            if arm_name != "bare":
                info["vs_bare"] = compare(base, rs, ds.get("groups", []))
                excl = [int((r.get("extras") or {}).get("bank_excluded", 0)) for r in arm_recs]
                info["bank_excluded"] = {"bank_items": sum(excl), "samples_affected": sum(1 for e in excl if e)}
            else:
                info["targets"] = letters(arm_recs, "target")
            entry["arms"][arm_name] = info
            lines.append(_row(name, arm_name, info, base_cost))
            if arm_name != "bare" and _timed(meta, info["cost"], len(rs)) and _timed(base_meta, base_cost, len(base)):
                acc = pooled.setdefault(arm_name, {"datasets": [], "wall_s": 0.0, "bare_wall_s": 0.0})
                acc["datasets"].append(name)
                acc["wall_s"] += info["cost"]["wall_s"]
                acc["bare_wall_s"] += base_cost["wall_s"]
        result["datasets"][name] = entry
    for arm_name, acc in pooled.items():  # whole-run time over every set both arms ran with --no-cache
        acc["ratio"] = round(acc["wall_s"] / acc["bare_wall_s"], 2) if acc["bare_wall_s"] else None
        lines.append(f"\nPooled over {', '.join(acc['datasets'])} (--no-cache runs): {arm_name} "
                     f"{acc['wall_s']:.0f} s vs bare {acc['bare_wall_s']:.0f} s = {acc['ratio']}× bare time")
    result["pooled_cost"] = pooled
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lift.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (out / "lift.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _timed(meta: dict[str, Any], cost: dict[str, Any], n: int) -> bool:
    """Whether a run's wall time measures model calls: run with ``--no-cache`` and every item fresh.

    A pipeline run replayed from the response cache also reports its items as not cached (the
    cache holds model calls, not pipeline answers), so only ``--no-cache`` runs qualify.
    """
    return "--no-cache" in str(meta.get("command", "")) and bool(cost.get("wall_s")) and cost.get("fresh_items") == n > 0


def _meta(runs: Path, name: str, arm: str) -> dict[str, Any]:
    p = runs / f"{name}__{arm}.meta.json"
    return json.loads(p.read_text()) if p.is_file() else {}


def _row(name: str, arm: str, info: dict[str, Any], base_cost: dict[str, Any]) -> str:
    acc = f"{info['accuracy']:.3f} [{info['ci95'][0]:.2f}, {info['ci95'][1]:.2f}]"
    cost = info["cost"]
    ratio = (f"{cost['s_per_item'] / base_cost['s_per_item']:.1f}×"
             if cost.get("s_per_item") and base_cost.get("s_per_item") else "–")
    s_item = f"{cost['s_per_item']:.1f}" if cost.get("s_per_item") else "–"
    if "vs_bare" in info:
        p = info["vs_bare"]["paired"]
        delta = f"{p['diff']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]"
        wl = f"{p['wins_b']} / {p['wins_a']}"
        pv = f"{p['p']:.2g}"
    else:
        delta, wl, pv = "–", "–", "–"
    return (f"| {name} | {arm} | {info['n']} | {acc} | {delta} | {wl} | {pv} | "
            f"{cost['prompt_tokens_per_item']:.0f} | {s_item} | {ratio} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["run", "table"])
    common_flags(ap)
    ap.add_argument("--plan", default=str(PLAN))
    ap.add_argument("--runs", default="benchmarks/lift/runs")
    ap.add_argument("--kb", default=None, help="knowledge base folder for arms that use one")
    ap.add_argument("--mode", default="likelihood")
    ap.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="extra -M option for every run (e.g. lora=ADAPTER.gguf); repeatable")
    ap.add_argument("--datasets", default="mcmle_test,cnmleqa,cmb,medqa_us,medmcqa")
    ap.add_argument("--arms", default="bare,domain")
    ap.add_argument("--no-cache", action="store_true",
                    help="bypass the response cache (cost timing: every call made fresh)")
    a = ap.parse_args()
    if a.step == "run":
        run(a)
    else:
        a.out = a.out or "benchmarks/lift/results"
        table(a)


if __name__ == "__main__":
    main()
