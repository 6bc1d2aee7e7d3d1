"""Dose checks against the curated table (``data/safety/doses.json``, one source per entry)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from medsage.safety._common import finding, load_json, msg
from medsage.safety.context import PatientContext
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


def check_doses(meds: list[Medication], ctx: PatientContext, *, lang: str = "en") -> list[Finding]:  # noqa: C901, PLR0912, PLR0915 - split pending (#21)
    """Single/daily maxima, paediatric mg/kg limits, minimum ages, weekly-only drugs."""
    table = dose_table()
    out: list[Finding] = []
    seen_age: set[str] = set()
    for med in meds:
        entry = table.get(med.drug_id)
        if entry is None:
            continue
        label = med.zh if lang == "zh" and med.zh else med.name
        src = entry["source"]
        peds = entry.get("peds") or {}
        # minimum age (independent of a dose being written)
        if ctx.age_years is not None and med.drug_id not in seen_age and not med.negated:
            min_age = peds.get("min_age_years")
            if min_age is None and peds.get("min_age_months") is not None:
                min_age = peds["min_age_months"] / 12.0
            if min_age is not None and ctx.age_years < min_age:
                seen_age.add(med.drug_id)
                severe = med.drug_id in ("codeine", "tramadol", "acetylsalicylic acid")
                reason_en = peds.get("min_age_reason_en", "not labelled for this age")
                reason_zh = peds.get("min_age_reason_zh", "说明书未批准用于该年龄")
                out.append(finding(
                    "pediatric", "high" if severe else "moderate",
                    msg(lang, f"{label} in a patient aged {ctx.age_years:g}: {reason_en} (minimum age {min_age:g} years).",
                        f"{label}用于{ctx.age_years:g}岁患者：{reason_zh}（最低年龄{min_age:g}岁）。"),
                    src, med.span, "block" if severe else "warn", drug=med.drug_id))
        dose = med.dose
        if dose is None or med.negated:
            continue
        if entry.get("route") not in (None, "any") and dose.route and dose.route != entry["route"]:
            continue  # limits are for another route
        if entry.get("weekly_only") and dose.frequency_per_day is not None and dose.frequency_per_day >= 0.5:
            out.append(finding(
                "dose", "critical",
                msg(lang, f"{label} is dosed ONCE WEEKLY for non-cancer indications; "
                          f"'{dose.frequency_text}' dosing has caused fatal overdoses. {entry.get('note_en', '')}".strip(),
                    f"{label}（非肿瘤适应证）应每周一次给药；按“{dose.frequency_text}”服用曾致致命过量。"),
                src, dose.span or med.span, "block", drug=med.drug_id))
            continue
        is_child = ctx.is_child
        adult = entry.get("adult") or {}
        max_single = adult.get("max_single_mg")
        max_daily = adult.get("max_daily_mg")
        notes_en, notes_zh = [], []
        if ctx.age_years is not None and ctx.age_years > 60 and entry.get("elderly_max_daily_mg"):
            max_daily = min(max_daily or 1e12, entry["elderly_max_daily_mg"])
            notes_en.append("age over 60")
            notes_zh.append("年龄>60岁")
        if ctx.hepatic in ("moderate", "severe") and entry.get("hepatic_max_daily_mg"):
            max_daily = min(max_daily or 1e12, entry["hepatic_max_daily_mg"])
            notes_en.append("hepatic impairment")
            notes_zh.append("肝功能不全")
        rf = ctx.renal_function
        if rf is not None and rf < 30 and entry.get("renal_max_daily_mg"):
            max_daily = min(max_daily or 1e12, entry["renal_max_daily_mg"])
            notes_en.append("CrCl < 30")
            notes_zh.append("CrCl<30")
        if is_child and peds:
            w = ctx.weight_kg
            if w:
                if peds.get("mg_per_kg_single") is not None:
                    lim = peds["mg_per_kg_single"] * w
                    max_single = min(lim, peds.get("max_single_mg", lim))
                elif peds.get("max_single_mg") is not None:
                    max_single = peds["max_single_mg"]
                if peds.get("mg_per_kg_day") is not None:
                    lim = peds["mg_per_kg_day"] * w
                    max_daily = min(lim, peds.get("max_daily_mg", lim))
                elif peds.get("max_daily_mg") is not None:
                    max_daily = peds["max_daily_mg"]
                notes_en.append(f"paediatric limit for {w:g} kg")
                notes_zh.append(f"按{w:g} kg儿童剂量")
            elif peds.get("mg_per_kg_single") is not None or peds.get("mg_per_kg_day") is not None:
                out.append(finding(
                    "dose_unverified", "moderate",
                    msg(lang, f"{label} for a child without a recorded weight: the mg/kg dose limit could not be checked.",
                        f"儿童使用{label}但未提供体重：无法核对按体重计算的剂量上限。"),
                    src, dose.span or med.span, "warn", drug=med.drug_id))
                continue
        elif entry.get("mg_per_kg_day_all_ages") and ctx.weight_kg:
            lim = entry["mg_per_kg_day_all_ages"] * ctx.weight_kg
            max_daily = min(max_daily or lim, lim)
        if adult.get("mg_per_kg_single") and ctx.weight_kg and not is_child:
            lim = adult["mg_per_kg_single"] * ctx.weight_kg
            max_single = min(max_single or lim, lim)
        note_en = f" ({', '.join(notes_en)})" if notes_en else ""
        note_zh = f"（{'，'.join(notes_zh)}）" if notes_zh else ""
        if dose.dose_mg is not None and max_single is not None and dose.dose_mg > max_single * 1.0001:
            ratio = dose.dose_mg / max_single
            out.append(finding(
                "dose", "critical" if ratio >= 2 else "high",
                msg(lang, f"{label} {_fmt(dose.dose_mg)} per dose exceeds the maximum single dose of "
                          f"{_fmt(max_single)}{note_en}.",
                    f"{label}单次{_fmt(dose.dose_mg)}超过单次最大剂量{_fmt(max_single)}{note_zh}。"),
                src, dose.span or med.span, "block", drug=med.drug_id, dose_mg=dose.dose_mg, limit_mg=max_single,
                kind="single"))
        if dose.daily_mg is not None and max_daily is not None and dose.daily_mg > max_daily * 1.0001:
            ratio = dose.daily_mg / max_daily
            out.append(finding(
                "dose", "critical" if ratio >= 2 else "high",
                msg(lang, f"{label} {_fmt(dose.daily_mg)} per day exceeds the maximum daily dose of "
                          f"{_fmt(max_daily)}{note_en}.",
                    f"{label}每日{_fmt(dose.daily_mg)}超过每日最大剂量{_fmt(max_daily)}{note_zh}。"),
                src, dose.span or med.span, "block", drug=med.drug_id, daily_mg=dose.daily_mg, limit_mg=max_daily,
                kind="daily"))
    return out
