"""Diagnosis coding suggestions.

English: ICD-10-CM (public-domain tables from the ``simple-icd-10-cm``
package). Chinese: an ICD-10 table the user supplies (``.xlsx``, ``.csv`` or
``.tsv`` with code and name in the first two columns, e.g. the Beijing
clinical v601 table, which is research-licensed and therefore not shipped).
Suggestions come from the problems (non-negated lexicon concepts) stated in the
note's assessment/diagnosis sections; they are suggestions for a coder to
confirm, never final codes.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MissingExtraError
from medsage.notes.lexicon import find_concepts

log = logging.getLogger(__name__)

DIAGNOSIS_SECTIONS = ("assessment_plan", "imp", "assessment", "chubuzhenduan", "diagnosis")
_STEM = re.compile(r"[a-z0-9]+")


def _stems(text: str) -> list[str]:
    words = _STEM.findall(text.lower())
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words
            if w not in {"of", "the", "and", "with", "due", "to"}]


@lru_cache(maxsize=1)
def _icd_index() -> tuple[dict[str, set[str]], dict[str, str]]:
    try:
        import simple_icd_10_cm as icd
    except ImportError as exc:
        raise MissingExtraError("simple-icd-10-cm", "notes", "ICD-10-CM coding") from exc
    desc: dict[str, str] = {}
    index: dict[str, set[str]] = defaultdict(set)
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter_or_block(code):
            continue
        d = icd.get_description(code)
        desc[code] = d
        for s in set(_stems(d)):
            index[s].add(code)
    return dict(index), desc


# Common problems whose shortest-description match is wrong (e.g. "Portal hypertension").
_PREFERRED = {"hypertension": "I10", "high blood pressure": "I10", "hyperlipidemia": "E78.5",
              "high cholesterol": "E78.00", "cholesterol": "E78.00", "asthma": "J45.909",
              "copd": "J44.9", "heart failure": "I50.9", "chf": "I50.9", "cancer": "C80.1",
              "obesity": "E66.9", "infection": "B99.9", "allergy": "T78.40XA", "allergies": "T78.40XA",
              "fracture": "T14.8XXA", "stroke": "I63.9", "kidney disease": "N18.9", "ckd": "N18.9",
              # organism unspecified (community-acquired included), not J12.9 "viral pneumonia"
              "pneumonia": "J18.9", "community-acquired pneumonia": "J18.9",
              "community acquired pneumonia": "J18.9"}


def suggest_icd10cm(phrase: str) -> dict[str, Any] | None:
    """The best ICD-10-CM code for a problem phrase (shortest description with all its words)."""
    import simple_icd_10_cm as icd

    index, desc = _icd_index()
    pref = _PREFERRED.get(phrase.lower().strip())
    if pref and pref in desc:
        return {"code": pref, "description": desc[pref], "system": "ICD-10-CM", "term": phrase}
    stems = _stems(phrase)
    if not stems:
        return None
    sets = [index.get(s, set()) for s in stems]
    cands = set.intersection(*sets) if all(sets) else set()
    if not cands:
        return None
    code = min(cands, key=lambda c: (len(desc[c]) - (12 if "unspecified" in desc[c].lower() else 0)
                                     + (30 if desc[c].lower().startswith("other") else 0), len(c)))
    if not icd.is_leaf(code):  # prefer the "without complications" / "unspecified" child
        kids = icd.get_children(code)
        plain = [k for k in kids if re.search(r"without complications|uncomplicated", desc.get(k, ""), re.I)]
        unspec = [k for k in kids if desc.get(k, "").lower().endswith("unspecified")]
        if plain or unspec:
            code = min(plain or unspec, key=len)
    return {"code": code, "description": desc[code], "system": "ICD-10-CM", "term": phrase}


@lru_cache(maxsize=4)
def load_zh_table(path: str) -> list[tuple[str, str]]:
    """Read a user-supplied Chinese ICD-10 table into ``(code, name)`` pairs.

    Raises:
        DataError: if the file is missing or has no code/name rows.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"ICD-10 table not found: {p}")
    if p.suffix.lower() == ".xlsx":
        from medsage.notes.xlsx import read_xlsx_rows

        rows = read_xlsx_rows(p)
    else:
        delim = "\t" if p.suffix.lower() in (".tsv", ".txt") else ","
        with p.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter=delim))
    pairs = [(r[0].strip(), r[1].strip()) for r in rows if len(r) >= 2 and re.match(r"^[A-Z]\d", r[0].strip())]
    if not pairs:
        raise DataError(f"{p}: no rows with an ICD-10 code and a name in the first two columns")
    return pairs


def suggest_zh(phrase: str, table: list[tuple[str, str]]) -> dict[str, Any] | None:
    """The shortest table entry whose name contains ``phrase`` (else a fuzzy match ≥ 80)."""
    hits = [(code, name) for code, name in table if phrase in name]
    if hits:
        code, name = min(hits, key=lambda x: (len(x[1]), x[0]))
        return {"code": code, "description": name, "system": "ICD-10 (user table)", "term": phrase}
    from rapidfuzz import fuzz, process

    best = process.extractOne(phrase, [n for _, n in table], scorer=fuzz.ratio, score_cutoff=80)
    if best is None:
        return None
    code, name = table[best[2]]
    return {"code": code, "description": name, "system": "ICD-10 (user table)", "term": phrase}


_NOT_CODED = {"allergy", "infection", "過敏", "过敏"}


def suggest_codes(sections: dict[str, str], lang: str, zh_table: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Coding suggestions for the problems in the diagnosis sections, plus warnings."""
    diag = [k for k in sections if k in DIAGNOSIS_SECTIONS]
    text = " ".join(sections[k] for k in diag) if diag else " ".join(sections.values())
    terms: list[str] = []
    for m in find_concepts(text, lang):
        surface = text.lower()[m.start:m.end]
        if m.kind == "problem" and not m.negated and surface not in terms and m.concept not in _NOT_CODED:
            terms.append(surface)
    if lang == "zh" and not zh_table:
        return [], ["Chinese coding skipped: give an ICD-10 table with --icd-table (e.g. the Beijing "
                    "clinical v601 .xlsx, read from your path and not shipped)"]
    table = load_zh_table(zh_table) if lang == "zh" and zh_table else None
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for term in terms:
        s = suggest_zh(term, table) if table is not None else suggest_icd10cm(term)
        if s and s["code"] not in seen:
            seen.add(s["code"])
            out.append(s)
    return out, []
