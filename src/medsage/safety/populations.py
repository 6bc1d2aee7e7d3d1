"""Pregnancy, lactation, renal and hepatic flags (``pregnancy_lactation.json``, ``organ_function.json``)."""

from __future__ import annotations

from typing import Any

from medsage.safety._common import finding, load_json, msg
from medsage.safety.context import PatientContext
from medsage.safety.drugs import Medication
from medsage.types import Finding


def _matches(rule: dict[str, Any], med: Medication) -> bool:
    if med.drug_id in rule.get("not_match", []):
        return False
    target = rule["match"]
    if target.startswith("class:"):
        return target[6:] in med.classes
    return bool(med.drug_id == target)


def _downgrade(action: str, med: Medication) -> str:
    return "warn" if med.negated and action == "block" else action


def check_populations(meds: list[Medication], ctx: PatientContext, *, lang: str = "en") -> list[Finding]:
    """Findings for ``meds`` in pregnancy, lactation, renal or hepatic impairment."""
    out: list[Finding] = []
    preg = load_json("pregnancy_lactation.json")
    organ = load_json("organ_function.json")
    done: set[tuple[str, str]] = set()
    for med in meds:
        label = med.zh if lang == "zh" and med.zh else med.name
        if ctx.pregnant:
            for rule in preg["pregnancy"]:
                if _matches(rule, med) and ("pregnancy", med.drug_id) not in done:
                    weeks = ctx.pregnancy_weeks
                    if rule["match"] == "class:nsaid" and weeks is not None and weeks < 20:
                        continue
                    done.add(("pregnancy", med.drug_id))
                    out.append(finding(
                        "pregnancy", rule["severity"],
                        msg(lang, f"{label} in pregnancy: {rule['en']}.", f"妊娠期使用{label}：{rule['zh']}。"),
                        rule["source"], med.span, _downgrade(rule["action"], med), drug=med.drug_id))
        if ctx.lactating:
            for rule in preg["lactation"]:
                if _matches(rule, med) and ("lactation", med.drug_id) not in done:
                    done.add(("lactation", med.drug_id))
                    out.append(finding(
                        "lactation", rule["severity"],
                        msg(lang, f"{label} during breastfeeding: {rule['en']}.", f"哺乳期使用{label}：{rule['zh']}。"),
                        rule["source"], med.span, _downgrade(rule["action"], med), drug=med.drug_id))
        rf = ctx.renal_function
        if rf is not None:
            # the most restrictive (lowest threshold) rule that applies
            applicable = [r for r in organ["renal"] if _matches(r, med) and rf < r["below"]]
            if applicable and ("renal", med.drug_id) not in done:
                rule = min(applicable, key=lambda r: r["below"])
                done.add(("renal", med.drug_id))
                kind = "CrCl" if ctx.crcl is not None else "eGFR"
                out.append(finding(
                    "renal", rule["severity"],
                    msg(lang, f"{label} with {kind} {rf:g} mL/min: {rule['en']}.",
                        f"{label}，{kind} {rf:g} mL/min：{rule['zh']}。"),
                    rule["source"], med.span, _downgrade(rule["action"], med), drug=med.drug_id, renal=rf))
        if ctx.hepatic and ctx.hepatic != "normal":
            for rule in organ["hepatic"]:
                if _matches(rule, med) and ctx.hepatic in rule["levels"] and ("hepatic", med.drug_id) not in done:
                    done.add(("hepatic", med.drug_id))
                    out.append(finding(
                        "hepatic", rule["severity"],
                        msg(lang, f"{label} with {ctx.hepatic} hepatic impairment: {rule['en']}.",
                            f"{label}，{ {'mild': '轻度', 'moderate': '中度', 'severe': '重度'}.get(ctx.hepatic, '')}肝功能不全：{rule['zh']}。"),
                        rule["source"], med.span, _downgrade(rule["action"], med), drug=med.drug_id))
    return out
