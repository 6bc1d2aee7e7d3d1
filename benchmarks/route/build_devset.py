"""Build the department-triage development set from ``devset_source.txt``.

Each row gets a stable id, its language, category and kind (``which_department`` when
the query asks outright which department to see), and a split: ``test`` for rows whose
query hash falls in the lowest quarter (frozen before the router was built; never used
for tuning), ``dev`` otherwise. Every reference must be a name in the 52-department
sample list.

    python benchmarks/route/build_devset.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).with_name("devset_source.txt")
DATA = ROOT / "src" / "medsage" / "data" / "route_dept"
WHICH = re.compile(r"挂什么科|挂哪个科|挂哪里|看哪个科|看什么科|哪个科|去哪个科|哪个科室|去哪里看|该去哪看|"
                   r"which department|which doctor|which clinic|which specialist|who should|what kind of doctor|"
                   r"where should i go", re.I)


def main() -> int:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(DATA / "devset.jsonl"))
    args = ap.parse_args()
    names = set(DATA.joinpath("departments_zh52.txt").read_text(encoding="utf-8").split())
    rows, category, bad = [], "", 0
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            category = line[3:].strip().rstrip("0123456789")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        query, _, ref = (p.strip() for p in line.partition("||"))
        refs = [r for r in ref.split("|") if r]
        for r in refs:
            if r not in names:
                print(f"unknown department {r!r} in: {query}", file=sys.stderr)
                bad += 1
        h = int(hashlib.sha256(query.encode()).hexdigest()[:8], 16)
        lang = "zh" if re.search(r"[\u4e00-\u9fff]", query) else "en"
        rows.append({"id": f"dt-{lang}-{h:08x}", "lang": lang, "category": category,
                     "kind": "which_department" if WHICH.search(query) else "complaint",
                     "split": "test" if h % 4 == 0 else "dev", "patient": query, "reference": "|".join(refs)})
    if bad:
        return 1
    out = Path(args.out)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    # the package ships devset.jsonl; its provenance stays here, beside the source list
    write_json(SOURCE.parent / "devset_provenance.json", {"out": str(out), "rows": len(rows),
                                                  "sha256": hashlib.sha256(out.read_bytes()).hexdigest()})
    n_test = sum(r["split"] == "test" for r in rows)
    print(f"{len(rows)} rows ({n_test} test, {len(rows) - n_test} dev) -> {out}")
    print("sha256", hashlib.sha256(out.read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
