"""Where does the lift come from? Splits paired outcomes by whether a shown example's answer
text is the item's correct option text (a "same-answer" example that survived decontamination).

    python benchmarks/lift/leak_check.py --runs benchmarks/lift/runs --dataset cnmleqa
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance  # noqa: E402
from lift import REST, rest_bank  # noqa: E402

from medsage.pipelines.bank import QuestionBank  # noqa: E402
from medsage.runner import get_task  # noqa: E402
from medsage.train.decontam import _bigrams  # noqa: E402


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=__doc__))
    ap.add_argument("--runs", default="benchmarks/lift/runs")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--plan", default=str(Path(__file__).with_name("plan.json")))
    a = ap.parse_args()
    ds = json.loads(Path(a.plan).read_text())["datasets"][a.dataset]
    root = Path(a.data_root)
    bank = QuestionBank([str(rest_bank(ds, a, Path(a.runs)) if b == REST else root / b) for b in ds["banks"]])
    samples = {s.id: s for s in get_task(ds["task"]).load(data=str(root / ds["data"])).samples}

    def recs(arm: str) -> dict[str, dict]:
        p = Path(a.runs) / f"{a.dataset}__{arm}" / "samples.jsonl"
        return {str(r["id"]): r for r in map(json.loads, p.read_text().splitlines())}

    bare, dom = recs("bare"), recs("domain")
    groups: dict[str, dict[str, int]] = {}
    for i in sorted(set(bare) & set(dom)):
        s = samples[i]
        shots, _ = bank.nearest(s, 3)
        right = " ".join(s.choices[s.target].split())
        same = [sh for sh in shots if " ".join(sh.sample.choices[sh.sample.target].split()) == right]
        sim = max((len(_bigrams(s.question) & _bigrams(sh.sample.question))
                   / max(1, len(_bigrams(s.question) | _bigrams(sh.sample.question))) for sh in same), default=0.0)
        key = "no example shares the answer" if not same else ("same answer, stem Jaccard ≥ 0.2" if sim >= 0.2
                                                           else "same answer, different stem")
        g = groups.setdefault(key, {"n": 0, "bare": 0, "domain": 0, "gained": 0, "lost": 0})
        b, d = bool(bare[i]["correct"]), bool(dom[i]["correct"])
        g["n"] += 1
        g["bare"] += b
        g["domain"] += d
        g["gained"] += d and not b
        g["lost"] += b and not d
    out = {"provenance": provenance(), "dataset": a.dataset, "groups": groups}
    dest = Path(a.out or f"benchmarks/lift/results/leak_{a.dataset}.json")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(json.dumps(groups, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
