"""Agreement of answer extraction with hand labels on real published replies.

The replies are the PULSE-EVAL release's predictions (no licence: never shipped;
pass the folder). The labels (``labels.jsonl`` next to this script) are ours:
``{"system", "item", "label", "reason"}`` — the letter a reply commits to, or
``null`` with why not. Usage::

    python benchmarks/rescore/agreement.py --predictions ../shared/data/exams/published_predictions \
        [--extract medsage] [--out benchmarks/rescore/results_agreement.json]

Prints overall agreement, replies turned into a letter they do not commit to, and
the per-system confusion (label letter / none × extracted same / other letter / none).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from medsage.scoring.conventions import CONVENTIONS, get_convention
from medsage.tasks.exams.published import read_predictions, split_question

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).parent
SYSTEMS = ["GPT-4", "ChatGPT", "PULSE-Pro", "PULSE-OS", "Baichuan2", "ChatGLM3", "HuatuoGPT2",
           "QiZhenGPT", "BenTsao", "BianQue2", "MING", "DoctorGLM"]


def load_items(folder: Path) -> list[dict[str, str]]:
    rows = [json.loads(x) for x in (folder / "medqa_mainland_150_items.jsonl").read_text("utf-8").splitlines() if x]
    return [split_question(r["question"])[1] for r in rows]


def measure(folder: Path, labels: list[dict], convention: str) -> dict:
    fn = get_convention(convention)
    choices = load_items(folder)
    replies = {s: read_predictions(folder / f"medqa_mainland_150_{s}.jsonl") for s in SYSTEMS}
    per: dict[str, Counter] = defaultdict(Counter)
    disagreements = []
    for lab in labels:
        reply = replies[lab["system"]][lab["item"]][1]
        got = fn(reply, choices[lab["item"]])
        want = lab["label"]
        if want is None:
            cell = "none->none" if got.letter is None else "none->letter"
        elif got.letter is None:
            cell = "letter->none"
        else:
            cell = "letter->same" if got.letter == want else "letter->other"
        per[lab["system"]][cell] += 1
        if cell not in ("none->none", "letter->same"):
            disagreements.append({"system": lab["system"], "item": lab["item"], "label": want,
                                  "label_reason": lab.get("reason", ""), "extracted": got.letter,
                                  "reason": got.reason, "rule": got.rule})
    total: Counter[str] = Counter()
    for c in per.values():
        total.update(c)
    n = sum(total.values())
    agree = total["none->none"] + total["letter->same"]
    return {
        "convention": convention, "date": date.today().isoformat(), "n": n, "agree": agree,
        "agreement": round(agree / n, 4) if n else None,
        "false_letters": total["none->letter"] + total["letter->other"],
        "confusion": {s: dict(per[s]) for s in SYSTEMS if s in per}, "total": dict(total),
        "disagreements": disagreements,
    }


def main() -> int:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]), "out")
    ap.add_argument("--predictions", type=Path, required=True, help="folder with medqa_mainland_150_*.jsonl")
    ap.add_argument("--labels", type=Path, default=HERE / "labels.jsonl")
    ap.add_argument("--extract", default="medsage", choices=list(CONVENTIONS))
    args = ap.parse_args()
    labels = [json.loads(x) for x in args.labels.read_text("utf-8").splitlines() if x.strip()]
    res = measure(args.predictions, labels, args.extract)
    cells = ["letter->same", "letter->other", "letter->none", "none->none", "none->letter"]
    print(f"{args.extract}: agreement {res['agree']}/{res['n']} = {res['agreement']:.4f}; "
          f"replies turned into a letter they do not commit to: {res['false_letters']}")
    print(f"{'system':<11} " + " ".join(f"{c:>13}" for c in cells))
    for s, c in res["confusion"].items():
        print(f"{s:<11} " + " ".join(f"{c.get(k, 0):>13}" for k in cells))
    for d in res["disagreements"]:
        print(f"  {d['system']} item {d['item']}: label {d['label']} ({d['label_reason']}) "
              f"extracted {d['extracted']} ({d['reason'] or d['rule']})")
    if args.out:
        write_json(args.out, res, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
