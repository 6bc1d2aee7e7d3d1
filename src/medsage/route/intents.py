"""The intent label set (the 11 KUAKE-QIC intents) with English names."""

from __future__ import annotations

# KUAKE-QIC label -> English intent name. ``other`` means "not a health question".
INTENTS: dict[str, str] = {
    "病情诊断": "diagnosis",
    "病因分析": "cause",
    "治疗方案": "treatment",
    "就医建议": "care_seeking",
    "指标解读": "test_interpretation",
    "疾病表述": "disease_description",
    "后果表述": "consequence",
    "注意事项": "precautions",
    "功效作用": "efficacy",
    "医疗费用": "cost",
    "其他": "other",
}
NON_MEDICAL = "other"
_EN_TO_ZH = {en: zh for zh, en in INTENTS.items()}


def intent_label(label: str) -> str:
    """Normalise a KUAKE-QIC (Chinese) or English label to the English intent name.

    Unknown labels are returned unchanged, so custom label sets still train.
    """
    label = label.strip()
    return INTENTS.get(label, label)


def zh_label(intent: str) -> str:
    """The KUAKE-QIC (Chinese) label of an English intent name, or the name itself."""
    return _EN_TO_ZH.get(intent, intent)
