"""Re-score the 12 published systems on the 150 MedQA-Mainland items, from their replies.

For each system: accuracy with a Wilson 95% CI, unparsed replies (by reason), and
the paired difference against GPT-4 and ChatGPT on the same items with an exact
McNemar p — the seeds' "domain model vs general model" comparison. Scored with
medsage's extraction and, for reference, OpenCompass ``first_option_postprocess``.
Runs of our own models on the same items (MedQA-MCMLE test rows 0-149, e.g. the
lift benchmark's ``mainland150`` set) join the table with ``--run LABEL=RUN_DIR``.

Usage::

    python benchmarks/rescore/table.py --predictions ../shared/data/exams/published_predictions \
        [--run "Qwen2.5-1.5B bare=runs/x"] [--out benchmarks/rescore/results_table.json]

The replies have no licence and are read from the given folder, never shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from medsage.cli.score import Reply, score_responses
from medsage.scoring.paired import mcnemar
from medsage.scoring.stats import wilson_ci
from medsage.tasks.exams.published import read_predictions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

SYSTEMS = ["GPT-4", "ChatGPT", "PULSE-Pro", "PULSE-OS", "Baichuan2", "ChatGLM3", "HuatuoGPT2",
           "QiZhenGPT", "BenTsao", "BianQue2", "MING", "DoctorGLM"]
GENERAL = ("GPT-4", "ChatGPT")
KIND = {"GPT-4": "general", "ChatGPT": "general", "Baichuan2": "general", "ChatGLM3": "general"}


def score_system(folder: Path, system: str, convention: str) -> dict[str, Any]:
    replies = {sid: Reply(text, key) for sid, text, key in read_predictions(folder / f"medqa_mainland_150_{system}.jsonl")}
    records, problems, counts = asyncio.run(score_responses(
        "medqa_mainland_published", replies, str(folder / "medqa_mainland_150_items.jsonl"), {}, convention, system))
    if problems or counts["no_response"] or counts["unmatched"]:
        raise SystemExit(f"{system}: {problems[:3]} {counts}")
    return {r["id"]: r for r in records}


def load_run(path: Path) -> dict[str, dict[str, Any]]:
    """A medsage run on MedQA-MCMLE test rows: id -> record, ids 0-149 only."""
    recs = [json.loads(x) for x in (path / "samples.jsonl").read_text("utf-8").splitlines() if x.strip()]
    return {r["id"]: r for r in recs if r.get("task") in ("medqa_mcmle", "medqa_mainland_published")
            and r["id"].isdigit() and int(r["id"]) < 150}


def row(label: str, recs: dict[str, dict[str, Any]], refs: dict[str, dict[str, dict[str, Any]]],
        kind: str) -> dict[str, Any]:
    n = len(recs)
    right = sum(1 for r in recs.values() if r.get("correct"))
    lo, hi = wilson_ci(right, n)
    reasons = Counter((r.get("extras") or {}).get("unparsed_reason") or "no answer"
                      for r in recs.values() if r.get("unparsed") or (r.get("answer") is None and not r.get("error")))
    out: dict[str, Any] = {"system": label, "kind": kind, "n": n, "correct": right, "accuracy": right / n,
                           "ci95": [lo, hi], "unparsed": sum(reasons.values()), "unparsed_reasons": dict(reasons)}
    for ref_name, ref in refs.items():
        ids = sorted(set(recs) & set(ref), key=int)
        b = sum(1 for i in ids if recs[i].get("correct") and not ref[i].get("correct"))
        c = sum(1 for i in ids if ref[i].get("correct") and not recs[i].get("correct"))
        diff = (sum(1 for i in ids if recs[i].get("correct")) - sum(1 for i in ids if ref[i].get("correct"))) / len(ids)
        out[f"vs {ref_name}"] = {"n": len(ids), "diff": diff, "wins": b, "losses": c, "p": mcnemar(b, c)["p_exact"]}
    return out


def markdown(rows: list[dict[str, Any]], oc: dict[str, dict[str, Any]]) -> str:
    head = ("| system | kind | accuracy (95% CI) | unparsed | Δ vs GPT-4 (McNemar p) | Δ vs ChatGPT (McNemar p) "
            "| OpenCompass first-option accuracy |\n|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        def d(ref: str, r: dict[str, Any] = r) -> str:
            x = r.get(f"vs {ref}")
            return "—" if not x or r["system"] == ref else f"{x['diff']:+.3f} (p={x['p']:.3g})"
        why = ", ".join(f"{k} {v}" for k, v in sorted(r["unparsed_reasons"].items(), key=lambda kv: -kv[1]))
        o = oc.get(r["system"])
        lines.append(f"| {r['system']} | {r['kind']} | {r['accuracy']:.3f} ({r['ci95'][0]:.3f}–{r['ci95'][1]:.3f}) "
                     f"| {r['unparsed']}{f' ({why})' if why else ''} | {d('GPT-4')} | {d('ChatGPT')} "
                     f"| {'—' if o is None else format(o['accuracy'], '.3f')} |")
    return "\n".join(lines)


def main() -> int:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]), "out")
    ap.add_argument("--predictions", type=Path, required=True)
    ap.add_argument("--run", action="append", default=[], metavar="LABEL=RUN_DIR",
                    help="a medsage run on MedQA-MCMLE test rows 0-149 to add as a row")
    args = ap.parse_args()
    scored = {s: score_system(args.predictions, s, "medsage") for s in SYSTEMS}
    refs = {g: scored[g] for g in GENERAL}
    rows = [row(s, scored[s], refs, KIND.get(s, "medical")) for s in SYSTEMS]
    for spec in args.run:
        label, _, path = spec.partition("=")
        rows.append(row(label, load_run(Path(path)), refs, "ours"))
    oc = {s: row(s, score_system(args.predictions, s, "opencompass-first-option"), refs, KIND.get(s, "medical"))
          for s in SYSTEMS}
    table = markdown(rows, oc)
    print(table)
    if args.out:
        write_json(args.out, {"rows": rows, "opencompass_first_option": list(oc.values()), "markdown": table},
                   indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
