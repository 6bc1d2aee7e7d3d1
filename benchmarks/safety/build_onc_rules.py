"""Build medsage's shipped ONC interaction table from the public ONC CSVs.

Reads the dbmi-pitt "mapped" ONC high-priority and non-interruptive lists
(``drugA$DrugBankA$drugB$DrugBankB$`` rows), maps every drug to an id of the
curated dictionary ``src/medsage/data/safety/drugs.tsv``, assigns each pair the
mechanism group(s) defined in ``interaction_groups.json`` from the dictionary's
drug classes, and writes ``src/medsage/data/safety/interactions_onc.csv``.

    python benchmarks/safety/build_onc_rules.py ../shared/data/knowledge/ddi

Unmapped drugs or pairs without a group are reported (the build fails on
unmapped drugs: the dictionary must cover every drug of the lists).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "medsage" / "data" / "safety"


def load_dictionary() -> dict[str, set[str]]:
    classes: dict[str, set[str]] = {}
    for line in (DATA / "drugs.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        parts = line.split("\t")
        classes[parts[0]] = {c for c in parts[5].split(";") if c}
    return classes


def read_onc(path: Path) -> list[tuple[str, str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        parts = line.strip().split("$")
        if len(parts) >= 4 and parts[0] and parts[2]:
            rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip(), parts[3].strip()))
    return rows


def matches(side: dict, drug: str, classes: dict[str, set[str]]) -> bool:
    if drug in side.get("drugs", []):
        return True
    return bool(classes.get(drug, set()) & set(side.get("classes", [])))


def groups_for(a: str, b: str, listname: str, groups: list[dict], classes) -> list[str]:
    found = []
    for g in groups:
        if g["list"] != listname:
            continue
        for x, y in ((a, b), (b, a)):
            if matches(g["a"], x, classes) and matches(g["b"], y, classes):
                found.append(g["id"])
                break
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_flags(ap, "out", out=str(DATA / "interactions_onc.csv"))
    ap.add_argument("ddi_dir", type=Path, help="folder with onc_high_priority.csv and onc_non_interruptive.csv")
    args = ap.parse_args()
    classes = load_dictionary()
    groups = json.loads((DATA / "interaction_groups.json").read_text(encoding="utf-8"))["groups"]
    out_rows = []
    unmapped: set[str] = set()
    ungrouped = 0
    seen = set()
    for fname, listname in (("onc_high_priority.csv", "onc_high_priority"),
                            ("onc_non_interruptive.csv", "onc_non_interruptive")):
        for name_a, _db_a, name_b, _db_b in read_onc(args.ddi_dir / fname):
            a, b = name_a.lower(), name_b.lower()
            for n in (a, b):
                if n not in classes:
                    unmapped.add(n)
            if a not in classes or b not in classes:
                continue
            key = (min(a, b), max(a, b), listname)
            if key in seen:
                continue
            seen.add(key)
            gs = groups_for(a, b, listname, groups, classes)
            if not gs:
                ungrouped += 1
                gs = [f"{listname}_other"]
            out_rows.append((key[0], key[1], listname, "|".join(gs)))
    if unmapped:
        print("unmapped drugs:", sorted(unmapped), file=sys.stderr)
        return 1
    out_rows.sort()
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        fh.write("# Derived from the US ONC high-priority and non-interruptive drug-drug interaction lists\n")
        fh.write("# (Phansalkar et al., JAMIA 2012/2013), as mapped in dbmi-pitt/public-PDDI-analysis.\n")
        fh.write("# Mechanism groups assigned by medsage developers (see interaction_groups.json).\n")
        fh.write(f"# provenance: {json.dumps(provenance(), ensure_ascii=False)}\n")
        w = csv.writer(fh)
        w.writerow(["drug_a", "drug_b", "list", "groups"])
        w.writerows(out_rows)
    print(f"wrote {len(out_rows)} pairs; {ungrouped} without a specific group")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
