"""Is a complaint medical at all, and which age-bound red flags does it raise?

The department router's gate asks for *evidence* before it names a department:

* a red-flag emergency, or two or more department terms, is medical outright;
* one department term or a generic symptom word (``疼``, ``发烧``, ``fever``, ``pills`` …)
  is medical unless the intent classifier is nearly sure it is not (``p_other`` ≥
  :data:`P_OTHER_WITH_CUE`);
* with no medical word at all, only a confident intent classifier makes it medical
  (``p_other`` < :data:`P_OTHER_NO_CUE`), and a mention of a hospital or clinic is not
  medical evidence: the classifier judges the text with those venue words taken out
  ("what time does the hospital gift shop open" is about a shop).

Thresholds were set on the development split of the shipped set (non-medical rows have
``p_other`` ≥ 0.56 there; medical rows without any cue word ≤ 0.07).

:func:`infant_fever` is the one age-bound red flag the generic triage cannot see: a
fever in a baby under three months (NICE NG143: "red", assess urgently).
"""

from __future__ import annotations

import re

from medsage.route.patient import PatientProfile

P_OTHER_WITH_CUE = 0.75
P_OTHER_NO_CUE = 0.25
INFANT_FEVER_MAX_YEARS = 0.25

_CUE_ZH = re.compile(r"疼|痛|痒|肿|麻|晕|咳|喘|吐|拉肚子|腹泻|便秘|出血|流血|发烧|发热|高烧|低烧|体温|烧到|"
                     r"难受|不舒服|症状|病|药|伤|摔|咬|烫|烧伤|疹|包块|肿块|结节|检查|化验|体检|医生|"
                     r"怀孕|月经|失眠|心慌|乏力|没劲|忘事|记性|发育|长不高|不长个")
_CUE_EN = re.compile(r"\b(?:pain\w*|ache\w*|aching|hurt\w*|sore|swell\w*|swollen|itch\w*|numb\w*|dizz\w*|"
                     r"cough\w*|vomit\w*|diarrh\w*|bleed\w*|blood|fever\w*|temperature|rash\w*|lump\w*|"
                     r"symptom\w*|sick|ill|illness|disease|injur\w*|wound\w*|burn\w*|bite|bitten|pills?|"
                     r"tablets?|medicine\w*|medication\w*|doctor|pregnan\w*|periods?|tired|fatigue|"
                     r"insomnia|falling|falls|fell|forgetful|swallowed|breath\w*|test results?|scan)\b",
                     re.I)
_VENUE = re.compile(r"医院|诊所|卫生院|门诊部|\b(?:hospital|clinic|medical cent(?:er|re))s?\b", re.I)
_FEVER = re.compile(r"发烧|发热|高烧|低烧|体温\s*3[89]|烧到|3[89](?:\.\d)?\s*度|\bfever\w*|\btemperature\b|"
                    r"\b3[89](?:\.\d)?\s*°?\s*c?\b", re.I)


def has_cue(text: str) -> bool:
    """Whether ``text`` holds a generic medical word (symptom, injury, medicine, care)."""
    return bool(_CUE_ZH.search(text) or _CUE_EN.search(text))


def without_venue(text: str) -> str:
    """``text`` with hospital/clinic words removed (None of them is medical evidence)."""
    return _VENUE.sub(" ", text)


def has_venue(text: str) -> bool:
    """Whether ``text`` names a hospital, clinic or the like."""
    return bool(_VENUE.search(text))


def is_medical(*, emergency: bool, n_terms: int, cue: bool, p_other: float) -> bool:
    """The gate (see the module docstring).

    Args:
        emergency: A red flag fired.
        n_terms: Most department terms matched for one concept.
        cue: A generic medical word occurs.
        p_other: The intent classifier's probability of "not medical" (venue words removed).
    """
    if emergency or n_terms >= 2:
        return True
    if n_terms >= 1 or cue:
        return p_other < P_OTHER_WITH_CUE
    return p_other < P_OTHER_NO_CUE


def infant_fever(text: str, prof: PatientProfile) -> bool:
    """A fever in a baby under three months (a newborn, or an explicit age under 0.25 y)."""
    young = prof.group == "newborn" or (prof.age_years is not None and prof.age_years < INFANT_FEVER_MAX_YEARS)
    return young and bool(_FEVER.search(text))
