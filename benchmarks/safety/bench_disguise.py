"""Hostile input: recall on disguised variants of the development prescriptions and de-id corpora.

Every obfuscation class is applied to every drug name of the 600 seeded prescriptions
(``data/prescriptions.jsonl``) and to every gold identifier of the de-identification
corpus (``data/deid_corpus.jsonl``, Faker-generated, seed 4242), then the checker and the
de-identifier run on the disguised text:

* ``none`` — the text as generated (the baseline);
* ``zero_width`` — U+200B after every second character of the name / identifier;
* ``soft_hyphen`` — U+00AD in the middle;
* ``bidi_joiner`` — U+2060 WORD JOINER and U+200D ZERO WIDTH JOINER inside;
* ``cyrillic`` — Latin letters replaced by Cyrillic/Greek look-alikes (а е о р с х у і ѕ ј, Α Β Ε …);
* ``fullwidth`` — ASCII letters, digits and symbols as full-width forms (Ａ１＠ …);
* ``mixed`` — look-alikes, full-width characters and zero-width spaces together.

Drug names are located with the checker on the plain text (a name it misses there stays
plain). Reports interaction-pair recall, drug recall and the number of prescriptions whose
plain text has findings but whose disguised text has none (false "No findings"), per class
and per name form; and de-identification recall (typed, and redacted = 90% of the
characters covered) per class and identifier type, plus how many gold identifiers still
show two or more of their original characters in a row after redaction (leaks).

    python benchmarks/safety/bench_disguise.py
writes benchmarks/safety/results/disguise.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from medsage.safety import check
from medsage.safety.deid import deidentify

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
STRUCTURED = ("PHONE", "CN_RESIDENT_ID", "MEDICAL_ID", "EMAIL", "IP", "URL", "DATE")
_LOOKALIKE = dict(zip("aeopcxyisjABEHIKMNOPTXYZ", "аеорсхуіѕјΑΒΕΗΙΚΜΝΟΡΤΧΥΖ", strict=True))


def _zero_width(s: str) -> str:
    return "".join(c + ("\u200b" if i % 2 == 1 and i < len(s) - 1 else "") for i, c in enumerate(s))


def _soft_hyphen(s: str) -> str:
    mid = max(1, len(s) // 2)
    return s[:mid] + "\u00ad" + s[mid:] if len(s) > 1 else s


def _bidi_joiner(s: str) -> str:
    if len(s) < 3:
        return s
    a, b = len(s) // 3, 2 * len(s) // 3
    return s[:a] + "\u2060" + s[a:b] + "\u200d" + s[b:]


def _cyrillic(s: str) -> str:
    return "".join(_LOOKALIKE.get(c, c) for c in s)


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _mixed(s: str) -> str:
    out = []
    for i, c in enumerate(s):
        if i % 3 == 0:
            c = _LOOKALIKE.get(c, c)
        elif i % 3 == 1 and "!" <= c <= "~":
            c = chr(ord(c) + 0xFEE0)
        out.append(c + ("\u200b" if i % 4 == 3 and i < len(s) - 1 else ""))
    return "".join(out)


CLASSES: dict[str, Callable[[str], str]] = {
    "none": lambda s: s, "zero_width": _zero_width, "soft_hyphen": _soft_hyphen, "bidi_joiner": _bidi_joiner,
    "cyrillic": _cyrillic, "fullwidth": _fullwidth, "mixed": _mixed,
}


def disguise(text: str, spans: list[tuple[int, int]], fn: Callable[[str], str]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with ``fn`` applied to each (non-overlapping) span, and the new spans."""
    out, new_spans, pos, shift = [], [], 0, 0
    for s, e in sorted(spans):
        if s < pos:
            new_spans.append((s + shift, e + shift))
            continue
        out.append(text[pos:s])
        piece = fn(text[s:e])
        out.append(piece)
        new_spans.append((s + shift, s + shift + len(piece)))
        shift += len(piece) - (e - s)
        pos = e
    out.append(text[pos:])
    return "".join(out), new_spans


def _pairs(report: object) -> set[tuple[str, ...]]:
    return {tuple(sorted(f.data["drugs"])) for f in report.by_type("interaction")}  # type: ignore[attr-defined]


def bench_prescriptions(items: list[dict]) -> dict:
    res: dict[str, dict] = {}
    plain = {it["id"]: check(it["text"], run_triage=False, run_policy=False) for it in items}
    for cls, fn in CLASSES.items():
        pair_hit = pair_n = drug_hit = drug_n = false_clear = evasion_flagged = disguised_items = 0
        by_form: dict[str, Counter] = {}
        for it in items:
            base = plain[it["id"]]
            spans = [m.span for m in base.medications if m.span]
            text, _ = disguise(it["text"], spans, fn)
            rep = base if cls == "none" else check(text, run_triage=False, run_policy=False)
            gold = {tuple(p) for p in it["pairs"]}
            pred = _pairs(rep)
            pair_hit += len(gold & pred)
            pair_n += len(gold)
            found = {m.drug_id for m in rep.medications}
            drug_hit += len(found & set(it["drugs"]))
            drug_n += len(it["drugs"])
            for d in it["drugs"]:
                by_form.setdefault(it["variants"][d], Counter()).update(hit=int(d in found), n=1)
            if base.findings and not rep.findings:
                false_clear += 1
            if text != it["text"]:
                disguised_items += 1
                evasion_flagged += bool(rep.by_type("evasion"))
        res[cls] = {
            "pair_recall": round(pair_hit / pair_n, 4), "pairs": pair_n,
            "drug_recall": round(drug_hit / drug_n, 4), "drugs": drug_n,
            "false_no_findings": false_clear,
            "evasion_reported": f"{evasion_flagged}/{disguised_items}",
            "drug_recall_by_name_form": {k: round(v["hit"] / v["n"], 4) for k, v in sorted(by_form.items())},
        }
    return res


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _leaks(original: str, redacted: str) -> bool:
    """Whether two or more consecutive original characters (letters/digits) survive in ``redacted``."""
    core = "".join(c for c in original if c.isalnum())
    if len(core) < 3:
        return False
    return any(core[i:i + 3] in redacted for i in range(len(core) - 2))


def bench_deid(docs: list[dict]) -> dict:
    res: dict[str, dict] = {}
    for cls, fn in CLASSES.items():
        typed, red, gold_n, leaks = Counter(), Counter(), Counter(), Counter()
        for d in docs:
            spans = [(s, e) for s, e, _t in d["entities"]]
            types = [t for _s, _e, t in d["entities"]]
            text, new_spans = disguise(d["text"], spans, fn)
            result = deidentify(text, mode="redact", date_mode="redact")
            preds = result.entities
            for (s, e), t in zip(new_spans, types, strict=True):
                gold_n[t] += 1
                typed[t] += any(p.type == t and _overlap((p.start, p.end), (s, e)) * 2 >= (e - s) for p in preds)
                cover = sum(_overlap((p.start, p.end), (s, e)) for p in preds)
                red[t] += cover >= 0.9 * (e - s)
                if t in STRUCTURED and cover < (e - s):
                    # the uncovered characters of the disguised identifier, in the output
                    rest = "".join(text[i] for i in range(s, e)
                                   if not any(p.start <= i < p.end for p in preds))
                    leaks[t] += _leaks(rest, result.text)
        per_type = {t: {"n": gold_n[t], "recall_typed": round(typed[t] / gold_n[t], 4),
                        "recall_redacted": round(red[t] / gold_n[t], 4)} for t in sorted(gold_n)}
        s_n = sum(gold_n[t] for t in STRUCTURED)
        res[cls] = {
            "structured_recall_redacted": round(sum(red[t] for t in STRUCTURED) / s_n, 4) if s_n else None,
            "all_recall_redacted": round(sum(red.values()) / sum(gold_n.values()), 4),
            "person_recall_redacted": per_type.get("PERSON", {}).get("recall_redacted"),
            "structured_leaks": sum(leaks.values()),
            "per_type": per_type,
        }
    return res


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(HERE / "results" / "disguise.json"))
    ap.add_argument("--prescriptions", default=str(HERE / "data" / "prescriptions.jsonl"))
    ap.add_argument("--deid", default=str(HERE / "data" / "deid_corpus.jsonl"))
    args = ap.parse_args()

    def load(p: str) -> list[dict]:
        return [json.loads(x) for x in Path(p).read_text(encoding="utf-8").splitlines() if x.strip()]

    start = time.perf_counter()
    result = {
        "benchmark": "disguised variants (obfuscation class x drug name form / identifier type)",
        "classes": list(CLASSES),
        "prescriptions": bench_prescriptions(load(args.prescriptions)),
        "deid": bench_deid(load(args.deid)),
    }
    result["seconds"] = round(time.perf_counter() - start, 1)
    write_json(args.out, result)
    summary = {cls: {"pair_recall": result["prescriptions"][cls]["pair_recall"],
                     "drug_recall": result["prescriptions"][cls]["drug_recall"],
                     "false_no_findings": result["prescriptions"][cls]["false_no_findings"],
                     "deid_structured": result["deid"][cls]["structured_recall_redacted"],
                     "deid_person": result["deid"][cls]["person_recall_redacted"],
                     "leaks": result["deid"][cls]["structured_leaks"]} for cls in CLASSES}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
