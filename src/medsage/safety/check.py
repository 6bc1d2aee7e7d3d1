"""The safety checker: one call runs every check on a text and/or a patient context.

>>> from medsage.safety import check
>>> report = check("Coumadin 5 mg daily and ibuprofen 400 mg tid", {"age": 70})
>>> report.blocked, [f.type for f in report.findings]

Fails closed: empty input, binary garbage, invalid context values, unknown drugs
and unparseable doses are findings, never an empty "all clear".
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from medsage.lang import detect_language, normalise
from medsage.safety._common import act_rank, finding, finding_to_dict, msg, sev_rank
from medsage.safety.allergy import allergies_from_text, check_allergies
from medsage.safety.context import ContextMedication, PatientContext
from medsage.safety.doses import check_doses
from medsage.safety.drugs import DICTIONARY_SOURCE, DrugEntry, Medication, extract, get_dictionary
from medsage.safety.evasion import hidden_characters_finding, remap_finding
from medsage.safety.interactions import (
    InteractionIndex,
    builtin_index,
    check_interactions,
    load_ddinter,
)
from medsage.safety.policy import PolicyResult, evaluate
from medsage.safety.populations import check_populations
from medsage.safety.triage import TriageResult, triage
from medsage.types import Finding

if TYPE_CHECKING:
    from medsage.safety.dose_parse import DoseInfo

MAX_CHARS = 1_048_576
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_FORMAT = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
                     r"\u3164\ufe00-\ufe0f\ufeff\uffa0]")
VALIDATION_SOURCE = "medsage input validation"


@dataclass
class SafetyReport:
    """The result of :func:`check`.

    Attributes:
        findings: Every finding, most severe first.
        medications: Medications found in the text and the context.
        blocked: True when any finding's action is ``block``.
        triage: Urgency of the text (None when it describes no symptoms).
        policy: The harmful-request decision on the text.
        lang: Language of the messages.
        context: The validated patient context that was used.
    """

    findings: list[Finding] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    lang: str = "en"
    triage: TriageResult | None = None
    policy: PolicyResult | None = None
    context: PatientContext | None = None
    elapsed_ms: float = 0.0
    checked_chars: int = 0

    @property
    def blocked(self) -> bool:
        """Whether any finding blocks use of the text."""
        return any(f.action == "block" for f in self.findings)

    @property
    def max_severity(self) -> str:
        """The highest severity among the findings (``info`` when there are none)."""
        return max((f.severity for f in self.findings), key=sev_rank, default="info")

    @property
    def urgency(self) -> str | None:
        """The triage level, or None when triage did not run."""
        return self.triage.level if self.triage else None

    def by_type(self, type_: str) -> list[Finding]:
        """The findings of one type (``interaction``, ``dose`` …)."""
        return [f for f in self.findings if f.type == type_]

    def summary(self) -> str:
        """One line in the report's language: blocked, warnings, notes only, or no findings."""
        if self.blocked:
            return msg(self.lang, "BLOCKED: at least one finding must be resolved before use.",
                       "已拦截：至少有一项问题须先处理。")
        if any(f.action == "warn" for f in self.findings):
            return msg(self.lang, "WARNINGS: review the findings before use.", "警告：使用前请核查以下问题。")
        if self.findings:
            return msg(self.lang, "Notes only: no blocking or warning findings.", "仅有提示：无拦截或警告项。")
        return msg(self.lang, "No findings from the checks that ran (this is not a guarantee of safety).",
                   "已运行的检查未发现问题（这并不代表绝对安全）。")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form returned by ``medsage safety check`` and the service."""
        return {
            "blocked": self.blocked,
            "max_severity": self.max_severity,
            "summary": self.summary(),
            "lang": self.lang,
            "urgency": self.urgency,
            "findings": [finding_to_dict(f) for f in self.findings],
            "medications": [m.to_dict() for m in self.medications],
            "triage": self.triage.to_dict() if self.triage else None,
            "policy": self.policy.to_dict() if self.policy else None,
            "context": self.context.to_dict() if self.context else None,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "checked_chars": self.checked_chars,
        }


def _validate_text(text: Any, lang: str) -> tuple[str, list[Finding]]:
    out: list[Finding] = []
    if text is None:
        text = ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        out.append(finding("invalid_input", "high",
                           msg(lang, f"Text must be a string, got {type(text).__name__}.",
                               f"文本必须为字符串，收到的是{type(text).__name__}。"),
                           VALIDATION_SOURCE, None, "block"))
        return "", out
    if len(text) > MAX_CHARS:
        out.append(finding("input_truncated", "moderate",
                           msg(lang, f"Text is {len(text):,} characters; only the first {MAX_CHARS:,} were checked.",
                               f"文本共{len(text):,}个字符，仅检查了前{MAX_CHARS:,}个字符。"),
                           VALIDATION_SOURCE, (MAX_CHARS, len(text)), "warn"))
        text = text[:MAX_CHARS]
    sample = text[:50000]
    if sample:
        bad = len(_CONTROL.findall(sample))
        # invisible format characters (zero-width spaces …) are disguise, not binary data:
        # they are removed by the normaliser and reported as evasion
        printable = sum(1 for c in sample if c.isprintable() or c in "\n\r\t" or _FORMAT.match(c))
        if bad / len(sample) > 0.05 or printable / len(sample) < 0.85:
            out.append(finding("invalid_input", "high",
                               msg(lang, "The text looks like binary or corrupted data; it cannot be checked reliably.",
                                   "文本看起来是二进制或损坏的数据，无法可靠检查。"),
                               VALIDATION_SOURCE, None, "block", control_chars=bad))
    return text, out


class CheckAliases(TypedDict, total=False):
    """Older keyword names :func:`check` still accepts."""

    medications: list[str] | None
    patient: PatientContext | dict[str, Any] | str | None
    language: str | None


def check(
    text: str | None = "",
    context: PatientContext | dict[str, Any] | str | None = None,
    *,
    lang: str = "auto",
    meds: list[str] | None = None,
    ddinter: str | None = None,
    index: InteractionIndex | None = None,
    run_triage: bool = True,
    run_policy: bool | None = None,
    **aliases: Unpack[CheckAliases],
) -> SafetyReport:
    """Run every safety check on ``text`` and/or ``context``.

    A plain-string ``context`` (e.g. a conversation transcript) is read as free text:
    allergies and medications stated in it join the patient context.

    Args:
        text: A question, draft answer, note or prescription list (any of EN/ZH/mixed).
        context: A :class:`PatientContext` or a dict (``age``, ``sex``, ``weight_kg``,
            ``pregnant``, ``lactating``, ``egfr``/``crcl``, ``hepatic``, ``allergies``,
            ``medications``: names or ``{name, dose, unit, route, frequency}``).
        lang: ``auto`` (by script), ``en`` or ``zh`` for the messages.
        meds: Extra medication strings ("warfarin 5 mg daily").
        ddinter: Path to a local DDInter copy (CC BY-NC-SA; never shipped) to add its rules.
        index: A prebuilt interaction index (overrides ``ddinter``).
        run_triage: Also triage the text for red flags.
        run_policy: Apply the harmful-request policy: True, False, or None (default) = only
            when the text looks like a request (a question or an instruction, not a note).
        **aliases: ``medications``, ``patient`` and ``language``: older names of ``meds``,
            ``context`` and ``lang``.

    Returns:
        The findings (most actionable first), the medications found and the sub-reports.
    """
    start = time.perf_counter()
    medications, patient, language = aliases.get("medications"), aliases.get("patient"), aliases.get("language")
    if medications:
        meds = list(meds or []) + [str(m) for m in medications]
    if context is None and patient is not None:
        context = patient
    if language and lang == "auto":
        lang = language if language in ("en", "zh") else "auto"
    context_text = ""
    if isinstance(context, str):
        context_text, context = context, None
    lang = detect_language(text if isinstance(text, str) else "", lang)
    text, findings = _validate_text(text, lang)
    lang = detect_language(text, lang)
    ctx = PatientContext.coerce(context)
    if context_text:
        ctx = _context_from_text(ctx, context_text)
    findings.extend(_context_problems(ctx, lang))
    extra_meds = [m for m in (meds or []) if isinstance(m, str) and m.strip()]
    if not text.strip() and ctx.is_empty and not extra_meds and not ctx.problems and \
            not any(f.type == "invalid_input" for f in findings):
        findings.append(finding(
            "invalid_input", "moderate",
            msg(lang, "Nothing to check: the text is empty and no patient context or medication list was given.",
                "没有可检查的内容：文本为空，且未提供患者信息或用药清单。"),
            VALIDATION_SOURCE, None, "block"))
    binary = any(f.type == "invalid_input" and f.severity == "high" for f in findings)
    scan = bool(text) and not binary
    found: list[Medication] = []
    # every text matcher below runs on the normalised copy; spans are mapped back at the end
    clean, omap = normalise(text)
    if scan:
        text_meds, text_findings = extract(text, lang=lang, weight_kg=ctx.weight_kg)
        found.extend(text_meds)
        findings.extend(text_findings)
        hidden = hidden_characters_finding(omap, [m.span for m in text_meds if m.span], lang)
        if hidden is not None:
            findings.append(hidden)
    for part in (_context_medications(ctx, lang), _listed_medications(extra_meds, ctx, lang)):
        found.extend(part[0])
        findings.extend(part[1])
    # clinical checks
    if ddinter and index is None:
        index = builtin_index().merged(load_ddinter(ddinter))
    findings.extend(_clinical_findings(found, ctx, clean if scan else "", lang, index))
    tri = pol = None
    if run_policy is None:
        run_policy = looks_like_request(clean)
    if scan:
        # policy and triage run on the clean copy: their spans move onto the original text
        if run_policy:
            pol = evaluate(clean, lang=lang)
            pol = replace(pol, findings=[remap_finding(f, omap) for f in pol.findings])
            findings.extend(pol.findings)
        if run_triage:
            tri = triage(clean, ctx, lang=lang)
            tri = replace(tri, findings=[remap_finding(f, omap) for f in tri.findings])
            findings.extend(tri.findings)
    findings = _dedupe(findings)
    findings.sort(key=lambda f: (-act_rank(f.action), -sev_rank(f.severity), f.span[0] if f.span else -1))
    report = SafetyReport(findings=findings, medications=found, lang=lang, triage=tri, policy=pol,
                          context=ctx, checked_chars=len(text))
    report.elapsed_ms = (time.perf_counter() - start) * 1000
    return report


def _context_problems(ctx: PatientContext, lang: str) -> list[Finding]:
    """One finding per problem found while reading the patient context."""
    out = []
    for problem in ctx.problems:
        severe = any(w in problem for w in ("impossible", "must be", "contradictory", "implausible"))
        out.append(finding(
            "context_invalid", "high" if severe else "low",
            msg(lang, f"Patient context: {problem}.", f"患者信息有误：{problem}。"),
            VALIDATION_SOURCE, None, "block" if "impossible" in problem or "must be" in problem else
            ("warn" if severe else "annotate"), problem=problem))
    return out


def _context_medications(ctx: PatientContext, lang: str) -> tuple[list[Medication], list[Finding]]:
    """The patient context's medications looked up in the dictionary, with their doses parsed."""
    d = get_dictionary()
    found: list[Medication] = []
    findings: list[Finding] = []
    for cm in ctx.medications:
        hit = d.lookup(cm.name)
        if hit is None:
            findings.append(finding(
                "unknown_drug", "moderate",
                msg(lang, f"Context medication '{cm.name}' is not in the drug dictionary: its interactions, doses "
                          "and contraindications were NOT checked.",
                    f"患者用药“{cm.name}”不在药物词典中：未能检查其相互作用、剂量和禁忌。"),
                DICTIONARY_SOURCE, None, "warn", name=cm.name, source="context"))
            continue
        entry, kind, score = hit
        dose = None
        if cm.dose is not None or cm.frequency or cm.unit:
            dose, problem = _context_dose(cm, entry, ctx.weight_kg, lang)
            findings.extend(problem)
        found.append(Medication(
            drug_id=entry.id, name=entry.display, text=cm.name, span=None, source="context",
            match="fuzzy" if kind == "fuzzy" else kind, score=score, dose=dose,
            classes=tuple(sorted(entry.classes)), zh=entry.zh))
        if kind == "fuzzy":
            findings.append(finding(
                "drug_name_uncertain", "low",
                msg(lang, f"Context medication '{cm.name}' was read as {entry.display}; confirm the drug.",
                    f"患者用药“{cm.name}”按{entry.label('zh')}处理；请核实药名。"),
                DICTIONARY_SOURCE, None, "annotate", drug=entry.id))
    return found, findings


def _context_dose(cm: ContextMedication, entry: DrugEntry, weight_kg: float | None,
                  lang: str) -> tuple[DoseInfo | None, list[Finding]]:
    """Parse a context medication's structured dose; a finding when it cannot be read."""
    from medsage.safety.dose_parse import parse_dose

    spec = " ".join(str(x) for x in (f"{cm.dose:g}" if cm.dose is not None else "", cm.unit or "",
                                     cm.route or "", cm.frequency or "") if x)
    dose = parse_dose(" " + spec, weight_kg=weight_kg)
    if dose is not None and not dose.problems:
        return replace(dose, span=None), []
    why = f" ({'; '.join(dose.problems)})" if dose is not None else ""
    problem = finding(
        "dose_unparsed", "moderate",
        msg(lang, f"Dose of context medication {entry.display} '{spec}' could not be interpreted{why}.",
            f"患者用药{entry.label('zh')}剂量“{spec}”无法解析。"),
        "medsage dose parser", None, "warn", drug=entry.id)
    return (replace(dose, span=None) if dose is not None else None), [problem]


def _listed_medications(extra_meds: list[str], ctx: PatientContext,
                        lang: str) -> tuple[list[Medication], list[Finding]]:
    """Medications given as a separate list (``meds``): no spans, since they are not in the text."""
    found: list[Medication] = []
    findings: list[Finding] = []
    for raw in extra_meds:
        sub_meds, sub_findings = extract(raw, lang=lang, weight_kg=ctx.weight_kg, source="meds")
        if not sub_meds:
            findings.append(finding(
                "unknown_drug", "moderate",
                msg(lang, f"Medication '{raw}' is not in the drug dictionary: it was NOT checked.",
                    f"药物“{raw}”不在药物词典中：未进行检查。"),
                DICTIONARY_SOURCE, None, "warn", name=raw, source="meds"))
        found.extend(replace(m, span=None) for m in sub_meds)
        findings.extend(replace(f, span=None) for f in sub_findings)
    return found, findings


def _clinical_findings(found: list[Medication], ctx: PatientContext, clean: str, lang: str,
                       index: InteractionIndex | None) -> list[Finding]:
    """Interactions, doses, allergies (context and ``clean`` text) and population cautions."""
    out = list(check_interactions(found, lang=lang, index=index))
    out.extend(check_doses(found, ctx, lang=lang))
    allergies = list(ctx.allergies)
    if clean:
        allergies += [a for a in allergies_from_text(clean) if a not in allergies]
    if allergies:
        out.extend(check_allergies(found, allergies, lang=lang))
    out.extend(check_populations(found, ctx, lang=lang))
    return out


_REQUEST_RE = re.compile(
    r"^\s*(?:how|what|which|why|when|where|who|can|could|would|should|is|are|do|does|will|may|write|draft|create|"
    r"give|tell|explain|describe|list|suggest|help|show|provide|generate|compose|develop|design|propose|recommend|"
    r"advise|outline|convince|devise|instruct|teach|i want|i need|please)\b|[?？]\s*$|^\s*(?:怎么|如何|请|帮我|能不能|可以|可不可以|我想|为什么|告诉我|写)",
    re.IGNORECASE,
)


def looks_like_request(text: str) -> bool:
    """Whether ``text`` reads as a request/question (policy applies) rather than a note or answer."""
    t = (text or "").strip()
    return bool(t) and len(t) <= 1500 and bool(_REQUEST_RE.search(t))


def _context_from_text(ctx: PatientContext, text: str) -> PatientContext:
    """Allergies and (non-negated) medications stated in a free-text context."""
    allergies = list(ctx.allergies) + [a for a in allergies_from_text(normalise(text)[0])
                                       if a not in ctx.allergies]
    meds = list(ctx.medications)
    names = {m.name.lower() for m in meds}
    for m in extract(text[:MAX_CHARS])[0]:
        if not m.negated and m.drug_id not in names:
            names.add(m.drug_id)
            meds.append(ContextMedication(name=m.drug_id))
    return replace(ctx, allergies=tuple(allergies), medications=tuple(meds))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in findings:
        key = (f.type, f.message, f.span)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out
