"""Generate the seeded messy-prescription set for the interaction benchmark.

Each item is a prescription text built from the shipped rule lists (ONC
high-priority, ONC non-interruptive, medsage curated): one or two interacting
pairs (or none, for negatives) plus distractor drugs, written with generic,
brand, Chinese or misspelt names, doses, frequencies and mixed formats. The
label is every interacting pair among the intended drugs.

    python benchmarks/safety/gen_prescriptions.py --seed 20261122 --n 600
writes benchmarks/safety/data/prescriptions.jsonl (kept in the repository).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from medsage.safety.drugs import get_dictionary
from medsage.safety.interactions import builtin_index

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_jsonl  # noqa: E402

OUT = Path(__file__).resolve().parent / "data" / "prescriptions.jsonl"
FREQ_EN = ["daily", "qd", "bid", "twice daily", "tid", "three times a day", "q8h", "q12h", "qhs", "once daily", "prn"]
FREQ_ZH = ["每日一次", "每日两次", "每日3次", "一日三次", "每晚一次", "每12小时一次", "qd", "bid", "tid"]
DOSES = ["5 mg", "10 mg", "20 mg", "25 mg", "40 mg", "50 mg", "100 mg", "200 mg", "250 mg", "500 mg", "0.5 g", "1 g",
         "2.5mg", "75mg", "150 mg", "300mg"]
ROUTES = ["", "", "PO ", "po ", "IV ", "口服"]
FILLER_EN = ["", "", "", " (continue)", " - hold if SBP<100", " recently started", " per cardiology", " x 7 days",
             " with food", " #30", " refill x2"]
FILLER_ZH = ["", "", "", "（继续）", "，饭后服", "，近期加用", "，共7天", "，心内科建议"]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or " " in word or "/" in word:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["del", "sub", "ins", "swap"])
    letters = "abcdefghijklmnopqrstuvwxyz"
    if kind == "del":
        return word[:i] + word[i + 1:]
    if kind == "sub":
        return word[:i] + rng.choice(letters.replace(word[i].lower(), "")) + word[i + 1:]
    if kind == "ins":
        return word[:i] + rng.choice(letters) + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if i + 1 < len(word) else word


def render_name(drug_id: str, rng: random.Random, zh_doc: bool) -> tuple[str, str]:
    e = get_dictionary().entries[drug_id]
    zh_names = [n for n in e.names if any("\u4e00" <= c <= "\u9fff" for c in n)]
    options = ["generic", "generic", "brand", "zh", "typo"]
    if zh_doc:
        options = ["zh", "zh", "zh", "generic", "brand", "typo"]
    kind = rng.choice(options)
    if kind == "brand" and e.brands:
        return rng.choice(e.brands), "brand"
    if kind == "zh" and zh_names:
        return rng.choice(zh_names), "zh"
    if kind == "typo":
        t = typo(e.display.lower() if rng.random() < 0.5 else e.display, rng)
        if rng.random() < 0.3:
            t = typo(t, rng)  # a second edit
        if t.lower() != e.display.lower():
            return t, "typo"
    r = rng.random()
    name = e.display if r < 0.45 else (e.display.lower() if r < 0.85 else e.display.upper())
    return name, "generic"


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "seed", "out",
                      seed=20261122, out=str(OUT))
    ap.add_argument("--n", type=int, default=600, help="prescriptions to generate")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    idx = builtin_index()
    d = get_dictionary()
    by_source: dict[str, list[tuple[str, str]]] = {}
    for key, rules in idx.pairs.items():
        if len(key) != 2:
            continue
        a, b = sorted(key)
        for r in rules:
            by_source.setdefault(r.source, []).append((a, b))
    for v in by_source.values():
        v.sort()
    all_drugs = sorted(d.entries)

    def interacting(ids: list[str]) -> list[list[str]]:
        out = []
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if a != b and idx.rules_for(a, b):
                    out.append(sorted([a, b]))
        return sorted(out)

    items = []
    for n in range(args.n):
        zh_doc = rng.random() < 0.35
        positive = rng.random() < 0.7
        chosen: list[str] = []
        source = None
        if positive:
            source = rng.choices(["onc_high_priority", "onc_non_interruptive", "medsage_curated"], [0.5, 0.3, 0.2])[0]
            chosen.extend(rng.choice(by_source[source]))
            if rng.random() < 0.2:  # a second pair
                chosen.extend(p for p in rng.choice(by_source[rng.choice(list(by_source))]) if p not in chosen)
        n_distract = rng.randint(1, 4) if positive else rng.randint(2, 5)
        tries = 0
        while n_distract and tries < 500:
            tries += 1
            cand = rng.choice(all_drugs)
            if cand in chosen or any(idx.rules_for(cand, c) for c in chosen):
                continue
            chosen.append(cand)
            n_distract -= 1
        rng.shuffle(chosen)
        pieces = []
        variants = {}
        for drug in chosen:
            name, kind = render_name(drug, rng, zh_doc)
            variants[drug] = kind
            dose = rng.choice(DOSES)
            freq = rng.choice(FREQ_ZH if zh_doc else FREQ_EN)
            route = rng.choice(ROUTES)
            if zh_doc:
                pieces.append(rng.choice([f"{name} {dose} {freq}", f"{name}{dose}，{freq}", f"{route}{name}，{freq}，每次{dose}"])
                              + rng.choice(FILLER_ZH))
            else:
                pieces.append(rng.choice([f"{name} {dose} {route}{freq}", f"{name} {dose} {freq}", f"{name} {dose}",
                                          f"{name} {dose.replace(' ', '')} {freq.upper()}"]) + rng.choice(FILLER_EN))
        style = rng.choice(["list", "sentence", "semicolon"])
        if zh_doc:
            text = ("处方：\n" + "\n".join(f"{i + 1}. {p}" for i, p in enumerate(pieces)) if style == "list"
                    else "患者目前用药：" + "；".join(pieces) + "。")
        else:
            text = ("Rx:\n" + "\n".join(f"- {p}" for p in pieces) if style == "list" else
                    ("Current medications: " + ", ".join(pieces) + "." if style == "sentence" else "; ".join(pieces)))
        items.append({"id": f"rx{n:04d}", "lang": "zh" if zh_doc else "en", "text": text, "drugs": chosen,
                      "variants": variants, "source": source, "pairs": interacting(chosen)})
    write_jsonl(args.out, items)
    print(f"wrote {len(items)} prescriptions to {args.out} (seed {args.seed}); "
          f"{sum(1 for i in items if i['pairs'])} with interactions, {sum(len(i['pairs']) for i in items)} pairs")


if __name__ == "__main__":
    main()
