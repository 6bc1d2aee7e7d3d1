"""Allergy checks: the same drug, and cross-reactivity by class (penicillin -> other beta-lactams …)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from medsage.safety._common import finding, load_json, msg, sev_rank
from medsage.safety.drugs import Medication, get_dictionary
from medsage.types import Finding

_TEXT_ALLERGY_RES = [
    re.compile(r"\b(?:allergic|allergy|allergies|hypersensitivity|hypersensitive|anaphylaxis)\s+(?:to|with)\s+"
               r"([A-Za-z][A-Za-z\- ]{2,40}?)(?=[,.;:)\n]|\s+(?:and|with|but|who|which|since)\b|$)", re.IGNORECASE),
    re.compile(r"\b([A-Za-z][A-Za-z\-]{2,30})\s+(?:allergy|allergic reaction|hypersensitivity)\b", re.IGNORECASE),
    re.compile(r"(?:对|曾对)([\u4e00-\u9fffA-Za-z\-]{2,12}?)(?:类药物|类)?(?:过敏|不耐受)"),
    re.compile(r"([\u4e00-\u9fffA-Za-z\-]{2,12}?)(?:类药物|类)?过敏(?:史)?"),
]
_NO_ALLERGY = re.compile(r"\b(?:no known (?:drug )?allergies|nkda|nka|no (?:drug )?allergies)\b|无(?:药物)?过敏史|否认(?:药物)?过敏史", re.IGNORECASE)


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    return load_json("allergy.json")


def resolve_allergen(name: str) -> tuple[set[str], set[str]]:
    """(allergen classes, drug ids) that a recorded allergy string refers to."""
    doc = _rules()
    key = " ".join(name.lower().split()).strip(" .,;:")
    classes: set[str] = set()
    drugs: set[str] = set()
    for cls, aliases in doc["aliases"].items():
        if key in aliases or any(a == key or (len(a) > 3 and a in key) for a in aliases):
            classes.add(cls)
    hit = get_dictionary().lookup(key) if key else None
    if hit is not None:
        entry = hit[0]
        drugs.add(entry.id)
        rule_allergens = {r["allergen"] for r in doc["rules"]}
        # the drug's own specific classes (not the umbrella "beta_lactam": penicillin allergy is not
        # a contraindication to every beta-lactam)
        classes |= {c for c in entry.classes if c in rule_allergens and c != "beta_lactam"}
        if "salicylate" in entry.classes or entry.id == "acetylsalicylic acid":
            classes.add("salicylate")
    return classes, drugs


def allergies_from_text(text: str) -> list[str]:
    """Allergies stated in free text ("allergic to penicillin", "青霉素过敏")."""
    if not text or _NO_ALLERGY.search(text) and not re.search(r"allerg\w* to|过敏(?!史)", _NO_ALLERGY.sub("", text)):
        return []
    out: list[str] = []
    for rx in _TEXT_ALLERGY_RES:
        for m in rx.finditer(text):
            cand = m.group(1).strip()
            cand = re.sub(r"^(?:the|a|an|known|severe|mild)\s+", "", cand, flags=re.IGNORECASE)
            cand = re.sub(r"^(?:有|曾|患者|病人|既往|对|曾对)+", "", cand)
            cand = re.sub(r"(?:类药物|类)$", "", cand)
            if cand and cand.lower() not in ("drug", "drugs", "food", "known", "no", "medication", "药物", "食物", "无", "否认"):
                out.append(cand)
    return list(dict.fromkeys(out))


def check_allergies(meds: list[Medication], allergies: list[str] | tuple[str, ...], *,
                    lang: str = "en") -> list[Finding]:
    """Findings for medications that match or cross-react with a recorded allergy."""
    doc = _rules()
    d = get_dictionary()
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for allergy in allergies:
        classes, drug_ids = resolve_allergen(allergy)
        if not classes and not drug_ids:
            out.append(finding(
                "allergy_unresolved", "low",
                msg(lang, f"Recorded allergy '{allergy}' is not a known drug or drug class: cross-reactivity was not checked.",
                    f"记录的过敏原“{allergy}”不是已知药物或药物类别：未能检查交叉过敏。"),
                "medsage allergy rules", None, "annotate", allergy=allergy))
            continue
        for med in meds:
            key = (allergy, med.drug_id)
            if key in seen or med.negated:
                # a negated mention is the allergy statement itself or an "avoid X" instruction
                continue
            entry = d.entries.get(med.drug_id)
            if entry is None:
                continue
            label = entry.label(lang)
            if med.drug_id in drug_ids:
                seen.add(key)
                out.append(finding(
                    "allergy", "critical",
                    msg(lang, f"{label} conflicts with the recorded allergy to '{allergy}'.",
                        f"{label}与记录的“{allergy}”过敏冲突。"),
                    "patient allergy record", med.span, "warn" if med.negated else "block",
                    drug=med.drug_id, allergy=allergy))
                continue
            best = None
            for rule in doc["rules"]:
                if rule["allergen"] in classes and rule["target"] in entry.classes and (
                        best is None or sev_rank(rule["severity"]) > sev_rank(best["severity"])):
                    best = rule
            if best is not None:
                seen.add(key)
                action = best["action"]
                if med.negated and action == "block":
                    action = "warn"
                out.append(finding(
                    "allergy", best["severity"],
                    msg(lang, f"{label} with recorded allergy to '{allergy}': {best['en']}.",
                        f"{label}，记录过敏“{allergy}”：{best['zh']}。"),
                    doc["source"], med.span, action, drug=med.drug_id, allergy=allergy,
                    allergen_class=best["allergen"], target_class=best["target"]))
    return out
