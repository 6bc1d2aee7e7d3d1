"""Disguised text in the safety layer: map findings back to the original, report evasion.

The safety matchers run on the clean copy made by :func:`medsage.lang.normalise`;
the helpers here move medication and finding spans back onto the text the user wrote
and turn suspicious characters inside a drug name (zero-width spaces, soft hyphens,
look-alike letters, full-width letters) into an ``evasion`` finding, so a disguised
name is reported even though it is also checked.
"""

from __future__ import annotations

from dataclasses import replace

from medsage.lang import OffsetMap, describe_kinds
from medsage.safety._common import finding, msg
from medsage.safety.medication import Medication
from medsage.types import Finding

EVASION_SOURCE = "medsage text normaliser (Unicode NFKC, TR39 confusables, format characters)"


def remap_finding(f: Finding, omap: OffsetMap) -> Finding:
    """``f`` with its span moved from the clean copy to the original text."""
    if f.span is None or not omap.changed:
        return f
    return replace(f, span=omap.span(f.span[0], f.span[1]))


def remap_medication(m: Medication, omap: OffsetMap) -> Medication:
    """``m`` with its span, its written text and its dose span in original coordinates."""
    if not omap.changed or m.span is None:
        return m
    span = omap.span(m.span[0], m.span[1])
    dose = m.dose
    if dose is not None and dose.span is not None:
        dose = replace(dose, span=omap.span(dose.span[0], dose.span[1]))
    return replace(m, span=span, text=omap.original[span[0]:span[1]], dose=dose)


def evasion_findings(meds: list[Medication], omap: OffsetMap, lang: str) -> list[Finding]:
    """One ``evasion`` finding per medication whose written name holds suspicious characters.

    Invisible characters, look-alike letters, combining marks and other-script digits are
    ``high``/``warn``; full-width or compatibility letters (common with Chinese input
    methods) are ``low``/``annotate``.
    """
    out: list[Finding] = []
    if not omap.suspicious:
        return out
    for m in meds:
        if m.span is None:
            continue
        found = [s for s in omap.suspicious_in(m.span[0], m.span[1]) if s.kind != "diacritic"]
        if not found:
            continue
        evasive = [s for s in found if s.evasive]
        what = describe_kinds(evasive or found)
        clean_name = m.name
        if evasive:
            out.append(finding(
                "evasion", "high",
                msg(lang, f"The drug name '{m.text}' contains hidden or look-alike characters ({what}): it was "
                          f"read as {clean_name} and checked, but the text may have been altered to evade "
                          "safety checks. Verify the source.",
                    f"药名“{m.text}”含有隐藏或形似字符（{what}）：已按{m.zh or clean_name}识别并检查，"
                    "但文本可能被篡改以规避安全检查，请核实来源。"),
                EVASION_SOURCE, m.span, "warn", drug=m.drug_id, kinds=sorted({s.kind for s in evasive}),
                codepoints=[f"U+{ord(s.char):04X}" for s in evasive][:20]))
        else:
            out.append(finding(
                "evasion", "low",
                msg(lang, f"The drug name '{m.text}' is written with full-width or compatibility characters "
                          f"({what}); it was read as {clean_name}.",
                    f"药名“{m.text}”使用了全角或兼容字符（{what}），已按{m.zh or clean_name}识别。"),
                EVASION_SOURCE, m.span, "annotate", drug=m.drug_id, kinds=sorted({s.kind for s in found}),
                codepoints=[f"U+{ord(s.char):04X}" for s in found][:20]))
    return out


def hidden_characters_finding(omap: OffsetMap, covered: list[tuple[int, int]], lang: str) -> Finding | None:
    """A ``hidden_characters`` note for invisible/look-alike characters outside drug names."""
    def inside(pos: int) -> bool:
        return any(s <= pos < e for s, e in covered)

    rest = [s for s in omap.suspicious if s.evasive and not inside(s.start)]
    if not rest:
        return None
    first = rest[0].start
    return finding(
        "hidden_characters", "low",
        msg(lang, f"The text contains {len(rest)} hidden or look-alike character(s) ({describe_kinds(rest)}); "
                  "they were ignored for the checks.",
            f"文本含有{len(rest)}个隐藏或形似字符（{describe_kinds(rest)}），检查时已忽略。"),
        EVASION_SOURCE, (first, first + 1), "annotate", count=len(rest))
