"""Who the patient is, read from a complaint: age group, sex, pregnancy.

Deliberately simple cues in Chinese and English ("3岁", "8个月", "出生10天",
"my 4-year-old", "孕12周", "我老婆", "my son"). An explicit age wins over words;
"my mum"/"我爸" make the patient an adult even when the speaker is a parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHILD_MAX_YEARS = 14.0  # Chinese paediatric clinics see children under 14
NEWBORN_MAX_YEARS = 28 / 365

_ZH_NUM = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "十": 10, "十一": 11, "十二": 12, "半": 0.5}
_NUM = r"(\d+(?:\.\d+)?|十[一二]?|[一两二三四五六七八九十半])"
_AGE = [
    (re.compile(r"(?:出生|生下来|刚生|生后)(?:才|只有)?" + _NUM + r"\s*(?:天|日)"), 1 / 365),
    (re.compile(_NUM + r"\s*天(?:大|的(?:宝宝|孩子|婴儿))"), 1 / 365),
    (re.compile(_NUM + r"\s*(?:周|星期)(?:大|的宝宝)"), 7 / 365),
    (re.compile(_NUM + r"\s*个?月(?:大|龄|的(?:宝宝|孩子|婴儿)|宝宝)"), 1 / 12),
    (re.compile(r"(?:宝宝|孩子|婴儿)(?:才|已经|刚)?" + _NUM + r"\s*个月"), 1 / 12),
    (re.compile(_NUM + r"\s*岁"), 1.0),
    (re.compile(r"(\d+)[- ]?(?:day|days)[- ]old|(\d+) days old", re.I), 1 / 365),
    (re.compile(r"(\d+)[- ]?(?:week|weeks|wk)[- ]old|(\d+) weeks old", re.I), 7 / 365),
    (re.compile(r"(\d+)[- ]?(?:month|months|mo)[- ]old|(\d+) months old", re.I), 1 / 12),
    (re.compile(r"(\d+)[- ]?(?:year|years|yr)[- ]old|aged (\d+)|\b(\d+) years old|"
                r"\bi'?m (\d{2})\b|\(\s*(\d{1,2})\s*\)|\bis (\d{1,2})\b", re.I), 1.0),
]
_NEWBORN = re.compile(r"新生儿|刚出生|刚生下|出生[一二三四五六七八九十\d]+天|newborn|neonat", re.I)
_CHILD = re.compile(r"孩子|小孩|儿子|女儿|宝宝|婴儿|娃|男孩|女孩|小朋友|患儿|幼儿|上小学|上幼儿园|初中|"
                    r"\b(?:child|kid|son|daughter|toddler|baby|infant|boy|girl)s?\b", re.I)
_ADULT = re.compile(r"[抱带生要养]孩子|没孩子|生完孩子|管孩子|没怀上|怀不上|我(?:老婆|老公|妻子|丈夫|爸|妈|父亲|母亲|爷爷|奶奶|外公|外婆)|老人|老年|怀孕|孕|"
                    r"\bmy (?:mum|mom|mother|dad|father|husband|wife|grand\w+)\b|\bpregnan|\belderly\b", re.I)
_FEMALE = re.compile(r"女|妻子|老婆|妈|母亲|奶奶|外婆|孕|月经|怀|阴道|子宫|乳房|\b(?:she|her|woman|"
                     r"wife|mum|mom|mother|daughter|girl|pregnan\w*|period|periods|vagina\w*)\b", re.I)
_MALE = re.compile(r"男(?!方)|丈夫|老公|爸|父亲|爷爷|外公|儿子|前列腺|阴囊|睾丸|勃起|\b(?:he|his|man|"
                   r"husband|dad|father|son|boy|prostate|erection|testic\w*)\b", re.I)
_PREGNANT = re.compile(r"(?<!没)(?<!想)(?<!不)怀孕(?!不)(?:了|期间|初期|\d|[一二三四五六七八九十])|孕\d+|孕期|"
                       r"孕[早中晚]期|孕妇|妊娠期|怀孕\d+周|\d+\s*weeks? pregnant|\bi'?m pregnant|"
                       r"\bpregnant with\b|\bpregnant and\b|\bduring pregnancy\b", re.I)


@dataclass(frozen=True)
class PatientProfile:
    """What a complaint says about the patient.

    Attributes:
        age_years: Explicit age, if given.
        group: ``newborn``, ``child``, ``adolescent``, ``adult`` or None (not said).
        sex: ``female``, ``male`` or None.
        pregnant: Whether the patient is pregnant.
    """

    age_years: float | None
    group: str | None
    sex: str | None
    pregnant: bool

    @property
    def is_child(self) -> bool:
        """Whether the patient is a newborn or a child."""
        return self.group in ("newborn", "child")


def _num(tok: str) -> float:
    return float(tok) if tok[0].isdigit() else float(_ZH_NUM.get(tok, 0))


def _age(text: str) -> float | None:
    for rx, factor in _AGE:
        m = rx.search(text)
        if m:
            tok = next(g for g in m.groups() if g)
            value = _num(tok) * factor
            if factor == 1.0 and text[m.end():m.end() + 1] == "半":
                value += 0.5
            return value
    return None


def profile(text: str) -> PatientProfile:
    """Read age group, sex and pregnancy from ``text``."""
    age = _age(text)
    newborn = bool(_NEWBORN.search(text))
    if age is not None:
        group = ("newborn" if age <= NEWBORN_MAX_YEARS else "child" if age < CHILD_MAX_YEARS
                 else "adolescent" if age < 18 else "adult")
    elif newborn:
        group = "newborn"
    elif _ADULT.search(text):
        group = "adult"
    elif _CHILD.search(text):
        group = "child"
    else:
        group = None
    pregnant = bool(_PREGNANT.search(text))
    female, male = len(_FEMALE.findall(text)), len(_MALE.findall(text))
    sex = "female" if pregnant or female > male else "male" if male > female else None
    return PatientProfile(age, group, sex, pregnant)
