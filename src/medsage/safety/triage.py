"""Red-flag triage: urgency level plus findings, in English and Chinese.

Levels, lowest to highest: ``self_care`` < ``non_emergency`` (see a clinician)
< ``emergency``. :func:`triage` is deterministic (rules in
``data/safety/triage_rules.json`` plus numeric vital-sign thresholds);
:func:`triage_with_model` adds a model's opinion but never lowers the rules'
level (fail-safe).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from medsage.lang import detect_language
from medsage.safety._common import (
    finding,
    finding_to_dict,
    load_json,
    msg,
    sentence_bounds,
)
from medsage.types import Finding

LEVELS = ("self_care", "non_emergency", "emergency")
_RANK = {lv: i for i, lv in enumerate(LEVELS)}
TRIAGE_MAX_CHARS = 100_000  # red flags are looked for in the first 100k characters
TRIAGE_SOURCE = "medsage red-flag triage rules (NHS/NICE red flags, AHA/ASA FAST, WAO anaphylaxis)"

_NEG_CUE = re.compile(
    r"(?:\bdenies\b|\bdenied\b|\bdeny\b|\bnegative for\b|\babsence of\b|\bfree of\b|否认|不伴|并无|未见)"
)
_NEG_CUE_NEAR = re.compile(r"(?:\bno\b|\bnot\b|\bwithout\b|\bnor\b|\bnever\b|无|没有|未)")
_NEG_BREAK = re.compile(r"\bbut\b|\bhowever\b|\balthough\b|\bexcept\b|\bthough\b|但|但是|然而|可是|\band (?:he|she|they) (?:has|have|reports?)\b")
_POST_NEG = re.compile(r"^[^.;。；]{0,50}?(?:\b(?:has|have) (?:now )?resolved\b|\bresolved\b|\bsubsided\b|已退|已缓解|已消失)")

_AGE_RES = [
    (re.compile(r"(\d+(?:\.\d+)?)[- ](?:year|yr)s?[- ]old|aged (\d+)|(\d+)\s*(?:y/?o|yo)\b", re.I), 1.0),
    (re.compile(r"(\d+)[- ](?:month|mo)s?[- ]old", re.I), 1 / 12),
    (re.compile(r"(\d+)[- ](?:week|wk)s?[- ]old|(\d+)[- ]day[- ]old", re.I), 1 / 52),
    (re.compile(r"(\d+(?:\.\d+)?)\s*岁"), 1.0),
    (re.compile(r"(\d+)\s*个?月(?:大|龄)"), 1 / 12),
]
_SPO2_RE = re.compile(r"(?:o2|oxygen|spo2|sp02|sao2)\s*(?:sat(?:uration)?s?)?[^0-9%]{0,30}?(\d{2,3})\s*(?:%|percent)|"
                      r"(?:血氧(?:饱和度)?|指脉氧)[^0-9]{0,6}(\d{2,3})", re.I)
_TEMP_F_RE = re.compile(r"(\d{2,3}(?:\.\d)?)\s*°?\s*F\b")
_TEMP_C_RE = re.compile(r"(\d{2}(?:\.\d)?)\s*(?:°\s*C\b|℃|度)")
_BP_RE = re.compile(r"(?:blood pressure|\bbp\b|血压)[^0-9]{0,20}(\d{2,3})\s*/\s*(\d{2,3})", re.I)
_HR_RE = re.compile(r"(?:heart rate|\bhr\b|pulse|心率|脉搏)[^0-9.;]{0,20}(\d{2,3})", re.I)
_RR_RE = re.compile(r"(?:respiratory rate|\brr\b|呼吸频率|呼吸)[^0-9.;]{0,20}(\d{2})\s*(?:breaths|/min|次)", re.I)
_FEVER_WORD = re.compile(r"\bfever(?:s|ish)?\b|\bfebrile\b|发热|发烧|高热")


@dataclass(frozen=True)
class TriageResult:
    """Urgency and the red flags behind it.

    ``level`` is None when the text describes no symptoms at all (an ordinary question).
    """

    level: str | None
    findings: list[Finding] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    lang: str = "en"
    guidance: str = ""
    source: str = "rules"

    @property
    def urgency(self) -> str | None:
        """The triage level (an alias of ``level``)."""
        return self.level

    @property
    def is_emergency(self) -> bool:
        """Whether the level is ``emergency``."""
        return self.level == "emergency"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: level, matched rules, guidance and findings."""
        return {"level": self.level, "rules": self.rules, "lang": self.lang, "source": self.source,
                "guidance": self.guidance, "findings": [finding_to_dict(f) for f in self.findings]}


@lru_cache(maxsize=1)
def _compiled() -> list[dict[str, Any]]:
    out = []
    for r in load_json("triage_rules.json")["rules"]:
        groups = [{"rx": re.compile(g["re"], re.IGNORECASE), "neg": g.get("neg", True)} for g in r["groups"]]
        out.append({**r, "_groups": groups})
    return out


def _is_negated(text: str, start: int, end: int) -> bool:
    s0, _ = sentence_bounds(text, start, 200)
    before = text[max(s0, start - 90): start]
    cues = list(_NEG_CUE.finditer(before))
    if cues:
        tail = before[cues[-1].end():]
        if not _NEG_BREAK.search(tail):
            return True
    near = before[-35:]
    cues = list(_NEG_CUE_NEAR.finditer(near))
    if cues and not _NEG_BREAK.search(near[cues[-1].end():]):
        return True
    return bool(_POST_NEG.search(text[end: end + 60]))


def _group_hits(text: str, group: dict[str, Any]) -> list[int]:
    hits = []
    for m in group["rx"].finditer(text):
        if group["neg"] and _is_negated(text, m.start(), m.end()):
            continue
        hits.append(m.start())
        if len(hits) > 200:
            break
    return hits


def _age_years(text: str) -> float | None:
    for rx, factor in _AGE_RES:
        m = rx.search(text)
        if m:
            val = next((g for g in m.groups() if g), None)
            if val is not None:
                return float(val) * factor
    return None


_Flag = tuple[str, str, str, tuple[int, int]]
"""A vital-sign red flag: ``(rule, English message, Chinese message, span)``."""


def _numeric_flags(text: str, lang: str, age: float | None) -> list[Finding]:
    """Emergency findings from vital signs in ``text``: SpO2, temperature, BP, heart and breathing rate."""
    flags = [*_spo2_flags(text), *_temperature_flags(text, age), *_bp_flags(text), *_rate_flags(text)]
    return [finding("red_flag", "critical", msg(lang, en, zh), TRIAGE_SOURCE, span, "warn",
                    rule=key, level="emergency", guidance="emergency")
            for key, en, zh, span in flags]


def _spo2_flags(text: str) -> list[_Flag]:
    """The first oxygen saturation of 50-92 %."""
    for m in _SPO2_RE.finditer(text):
        val = int(m.group(1) or m.group(2))
        if 50 <= val <= 92:
            return [("low_spo2", f"Oxygen saturation {val}% is dangerously low.", f"血氧饱和度{val}%过低。", m.span())]
    return []


def _temperature_c(text: str) -> float | None:
    """The highest plausible body temperature written in ``text``, in °C (°F converted)."""
    temp_c = None
    for m in _TEMP_F_RE.finditer(text):
        f = float(m.group(1))
        if 90 <= f <= 115:
            temp_c = max(temp_c or 0, (f - 32) * 5 / 9)
    for m in _TEMP_C_RE.finditer(text):
        c = float(m.group(1))
        if 34 <= c <= 45:
            temp_c = max(temp_c or 0, c)
    return temp_c


def _temperature_flags(text: str, age: float | None) -> list[_Flag]:
    """Hyperpyrexia (≥ 40 °C), and any fever in a baby under 3 months."""
    out: list[_Flag] = []
    temp_c = _temperature_c(text)
    if temp_c is not None and temp_c >= 40.0:
        out.append(("hyperpyrexia", f"Temperature {temp_c:.1f} °C is very high.", f"体温{temp_c:.1f}℃过高。", (0, 0)))
    has_fever = (temp_c is not None and temp_c >= 38.0) or bool(_FEVER_WORD.search(text))
    if age is not None and age < 0.25 and has_fever:
        out.append(("infant_fever", "Fever in a baby under 3 months needs emergency assessment.",
                    "3个月以下婴儿发热需要急诊评估。", (0, 0)))
    return out


def _bp_flags(text: str) -> list[_Flag]:
    """The first blood pressure in the shock (SBP < 90) or crisis (≥ 180/120) range."""
    for m in _BP_RE.finditer(text):
        sbp = int(m.group(1))
        if 40 <= sbp < 90:
            return [("hypotension", f"Systolic blood pressure {sbp} mmHg is low (shock risk).",
                     f"收缩压{sbp} mmHg过低（休克风险）。", m.span())]
        if sbp >= 180 and int(m.group(2)) >= 120:
            return [("hypertensive_crisis", f"Blood pressure {sbp}/{m.group(2)} mmHg is in the crisis range.",
                     f"血压{sbp}/{m.group(2)} mmHg达到高血压危象范围。", m.span())]
    return []


def _rate_flags(text: str) -> list[_Flag]:
    """The first dangerous heart rate and the first dangerous respiratory rate."""
    out: list[_Flag] = []
    for m in _HR_RE.finditer(text):
        hr = int(m.group(1))
        if hr >= 140 or 20 <= hr < 40:
            out.append(("abnormal_hr", f"Heart rate {hr}/min is dangerous.", f"心率{hr}次/分异常危险。", m.span()))
            break
    for m in _RR_RE.finditer(text):
        rr = int(m.group(1))
        if rr >= 30 or 0 < rr < 8:
            out.append(("abnormal_rr", f"Respiratory rate {rr}/min is dangerous.", f"呼吸频率{rr}次/分异常危险。", m.span()))
            break
    return out


def emergency_guidance(lang: str, kinds: set[str] | None = None) -> str:
    """Emergency/crisis/poison guidance text to put before an answer."""
    kinds = kinds or {"emergency"}
    parts = []
    if "crisis" in kinds:
        parts.append(msg(
            lang,
            "If you are thinking about suicide or hurting yourself, please reach out now: call or text 988 "
            "(Suicide & Crisis Lifeline, US), call 116 123 (Samaritans, UK/Ireland), or your local emergency "
            "number. If you are in immediate danger, call emergency services (911/112/999/120). You are not alone.",
            "如果你正在想自杀或伤害自己，请现在就寻求帮助：拨打心理援助热线12356或北京心理危机干预中心010-82951332，"
            "紧急危险时请立即拨打120或110。你并不孤单。"))
    if "poison" in kinds:
        parts.append(msg(
            lang,
            "Possible poisoning or overdose: call your emergency number (911/112/999) or a poison centre now "
            "(US Poison Help 1-800-222-1222), even if there are no symptoms yet.",
            "可能中毒或药物过量：请立即拨打120急救，即使目前尚无症状；携带药物包装前往急诊。"))
    if "emergency" in kinds or not parts:
        parts.append(msg(
            lang,
            "This may be a medical emergency. Call your local emergency number now (911 US/Canada, 112 EU, "
            "999 UK, 120 mainland China) or go to the nearest emergency department. Do not wait for an online answer.",
            "这可能是医疗急症。请立即拨打急救电话（中国大陆120），或尽快前往最近的急诊科，不要等待线上回复。"))
    return "\n".join("⚠ " + p for p in parts)


def triage(text: str, context: Any = None, *, lang: str = "auto") -> TriageResult:
    """Rules-only triage of ``text`` (a question, a history, a vignette).

    Returns the highest level among the rules that fire, ``non_emergency`` for
    symptom descriptions no rule classifies (fail-safe default), or None when
    the text holds nothing to triage.
    """
    text = text or ""
    lang = detect_language(text, lang)
    if not text.strip():
        return TriageResult(None, [], [], lang)
    sample = text if len(text) <= TRIAGE_MAX_CHARS else text[:TRIAGE_MAX_CHARS]
    # soft line wraps are not sentence breaks (same length, so spans stay valid)
    sample = re.sub(r"(?<![\n.:;。；：])\n(?![\n\-*•\d])", " ", sample)
    age = None
    if context is not None and getattr(context, "age_years", None) is not None:
        age = context.age_years
    if age is None:
        age = _age_years(sample)
    fired: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for rule in _compiled():
        hits = []
        for g in rule["_groups"]:  # lazily: most rules fail on their first group
            h = _group_hits(sample, g)
            if not h:
                break
            hits.append(h)
        if len(hits) < len(rule["_groups"]):
            continue
        window = rule.get("window", 500)
        anchor = None
        for p0 in hits[0]:
            if all(any(abs(p - p0) <= window for p in h) for h in hits[1:]):
                anchor = p0
                break
        if anchor is None:
            continue
        fired.append(rule)
        if rule["level"] != "self_care":
            m = rule["_groups"][0]["rx"].search(sample, anchor)
            span = m.span() if m else None
            kind = rule["kind"]
            findings.append(finding(
                kind, rule["severity"], msg(lang, rule["en"], rule["zh"]), TRIAGE_SOURCE, span,
                "warn", rule=rule["id"], level=rule["level"], guidance=rule["guidance"]))
    numeric = _numeric_flags(sample, lang, age)
    findings.extend(numeric)
    levels = [r["level"] for r in fired] + [f.data["level"] for f in numeric]
    ids = [r["id"] for r in fired] + [f.data["rule"] for f in numeric]
    if levels:
        level = max(levels, key=lambda lv: _RANK[lv])
        # self-care only when nothing above it fired
    elif _looks_like_symptoms(sample):
        level = "non_emergency"
        findings.append(finding(
            "triage_default", "low",
            msg(lang, "Symptoms were described but matched no triage rule: defaulting to 'see a clinician'.",
                "描述了症状但未匹配分诊规则：默认建议就医评估。"),
            TRIAGE_SOURCE, None, "annotate", level="non_emergency"))
    else:
        level = None
    kinds = {str(f.data.get("guidance")) for f in findings if f.data.get("level") == "emergency"}
    guidance = emergency_guidance(lang, kinds) if level == "emergency" else ""
    return TriageResult(level, findings, ids, lang, guidance)


_SYMPTOM_HINT = re.compile(
    r"\b(?:pain|ache|fever|cough|vomit|nausea|diarrh|rash|swelling|swollen|bleeding|dizz|headache|breath|"
    r"tired|fatigue|itch|sore|burn|presents with|complain|symptom|hurts?|injur)\w*|疼|痛|发热|发烧|咳|呕吐|恶心|腹泻|皮疹|肿|出血|头晕|"
    r"乏力|痒|不舒服|症状|难受", re.IGNORECASE)


def _looks_like_symptoms(text: str) -> bool:
    return bool(_SYMPTOM_HINT.search(text))


_MODEL_PROMPT_EN = (
    "You are a triage nurse. Classify the urgency of the case below as exactly one of: EMERGENCY "
    "(needs emergency care now), NON-EMERGENCY (see a clinician within days), SELF-CARE (can be managed at home).\n"
    "Answer with the single label only.\n\nCase: {case}\n\nUrgency:"
)
_MODEL_PROMPT_ZH = (
    "你是一名分诊护士。请将下面病例的紧急程度归为以下之一：EMERGENCY（需立即急诊）、NON-EMERGENCY（数日内就医）、"
    "SELF-CARE（可居家自我护理）。只回答一个标签。\n\n病例：{case}\n\n紧急程度："
)


def parse_model_level(text: str) -> str | None:
    """Map a model's answer to a level (None if unreadable)."""
    t = (text or "").strip().lower()
    if not t:
        return None
    if re.search(r"non[- _]?emergen|see a (?:doctor|clinician)|urgent care|非急|门诊|就医", t):
        return "non_emergency"
    if re.search(r"self[- _]?care|home care|自我护理|居家|自行", t):
        return "self_care"
    if re.search(r"emergen|急诊|急症|紧急|call 911|\ber\b", t):
        return "emergency"
    return None


async def triage_with_model(text: str, model: Any, context: Any = None, *, lang: str = "auto") -> TriageResult:
    """Rules + model: the model's level counts only upward (never below the rules)."""
    from medsage.types import GenerateConfig, Message

    base = triage(text, context, lang=lang)
    prompt = (_MODEL_PROMPT_ZH if base.lang == "zh" else _MODEL_PROMPT_EN).format(case=text[:6000])
    try:
        out = await model.generate([Message("user", prompt)], GenerateConfig(max_tokens=8, temperature=0.0))
        model_level = None if out.error else parse_model_level(out.text)
    except Exception:  # noqa: BLE001 - a failing model must not break triage
        model_level = None
    findings = list(base.findings)
    level = base.level
    if model_level is None:
        findings.append(finding("triage_model_unavailable", "info",
                                msg(base.lang, "The model gave no usable triage level; rules alone were used.",
                                    "模型未给出可用的分诊等级；仅使用规则结果。"),
                                "medsage triage", None, "annotate"))
    elif level is None or _RANK[model_level] > _RANK[level]:
        level = model_level
    guidance = base.guidance or (emergency_guidance(base.lang) if level == "emergency" else "")
    return TriageResult(level, findings, base.rules + ([f"model:{model_level}"] if model_level else []),
                        base.lang, guidance, source="rules+model")
