"""The note generator end to end: transcript → draft → grounded note with codes and safety."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from medsage.models.base import Model
from medsage.notes.coding import suggest_codes
from medsage.notes.generate import DraftConfig, draft_note
from medsage.notes.grounding import GroundingConfig, find_omissions, ground_sentences
from medsage.notes.medsafety import check_note
from medsage.notes.roles import infer_roles
from medsage.notes.schema import Note, NoteSection
from medsage.notes.templates import load_template, restrict
from medsage.notes.text import split_sentences
from medsage.notes.transcript import Transcript, parse_text
from medsage.progress import StageCallback


@dataclass(frozen=True)
class NoteOptions:
    """Everything that shapes a note besides the transcript and the model.

    Attributes:
        template: Built-in template name or a path to a template JSON (default per language).
        lang: ``auto``, ``en`` or ``zh``.
        draft: Drafting settings (strategy, context budgets, call limit).
        grounding: Alignment settings (threshold, embeddings).
        drop_unsupported: Remove unsupported sentences instead of only flagging them.
        codes: Add diagnosis coding suggestions.
        icd_table: Path to a Chinese ICD-10 table (needed for Chinese codes).
        safety: Run the medication safety check.
        sections: Only draft these template sections (ids or titles); all when empty.
    """

    template: str | None = None
    lang: str = "auto"
    draft: DraftConfig = field(default_factory=DraftConfig)
    grounding: GroundingConfig = field(default_factory=GroundingConfig)
    drop_unsupported: bool = False
    codes: bool = True
    icd_table: str | None = None
    safety: bool = True
    sections: tuple[str, ...] = ()


async def make_note(transcript: Transcript, model: Model | None, opts: NoteOptions | None = None,
                    progress: StageCallback | None = None) -> Note:
    """Draft, ground, code and safety-check a note for ``transcript``.

    The note's ``warnings`` list everything that could not be done (missing
    patient turns, inferred roles, truncated coverage, failed model calls, an
    empty draft); an empty note is never returned silently. ``progress`` gets
    ``(stage, done, total)`` for the stages draft (model calls), grounding
    (sections), omissions, codes and safety (:class:`medsage.progress.StageProgress`).
    """
    opts = opts or NoteOptions()
    report = progress or (lambda stage, done, total: None)
    t0 = time.perf_counter()
    lang = transcript.lang if opts.lang in ("auto", "", None) else opts.lang
    if lang != transcript.lang:
        from dataclasses import replace

        transcript = replace(transcript, lang=lang)
    template = load_template(opts.template, lang)
    if opts.sections:
        template = restrict(template, list(opts.sections))
    warnings = list(transcript.warnings)
    roles = {t.role for t in transcript.turns}
    if "patient" not in roles:
        warnings.append("no patient turns: the note rests on the clinician's (and others') statements only; "
                        "patient-reported history may be missing")
    if "doctor" not in roles:
        warnings.append("no doctor turns: examination, assessment and plan cannot come from the conversation")
    draft = await draft_note(transcript, template, model, opts.draft, progress=progress)
    warnings += draft.warnings
    t1 = time.perf_counter()
    note = Note(template=template.id, lang=lang)
    dropped = 0
    report("grounding", 0, len(template.sections))
    for i, sec in enumerate(template.sections, 1):
        sentences = split_sentences(draft.sections.get(sec.id, ""))
        grounded = ground_sentences(sentences, transcript, opts.grounding)
        if opts.drop_unsupported:
            dropped += sum(1 for s in grounded if not s.supported)
            grounded = [s for s in grounded if s.supported]
        note.sections.append(NoteSection(sec.id, sec.title, grounded))
        report("grounding", i, len(template.sections))
    t_ground = time.perf_counter() - t1
    if dropped:
        warnings.append(f"{dropped} unsupported sentence(s) removed from the draft")
    if not note.sentences:
        warnings.append("the draft has no content: the model produced nothing usable for any section")
    report("omissions", 0, 1)
    note.omissions = find_omissions(note.plain_text(), transcript)
    report("omissions", 1, 1)
    if opts.codes:
        report("codes", 0, 1)
        codes, code_warn = suggest_codes({s.id: s.text for s in note.sections}, lang, opts.icd_table)
        note.codes, warnings = codes, warnings + code_warn
        report("codes", 1, 1)
    report("safety", 0, 1)
    note.safety = check_note(note, transcript) if opts.safety else {"status": "skipped", "findings": []}
    if opts.safety:  # the conversation itself, checked as `medsage safety check` would (red flags …)
        note.safety = with_input_safety(note.safety, "\n".join(t.text for t in transcript.turns))
    report("safety", 1, 1)
    if note.safety.get("status") == "unavailable":
        warnings.append("medication safety check unavailable: medications were NOT checked "
                        f"({note.safety.get('message', '')})")
    note.warnings = warnings
    words = sum(len(t.text.split()) if lang != "zh" else len(t.text) for t in transcript.turns)
    note.stats = {**draft.stats(), "turns": len(transcript.turns), "transcript_units": words,
                  "grounding_seconds": round(t_ground, 3),
                  "total_seconds": round(time.perf_counter() - t0, 3),
                  "unsupported": len(note.unsupported), "sentences": len(note.sentences),
                  "omissions": len(note.omissions)}
    return note


def transcript_from_text(text: str, lang: str = "auto", source: str = "") -> Transcript:
    """Parse plain transcript text and infer speaker roles."""
    return infer_roles(parse_text(text, source=source, lang=lang))


def with_input_safety(safety: dict[str, Any], text: str) -> dict[str, Any]:
    """``safety`` plus the conversation's own findings (``input``, merged into ``findings``)."""
    from medsage.safety.carry import input_report, safety_block

    if not text.strip():
        return safety
    block = safety_block(input_report(text))
    seen = {(f.get("type"), f.get("message")) for f in safety.get("findings", [])}
    extra = [f for f in block["findings"] if (f.get("type"), f.get("message")) not in seen]
    return {**safety, "findings": [*extra, *safety.get("findings", [])], "input": block,
            "urgency": block["urgency"]}
