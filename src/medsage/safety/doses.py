"""Dose checks against the curated table (``data/safety/doses.json``, one source per entry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from medsage.safety._common import finding, load_json, msg
from medsage.safety.context import PatientContext
from medsage.safety.dose_parse import DoseInfo
from medsage.safety.drugs import Medication
from medsage.types import Finding


@lru_cache(maxsize=1)
def dose_table() -> dict[str, dict[str, Any]]:
    """Drug id -> dose-limit entry."""
    return {e["drug"]: e for e in load_json("doses.json")["entries"]}


def _fmt(mg: float) -> str:
    if mg >= 1000 and mg % 100 == 0:
        return f"{mg / 1000:g} g"
    if mg < 1:
        return f"{mg * 1000:g} mcg"
    return f"{mg:g} mg"


@dataclass
class _Limits:
    """The single and daily maxima that apply to one patient, and why they were lowered."""

    max_single: float | None
    max_daily: float | None
    notes_en: list[str] = field(default_factory=list)
    notes_zh: list[str] = field(default_factory=list)

    def cap_daily(self, cap_mg: float, note_en: str, note_zh: str) -> None:
        """Lower the daily maximum to ``cap_mg`` (if lower) and record the reason."""
        self.max_daily = min(self.max_daily or 1e12, cap_mg)
        self.notes_en.append(note_en)
        self.notes_zh.append(note_zh)


def check_doses(meds: list[Medication], ctx: PatientContext, *, lang: str = "en") -> list[Finding]:
    """Single/daily maxima, paediatric mg/kg limits, minimum ages, weekly-only drugs."""
    table = dose_table()
    out: list[Finding] = []
    seen_age: set[str] = set()
    for med in meds:
        entry = table.get(med.drug_id)
        if entry is None:
            continue
        label = med.zh if lang == "zh" and med.zh else med.name
        # minimum age (independent of a dose being written)
        if ctx.age_years is not None and med.drug_id not in seen_age and not med.negated:
            too_young = _min_age_finding(med, entry, ctx.age_years, label, lang)
            if too_young is not None:
                seen_age.add(med.drug_id)
                out.append(too_young)
        dose = med.dose
        if dose is None or med.negated:
            continue
        if entry.get("route") not in (None, "any") and dose.route and dose.route != entry["route"]:
            continue  # limits are for another route
        if entry.get("weekly_only") and dose.frequency_per_day is not None and dose.frequency_per_day >= 0.5:
            out.append(_weekly_only_finding(med, dose, entry, label, lang))
            continue
        limits = _limits(entry, ctx)
        if limits is None:
            out.append(finding(
                "dose_unverified", "moderate",
                msg(lang, f"{label} for a child without a recorded weight: the mg/kg dose limit could not be checked.",
                    f"儿童使用{label}但未提供体重：无法核对按体重计算的剂量上限。"),
                entry["source"], dose.span or med.span, "warn", drug=med.drug_id))
            continue
        out += _over_limit_findings(med, dose, entry["source"], limits, label, lang)
    return out


def _min_age_finding(med: Medication, entry: dict[str, Any], age: float, label: str,
                     lang: str) -> Finding | None:
    """A finding if the patient is younger than the drug's minimum age, else None."""
    peds = entry.get("peds") or {}
    min_age = peds.get("min_age_years")
    if min_age is None and peds.get("min_age_months") is not None:
        min_age = peds["min_age_months"] / 12.0
    if min_age is None or age >= min_age:
        return None
    severe = med.drug_id in ("codeine", "tramadol", "acetylsalicylic acid")
    reason_en = peds.get("min_age_reason_en", "not labelled for this age")
    reason_zh = peds.get("min_age_reason_zh", "说明书未批准用于该年龄")
    return finding(
        "pediatric", "high" if severe else "moderate",
        msg(lang, f"{label} in a patient aged {age:g}: {reason_en} (minimum age {min_age:g} years).",
            f"{label}用于{age:g}岁患者：{reason_zh}（最低年龄{min_age:g}岁）。"),
        entry["source"], med.span, "block" if severe else "warn", drug=med.drug_id)


def _weekly_only_finding(med: Medication, dose: DoseInfo, entry: dict[str, Any], label: str,
                         lang: str) -> Finding:
    """The critical finding for a once-weekly drug (methotrexate) written daily."""
    return finding(
        "dose", "critical",
        msg(lang, f"{label} is dosed ONCE WEEKLY for non-cancer indications; "
                  f"'{dose.frequency_text}' dosing has caused fatal overdoses. {entry.get('note_en', '')}".strip(),
            f"{label}（非肿瘤适应证）应每周一次给药；按“{dose.frequency_text}”服用曾致致命过量。"),
        entry["source"], dose.span or med.span, "block", drug=med.drug_id)


def _limits(entry: dict[str, Any], ctx: PatientContext) -> _Limits | None:
    """The maxima for this patient; None for a child without a weight when limits are mg/kg."""
    adult = entry.get("adult") or {}
    limits = _Limits(adult.get("max_single_mg"), adult.get("max_daily_mg"))
    if ctx.age_years is not None and ctx.age_years > 60 and entry.get("elderly_max_daily_mg"):
        limits.cap_daily(entry["elderly_max_daily_mg"], "age over 60", "年龄>60岁")
    if ctx.hepatic in ("moderate", "severe") and entry.get("hepatic_max_daily_mg"):
        limits.cap_daily(entry["hepatic_max_daily_mg"], "hepatic impairment", "肝功能不全")
    rf = ctx.renal_function
    if rf is not None and rf < 30 and entry.get("renal_max_daily_mg"):
        limits.cap_daily(entry["renal_max_daily_mg"], "CrCl < 30", "CrCl<30")
    peds = entry.get("peds") or {}
    if ctx.is_child and peds:
        if ctx.weight_kg:
            _apply_paediatric(peds, ctx.weight_kg, limits)
        elif peds.get("mg_per_kg_single") is not None or peds.get("mg_per_kg_day") is not None:
            return None
    elif entry.get("mg_per_kg_day_all_ages") and ctx.weight_kg:
        lim = entry["mg_per_kg_day_all_ages"] * ctx.weight_kg
        limits.max_daily = min(limits.max_daily or lim, lim)
    if adult.get("mg_per_kg_single") and ctx.weight_kg and not ctx.is_child:
        lim = adult["mg_per_kg_single"] * ctx.weight_kg
        limits.max_single = min(limits.max_single or lim, lim)
    return limits


def _apply_paediatric(peds: dict[str, Any], weight: float, limits: _Limits) -> None:
    """Replace the adult maxima by the paediatric ones (mg/kg, capped by absolute maxima)."""
    if peds.get("mg_per_kg_single") is not None:
        lim = peds["mg_per_kg_single"] * weight
        limits.max_single = min(lim, peds.get("max_single_mg", lim))
    elif peds.get("max_single_mg") is not None:
        limits.max_single = peds["max_single_mg"]
    if peds.get("mg_per_kg_day") is not None:
        lim = peds["mg_per_kg_day"] * weight
        limits.max_daily = min(lim, peds.get("max_daily_mg", lim))
    elif peds.get("max_daily_mg") is not None:
        limits.max_daily = peds["max_daily_mg"]
    limits.notes_en.append(f"paediatric limit for {weight:g} kg")
    limits.notes_zh.append(f"按{weight:g} kg儿童剂量")


def _over_limit_findings(med: Medication, dose: DoseInfo, src: str, limits: _Limits, label: str,
                         lang: str) -> list[Finding]:
    """Findings for a single or daily dose above its maximum (critical at twice the limit)."""
    out: list[Finding] = []
    note_en = f" ({', '.join(limits.notes_en)})" if limits.notes_en else ""
    note_zh = f"（{'，'.join(limits.notes_zh)}）" if limits.notes_zh else ""
    checks = (  # amount, limit, kind, English "per …" and "maximum …", Chinese ditto, finding field
        (dose.dose_mg, limits.max_single, "single", "per dose", "single dose", "单次", "单次", "dose_mg"),
        (dose.daily_mg, limits.max_daily, "daily", "per day", "daily dose", "每日", "每日", "daily_mg"),
    )
    for amount, limit, kind, per_en, max_en, per_zh, max_zh, key in checks:
        if amount is None or limit is None or amount <= limit * 1.0001:
            continue
        out.append(finding(
            "dose", "critical" if amount / limit >= 2 else "high",
            msg(lang, f"{label} {_fmt(amount)} {per_en} exceeds the maximum {max_en} of {_fmt(limit)}{note_en}.",
                f"{label}{per_zh}{_fmt(amount)}超过{max_zh}最大剂量{_fmt(limit)}{note_zh}。"),
            src, dose.span or med.span, "block", drug=med.drug_id, **{key: amount}, limit_mg=limit, kind=kind))
    return out
