"""The structured patient context and its validation.

:meth:`PatientContext.from_dict` never raises on bad values: impossible or
contradictory fields (age -3, weight 0, a pregnant 4-year-old) are dropped from
the usable context and reported in ``problems``, which the checker turns into
findings, so bad input is never an "all clear".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from medsage.errors import DataError

_SEX = {
    "m": "male", "male": "male", "man": "male", "boy": "male", "男": "male", "男性": "male",
    "f": "female", "female": "female", "woman": "female", "girl": "female", "女": "female", "女性": "female",
    "other": "other", "unknown": None, "": None,
}
_HEPATIC = {
    "normal": "normal", "none": "normal", "no": "normal", "正常": "normal",
    "mild": "mild", "a": "mild", "child-pugh a": "mild", "child pugh a": "mild", "轻度": "mild",
    "moderate": "moderate", "b": "moderate", "child-pugh b": "moderate", "child pugh b": "moderate", "中度": "moderate",
    "severe": "severe", "c": "severe", "child-pugh c": "severe", "child pugh c": "severe", "重度": "severe",
    "impaired": "moderate", "cirrhosis": "moderate", "肝硬化": "moderate", "liver failure": "severe", "肝衰竭": "severe",
}
_TRUE = {"true", "yes", "y", "1", "是", "有", "pregnant", "lactating", "breastfeeding"}
_FALSE = {"false", "no", "n", "0", "否", "无", "none", ""}


@dataclass(frozen=True)
class ContextMedication:
    """A medication as given in the context (name plus optional dose fields)."""

    name: str
    dose: float | None = None
    unit: str | None = None
    route: str | None = None
    frequency: str | None = None

    def as_text(self) -> str:
        """The medication as one phrase (``name dose unit route frequency``) for the checks."""
        parts = [self.name]
        if self.dose is not None:
            parts.append(f"{self.dose:g}{' ' + self.unit if self.unit else ''}")
        if self.route:
            parts.append(self.route)
        if self.frequency:
            parts.append(self.frequency)
        return " ".join(parts)


@dataclass(frozen=True)
class PatientContext:
    """What is known about the patient.

    Attributes:
        age_years: Age in years (fractions for infants).
        sex: ``male``, ``female``, ``other`` or None.
        weight_kg: Body weight.
        pregnant: True/False/None (unknown).
        pregnancy_weeks: Gestational age, if known.
        lactating: Breastfeeding.
        egfr: eGFR, mL/min/1.73 m².
        crcl: Creatinine clearance, mL/min.
        hepatic: ``normal`` | ``mild`` | ``moderate`` | ``severe`` (Child-Pugh A/B/C) or None.
        allergies: Recorded drug allergies (names or classes, any language).
        medications: Current medications.
        conditions: Diagnoses (free text).
        problems: Validation problems found while reading the context.
    """

    age_years: float | None = None
    sex: str | None = None
    weight_kg: float | None = None
    pregnant: bool | None = None
    pregnancy_weeks: float | None = None
    lactating: bool | None = None
    egfr: float | None = None
    crcl: float | None = None
    hepatic: str | None = None
    allergies: tuple[str, ...] = ()
    medications: tuple[ContextMedication, ...] = ()
    conditions: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def renal_function(self) -> float | None:
        """CrCl if given, else eGFR (mL/min)."""
        return self.crcl if self.crcl is not None else self.egfr

    @property
    def is_child(self) -> bool:
        """Whether the patient is known to be under 18."""
        return self.age_years is not None and self.age_years < 18

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all is known about the patient."""
        return not any((self.age_years is not None, self.sex, self.weight_kg is not None,
                        self.pregnant is not None, self.lactating is not None, self.egfr is not None,
                        self.crcl is not None, self.hepatic, self.allergies, self.medications, self.conditions))

    def to_dict(self) -> dict[str, Any]:
        """The known fields only, as JSON (medications as objects)."""
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if v in (None, (), ""):
                continue
            if k == "medications":
                out[k] = [m.__dict__ for m in v]
            elif isinstance(v, tuple):
                out[k] = list(v)
            else:
                out[k] = v
        return out

    @classmethod
    def coerce(cls, value: PatientContext | dict[str, Any] | None) -> PatientContext:
        """A context from None, a context or a dict (anything else: one noting the problem)."""
        if value is None:
            return cls()
        if isinstance(value, PatientContext):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        return cls(problems=(f"context must be an object, got {type(value).__name__}",))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatientContext:
        """Read a context from a dict (JSON); invalid values become ``problems``."""
        problems: list[str] = []
        unknown = sorted(k for k in data if k not in _KNOWN_FIELDS)
        if unknown:
            problems.append(f"unknown context fields ignored: {', '.join(unknown)}")
        age = _age(data, problems)
        sex = _sex(data, problems)
        weight = _weight(data, age, problems)
        pregnant, weeks = _pregnancy(data, sex, age, problems)
        lactating = _flag(data.get("lactating", data.get("breastfeeding")), "lactating", problems)
        egfr, crcl = _kidney(data, problems)
        hepatic = _hepatic(data, problems)
        allergies = _strings(data.get("allergies"), "allergies", problems)
        meds = _medications(data.get("medications", data.get("meds")), problems)
        conditions = _strings(data.get("conditions", data.get("diagnoses")), "conditions", problems)
        return cls(age_years=age, sex=sex, weight_kg=weight, pregnant=pregnant, pregnancy_weeks=weeks,
                   lactating=lactating, egfr=egfr, crcl=crcl, hepatic=hepatic, allergies=allergies,
                   medications=meds, conditions=conditions, problems=tuple(problems))

    @classmethod
    def from_json_file(cls, path: str) -> PatientContext:
        """Load a context JSON file; raises :class:`DataError` if it is unreadable or not an object."""
        import json
        from pathlib import Path

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"cannot read context file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise DataError(f"context file {path} must hold a JSON object")
        return cls.from_dict(data)


def _number(value: Any, name: str, problems: list[str]) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        problems.append(f"{name} must be a number, got {value!r}")
        return None
    try:
        out = float(str(value).strip().split()[0]) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        problems.append(f"{name} must be a number, got {value!r}")
        return None
    if math.isnan(out) or math.isinf(out):
        problems.append(f"{name} must be a finite number")
        return None
    return out


def _flag(value: Any, name: str, problems: list[str]) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    problems.append(f"{name} must be true/false, got {value!r}")
    return None


def _strings(value: Any, name: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s.strip() for s in value.replace("，", ",").replace("、", ",").split(",") if s.strip())
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            elif isinstance(item, dict) and item.get("name"):
                out.append(str(item["name"]).strip())
            else:
                problems.append(f"{name}: ignored entry {item!r}")
        return tuple(out)
    problems.append(f"{name} must be a list of strings")
    return ()


def _medications(value: Any, problems: list[str]) -> tuple[ContextMedication, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    out: list[ContextMedication] = []
    for item in items:
        if isinstance(item, str):
            if item.strip():
                out.append(ContextMedication(name=item.strip()))
            continue
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            problems.append(f"medications: ignored entry without a name: {item!r}")
            continue
        dose = _number(item.get("dose"), f"dose of {item.get('name')}", problems)
        if dose is not None and dose <= 0:
            problems.append(f"dose of {item.get('name')} must be positive, got {dose:g}")
            dose = None
        out.append(ContextMedication(
            name=str(item["name"]).strip(), dose=dose,
            unit=str(item["unit"]).strip() if item.get("unit") else None,
            route=str(item["route"]).strip() if item.get("route") else None,
            frequency=str(item["frequency"]).strip() if item.get("frequency") else None,
        ))
    return tuple(out)


_KNOWN_FIELDS = frozenset({
    "age", "age_years", "age_months", "sex", "gender", "weight", "weight_kg", "pregnant",
    "pregnancy", "pregnancy_weeks", "gestational_weeks", "lactating", "breastfeeding",
    "egfr", "crcl", "creatinine_clearance", "renal", "hepatic", "liver", "allergies",
    "medications", "meds", "conditions", "diagnoses"})
_RENAL_EGFR = {"normal": None, "mild": 75.0, "moderate": 45.0, "severe": 20.0, "esrd": 10.0,
               "dialysis": 10.0, "failure": 10.0}


def _age(data: dict[str, Any], problems: list[str]) -> float | None:
    """Age in years from ``age_years``/``age`` or ``age_months``; None if absent or impossible."""
    age = _number(data.get("age_years", data.get("age")), "age", problems)
    if age is None and data.get("age_months") is not None:
        months = _number(data.get("age_months"), "age_months", problems)
        age = months / 12.0 if months is not None else None
    if age is not None and not 0 <= age <= 125:
        problems.append(f"age {age:g} is impossible (must be 0-125 years)")
        age = None
    return age


def _sex(data: dict[str, Any], problems: list[str]) -> str | None:
    """``male``/``female``/``other`` from ``sex`` or ``gender`` (English or Chinese)."""
    sex_raw = data.get("sex", data.get("gender"))
    if sex_raw is None:
        return None
    key = str(sex_raw).strip().lower()
    if key in _SEX:
        return _SEX[key]
    problems.append(f"unrecognised sex '{sex_raw}'")
    return None


def _weight(data: dict[str, Any], age: float | None, problems: list[str]) -> float | None:
    """Weight in kg; None if impossible, a problem (but kept) if implausible for ``age``."""
    weight = _number(data.get("weight_kg", data.get("weight")), "weight", problems)
    if weight is not None and not 0.3 <= weight <= 400:
        problems.append(f"weight {weight:g} kg is impossible (must be 0.3-400 kg)")
        weight = None
    if weight is not None and age is not None and age >= 12 and weight < 15:
        problems.append(f"weight {weight:g} kg is implausible for age {age:g}")
    return weight


def _pregnancy(data: dict[str, Any], sex: str | None, age: float | None,
               problems: list[str]) -> tuple[bool | None, float | None]:
    """``(pregnant, weeks)``; given weeks imply pregnant, contradictions become problems.

    A contradictory pregnancy (a male, an age of 4) is kept so that the pregnancy checks still
    run: failing closed matters more than a tidy context.
    """
    pregnant = _flag(data.get("pregnant", data.get("pregnancy")), "pregnant", problems)
    weeks = _number(data.get("pregnancy_weeks", data.get("gestational_weeks")), "pregnancy_weeks", problems)
    if weeks is not None:
        if not 0 <= weeks <= 45:
            problems.append(f"pregnancy_weeks {weeks:g} is impossible (0-45)")
            weeks = None
        elif pregnant is None:
            pregnant = True
    if pregnant and sex == "male":
        problems.append("context says pregnant but sex is male: contradictory; pregnancy checks still applied")
    if pregnant and age is not None and not 8 <= age <= 65:
        problems.append(f"context says pregnant at age {age:g}: implausible; pregnancy checks still applied")
    return pregnant, weeks


def _kidney(data: dict[str, Any], problems: list[str]) -> tuple[float | None, float | None]:
    """``(egfr, crcl)`` from the top-level fields, else from ``renal`` (a dict or a grade word)."""
    egfr = _number(data.get("egfr"), "egfr", problems)
    crcl = _number(data.get("crcl", data.get("creatinine_clearance")), "crcl", problems)
    if egfr is not None and not 0 <= egfr <= 250:
        problems.append(f"egfr {egfr:g} is impossible (0-250 mL/min)")
        egfr = None
    if crcl is not None and not 0 <= crcl <= 250:
        problems.append(f"crcl {crcl:g} is impossible (0-250 mL/min)")
        crcl = None
    renal = data.get("renal")
    if isinstance(renal, dict):
        egfr = egfr if egfr is not None else _number(renal.get("egfr"), "renal.egfr", problems)
        crcl = crcl if crcl is not None else _number(renal.get("crcl"), "renal.crcl", problems)
    elif isinstance(renal, str) and renal.strip():
        grade = renal.strip().lower()
        mapped = _RENAL_EGFR.get(grade)
        if mapped is not None and egfr is None and crcl is None:
            egfr = mapped
        elif grade not in _RENAL_EGFR:
            problems.append(f"unrecognised renal value '{renal}'")
    return egfr, crcl


def _hepatic(data: dict[str, Any], problems: list[str]) -> str | None:
    """Hepatic impairment grade from ``hepatic`` or ``liver`` (words or Child-Pugh A/B/C)."""
    hep_raw = data.get("hepatic", data.get("liver"))
    if hep_raw is None or not str(hep_raw).strip():
        return None
    key = str(hep_raw).strip().lower()
    if key in _HEPATIC:
        return _HEPATIC[key]
    problems.append(f"unrecognised hepatic value '{hep_raw}' (use normal/mild/moderate/severe)")
    return None
