"""Parse dose, unit, frequency and route from free text (English and Chinese).

``parse_dose("5 mg bid")`` and ``parse_dose("每日两次，每次0.5g")`` both return a
:class:`DoseInfo`. Unconvertible or incomplete doses are returned with
``problems`` set, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from medsage.safety.numbers import CN_NUM, NUM, parse_number, unreadable_amount

ZH_NUM = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
          "八": 8, "九": 9, "十": 10, "半": 0.5}

_NUM = NUM
# unit alternatives, longest first; value = (normalised unit, factor to mg or None)
_UNITS: list[tuple[str, str, float | None]] = [
    ("mg/kg/day", "mg/kg/day", 1.0), ("mg/kg/d", "mg/kg/day", 1.0), ("mg/kg", "mg/kg", 1.0),
    ("毫克/千克", "mg/kg", 1.0), ("毫克/公斤", "mg/kg", 1.0),
    ("mcg/kg", "mcg/kg", 0.001), ("μg/kg", "mcg/kg", 0.001), ("µg/kg", "mcg/kg", 0.001),
    ("mg/day", "mg/day", 1.0), ("mg/d", "mg/day", 1.0), ("g/day", "g/day", 1000.0), ("g/d", "g/day", 1000.0),
    ("milligrams", "mg", 1.0), ("milligram", "mg", 1.0), ("mgs", "mg", 1.0), ("mg", "mg", 1.0),
    ("micrograms", "mcg", 0.001), ("microgram", "mcg", 0.001), ("mcg", "mcg", 0.001),
    ("µg", "mcg", 0.001), ("μg", "mcg", 0.001), ("ug", "mcg", 0.001),
    ("grams", "g", 1000.0), ("gram", "g", 1000.0), ("gm", "g", 1000.0), ("g", "g", 1000.0),
    ("毫克", "mg", 1.0), ("微克", "mcg", 0.001), ("克", "g", 1000.0),
    ("milliliters", "ml", None), ("millilitres", "ml", None), ("ml", "ml", None), ("毫升", "ml", None),
    ("international units", "iu", None), ("units", "unit", None), ("unit", "unit", None),
    ("iu", "iu", None), ("国际单位", "iu", None), ("万单位", "10k_unit", None), ("单位", "unit", None),
    ("mmol", "mmol", None), ("meq", "meq", None),
    ("tablets", "tablet", None), ("tablet", "tablet", None), ("tabs", "tablet", None), ("tab", "tablet", None),
    ("capsules", "capsule", None), ("capsule", "capsule", None), ("caps", "capsule", None),
    ("cap", "capsule", None), ("pills", "tablet", None), ("pill", "tablet", None),
    ("puffs", "puff", None), ("puff", "puff", None), ("drops", "drop", None), ("drop", "drop", None),
    ("片", "tablet", None), ("粒", "capsule", None), ("袋", "sachet", None), ("支", "ampoule", None),
    ("喷", "puff", None), ("揿", "puff", None), ("滴", "drop", None), ("贴", "patch", None),
]
_UNIT_INFO = {alias: (norm, factor) for alias, norm, factor in _UNITS}
_UNIT_ALT = "|".join(re.escape(a) for a, _, _ in sorted(_UNITS, key=lambda u: -len(u[0])))
_CN_NUM = CN_NUM
# a dose amount: number (or range) + unit; not a concentration (followed by /dL, /L, /mL …)
DOSE_RE = re.compile(
    rf"(?<![A-Za-z0-9.,\-])(?P<num>{_NUM}|{_CN_NUM})(?:\s*(?:-|–|~|to|至|到)\s*(?P<num2>{_NUM}|{_CN_NUM}))?\s*"
    rf"(?P<unit>{_UNIT_ALT})(?![A-Za-z])(?P<conc>\s*/\s*(?:{_NUM}\s*)?(?:dl|l|ml|毫升|升|h|hr|min|m2|m²)\b)?",
    re.IGNORECASE,
)
UNIT_RE = re.compile(rf"(?<![A-Za-z])(?P<unit>{_UNIT_ALT})(?![A-Za-z])", re.IGNORECASE)
NUMBER_RE = re.compile(rf"(?<![A-Za-z\d.,\-])({_NUM})(?![\d.]|\s*(?:%|cm|mm|kg|years?|yrs?|岁|月|周|天|日|次|小时|hours?|days?|weeks?|months?))")

_LAB_BEFORE_RE = re.compile(
    r"(?:inr|bp|hr|gfr|crcl|clcr|score|level|age|aged|weight|weighs|temp|temperature|spo2|o2|sat|pulse|"
    r"rr|day|days|week|weeks|month|months|year|years|hour|hours|ptt|pt|hb|hgb|plt|wbc|na|cr|bun|ast|alt|"
    r"tsh|a1c|hba1c|bmi|ef|qtc|grade|stage|class|step|line|bed|room|no|#|x|"
    r"血压|心率|体温|体重|年龄|第|评分|等级|分级|级|床|号)\W{0,3}$", re.IGNORECASE)

_FREQ_EN: list[tuple[str, float | str]] = [
    (r"\b(?:q\.?i\.?d\.?|four times (?:a|per|each) day|four times daily|4 times (?:a|per) day|4 ?x ?(?:/ ?)?d(?:ay|aily)?)\b", 4.0),
    (r"\b(?:t\.?i\.?d\.?|three times (?:a|per|each) day|three times daily|thrice daily|3 times (?:a|per) day|3 ?x ?(?:/ ?)?d(?:ay|aily)?)\b", 3.0),
    (r"\b(?:b\.?i\.?d\.?|twice (?:a|per|each) day|twice daily|two times (?:a|per) day|2 times (?:a|per) day|2 ?x ?(?:/ ?)?d(?:ay|aily)?)\b", 2.0),
    (r"\b(?P<n>\d+) times (?:a|per|each) day\b", "n"),
    (r"\bq\.?\s?(?P<h>\d+)(?:\s?-\s?\d+)?\s?h(?:rs?|ours?)?\b", "h"),
    (r"\bevery (?P<h>\d+)(?:\s?(?:-|to)\s?\d+)? ?h(?:ours?|rs?)?\b", "h"),
    (r"\b(?:twice (?:a |per |each )?week(?:ly)?|biw|two times (?:a|per) week)\b", 2 / 7),
    (r"\b(?:once (?:a|per|each) week|once weekly|weekly|every week|q\.?w(?:k)?\.?|per week|each week|a week)\b", 1 / 7),
    (r"\b(?:every other day|q\.?o\.?d\.?|alternate days)\b", 0.5),
    (r"\b(?:monthly|once a month|every month)\b", 1 / 30),
    (r"\b(?:q\.?d\.?|o\.?d\.?|q\.?day|once (?:a|per|each) day|once daily|daily|every day|each day|"
     r"q24h|every 24 hours|q\.?a\.?m\.?|q\.?p\.?m\.?|q\.?h\.?s\.?|at bedtime|nightly|at night|"
     r"every (?:morning|evening|night)|in the (?:morning|evening))\b", 1.0),
    (r"\b(?:stat|once only|single dose|one dose|one-time dose|x ?1)\b", "once"),
]
_FREQ_EN_RE = [(re.compile(p, re.IGNORECASE), v) for p, v in _FREQ_EN]
_PRN_RE = re.compile(r"\b(?:p\.?r\.?n\.?|as needed|when needed|as required|when required|if needed|as necessary)\b|必要时|需要时|疼痛时|发热时|按需", re.IGNORECASE)
_PER_DAY_TOTAL_RE = re.compile(r"^\s*(?:/\s*(?:day|d)\b|per day\b|a day\b|daily total|in divided doses|divided)", re.IGNORECASE)

_FREQ_ZH: list[tuple[str, float | str]] = [
    (rf"(?:每日|每天|一日|一天|日|每24小时)\s*(?P<n>\d+|{_CN_NUM})\s*次", "n"),
    (rf"每\s*(?P<h>\d+|{_CN_NUM}{{1,2}})\s*(?:个)?小时", "h"),
    (rf"每周\s*(?P<w>\d+|{_CN_NUM})\s*次", "w"),
    (r"(?:每周|一周)(?:一次|1次)?", 1 / 7),
    (r"隔日|隔天", 0.5),
    (r"每晚|睡前|每早|晨起|每晨|早上一次|晚上一次", 1.0),
    (r"顿服|单次|一次性|立即", "once"),
]
_FREQ_ZH_RE = [(re.compile(p), v) for p, v in _FREQ_ZH]
_ZH_DAILY_TOTAL_RE = re.compile(r"(?:每日|每天|一日|日剂量|日总量|全天|一天)\s*(?:总量|剂量|量)?\s*(?:为|共)?\s*$")
_ZH_PER_DOSE_RE = re.compile(r"(?:每次|一次|单次|每剂|每回)\s*$")

_ROUTES: list[tuple[str, str]] = [
    (r"\b(?:p\.?o\.?|per os|orally|oral|by mouth)\b|口服|嚼服|含服", "oral"),
    (r"\b(?:i\.?v\.?|iv push|ivgtt|intravenous(?:ly)?|infusion)\b|静脉|静滴|静推|静注", "iv"),
    (r"\b(?:i\.?m\.?|intramuscular(?:ly)?)\b|肌注|肌内注射|肌肉注射", "im"),
    (r"\b(?:s\.?c\.?|subcut(?:aneous(?:ly)?)?|s\.?q\.?)\b|皮下", "sc"),
    (r"\b(?:s\.?l\.?|sublingual(?:ly)?)\b|舌下", "sl"),
    (r"\b(?:inhaled|inhalation|nebuli[sz]ed|inh)\b|吸入|雾化", "inhaled"),
    (r"\b(?:topical(?:ly)?|cream|ointment|gel|patch)\b|外用|外涂|涂抹|贴敷", "topical"),
    (r"\b(?:p\.?r\.?|rectal(?:ly)?|suppository)\b|塞肛|直肠|栓剂", "rectal"),
]
_ROUTES_RE = [(re.compile(p, re.IGNORECASE), r) for p, r in _ROUTES]


@dataclass(frozen=True)
class DoseInfo:
    """A parsed dose.

    Attributes:
        value: The amount per administration, in ``unit`` (the upper end of a range).
        unit: Normalised unit: mg, mcg, g, ml, iu, unit, mmol, meq, tablet, capsule, mg/kg,
            mcg/kg, mg/kg/day, mg/day, g/day …
        dose_mg: Amount per administration in mg when convertible (per-kg doses need a weight).
        daily_mg: Total per day in mg when it can be worked out (explicit per-day dose, or
            dose x frequency).
        frequency_per_day: Administrations per day (0.142… for weekly), None when not given.
        prn: As-needed dosing.
        route: oral, iv, im, sc, sl, inhaled, topical, rectal or None.
        span: (start, end) of the dose expression in the parsed text.
        problems: Why the dose could not be fully interpreted (empty when it could).
        unreadable: The amount next to the unit is not a number in the strict grammar of
            :mod:`medsage.safety.numbers` (``1e3``, ``-500``, ``NaN``, ``abc``).
    """

    value: float | None = None
    unit: str | None = None
    dose_mg: float | None = None
    daily_mg: float | None = None
    frequency_per_day: float | None = None
    frequency_text: str | None = None
    prn: bool = False
    route: str | None = None
    span: tuple[int, int] | None = None
    raw: str = ""
    per_kg: bool = False
    daily_given: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)
    unreadable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The fields that were parsed (no None, empty or false values)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
                if v not in (None, (), False, "")}


def _num(s: str | None) -> float | None:
    return parse_number(s)


def parse_frequency(text: str) -> tuple[float | None, str | None, bool, bool]:
    """(times per day, matched text, prn, once) from ``text``; None when no frequency is given."""
    prn = bool(_PRN_RE.search(text))
    best: tuple[int, float | None, str, bool] | None = None
    for rx, val in _FREQ_ZH_RE + _FREQ_EN_RE:
        m = rx.search(text)
        if not m:
            continue
        per_day: float | None
        once = False
        if val == "n":
            n = _num(m.group("n"))
            per_day = n
        elif val == "h":
            h = _num(m.group("h"))
            per_day = 24.0 / h if h else None
        elif val == "w":
            w = _num(m.group("w"))
            per_day = (w or 1) / 7.0
        elif val == "once":
            per_day, once = 1.0, True
        else:
            per_day = float(val)
        if best is None or m.start() < best[0]:
            best = (m.start(), per_day, m.group(0), once)
    if best is None:
        return None, None, prn, False
    return best[1], best[2], prn, best[3]


def parse_route(text: str) -> str | None:
    """The route (``oral``, ``iv`` …) mentioned first in ``text``, or None."""
    best: tuple[int, str] | None = None
    for rx, route in _ROUTES_RE:
        m = rx.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), route)
    return best[1] if best else None


def parse_dose(text: str, *, weight_kg: float | None = None, offset: int = 0) -> DoseInfo | None:
    """Parse the first dose expression in ``text`` (with frequency/route anywhere in it).

    Returns None when ``text`` holds no number at all. ``offset`` is added to the span.
    """
    freq, freq_text, prn, _once = parse_frequency(text)
    # frequency, prn and route are read from the whole text and go into whatever is returned
    around = DoseInfo(frequency_per_day=freq, frequency_text=freq_text, prn=prn, route=parse_route(text))
    first_unit = UNIT_RE.search(text)
    if first_unit is not None:
        bad = unreadable_amount(text, first_unit.start(), first_unit.group("unit"))
        if bad is not None:
            start, token = bad
            norm = _UNIT_INFO.get(first_unit.group("unit").lower(), (first_unit.group("unit").lower(), None))[0]
            return replace(around, value=None, unit=norm, span=(offset + start, offset + first_unit.end()),
                           raw=text[start:first_unit.end()], problems=(f"unreadable amount '{token}'",),
                           unreadable=True)
    conc = _concentration_dose(text)
    if conc is not None:
        # "250 mg/5 mL, 10 mL": the amount is concentration x volume
        return _finish(conc[0], "mg", conc[1], text, around, weight_kg, offset, daily_given=False)
    m = None
    saw_concentration = False
    for cand in DOSE_RE.finditer(text):
        if cand.group("conc"):
            # a concentration or lab value (mg/dL, mmol/L) is not a dose
            saw_concentration = True
            continue
        m = cand
        break
    if m is None:
        n = None
        for cand_n in NUMBER_RE.finditer(text):
            if _LAB_BEFORE_RE.search(text[max(0, cand_n.start() - 14): cand_n.start()]):
                continue
            n = cand_n
            break
        if n is None or saw_concentration:
            return None
        return replace(around, value=_num(n.group(1)), span=(offset + n.start(), offset + n.end()),
                       raw=n.group(0), problems=("no unit",))
    value = _num(m.group("num2")) or _num(m.group("num"))
    unit_alias = m.group("unit").lower()
    before = text[: m.start()]
    after = text[m.end():]
    daily_given = bool(_PER_DAY_TOTAL_RE.match(after)) or bool(_ZH_DAILY_TOTAL_RE.search(before))
    if _ZH_PER_DOSE_RE.search(before):
        daily_given = False
    return _finish(value, unit_alias, (m.start(), m.end()), text, around, weight_kg, offset,
                   daily_given=daily_given)


def _concentration_dose(text: str) -> tuple[float, tuple[int, int]] | None:
    """"250 mg/5 mL ... 10 mL" -> (500.0, span)."""
    m = re.search(rf"({_NUM})\s*mg\s*/\s*({_NUM})?\s*ml", text, re.IGNORECASE)
    if not m:
        return None
    vol = re.search(rf"({_NUM})\s*(?:ml|毫升)(?![A-Za-z/])", text[m.end():], re.IGNORECASE)
    if not vol:
        return None
    mg, per = _num(m.group(1)), _num(m.group(2)) or 1.0
    v = _num(vol.group(1))
    if mg is None or v is None or not per:
        return None
    return mg / per * v, (m.start(), m.end() + vol.end())


def _finish(value: float | None, unit_alias: str, span: tuple[int, int], text: str, around: DoseInfo,
            weight_kg: float | None, offset: int, *, daily_given: bool) -> DoseInfo:
    """``around`` (frequency, prn, route) completed with the amount in mg per dose and per day."""
    freq = around.frequency_per_day
    norm, factor = _UNIT_INFO.get(unit_alias, (unit_alias, None))
    problems: list[str] = []
    dose_mg: float | None = None
    daily_mg: float | None = None
    per_kg = norm in ("mg/kg", "mcg/kg", "mg/kg/day")
    if value is None:
        problems.append("unreadable amount")
    elif norm in ("mg/day", "g/day"):
        daily_given = True
        daily_mg = value * (factor or 1.0)
    elif per_kg:
        if weight_kg and weight_kg > 0:
            amount = value * (factor or 1.0) * weight_kg
            if norm == "mg/kg/day":
                daily_mg, daily_given = amount, True
            else:
                dose_mg = amount
        else:
            problems.append("weight-based dose but no weight")
    elif factor is not None:
        if daily_given:
            daily_mg = value * factor
        else:
            dose_mg = value * factor
    else:
        problems.append(f"unit '{norm}' cannot be converted to mg")
    if dose_mg is not None and freq is not None and not daily_given:
        daily_mg = dose_mg * freq
    return replace(around, value=value, unit=norm, dose_mg=dose_mg, daily_mg=daily_mg,
                   span=(offset + span[0], offset + span[1]), raw=text[span[0]:span[1]],
                   per_kg=per_kg, daily_given=daily_given, problems=tuple(problems))
