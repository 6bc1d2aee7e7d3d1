"""Scoring one generated note against its reference and its transcript."""

from __future__ import annotations

from typing import Any

from medsage.notes.grounding import GroundingConfig, ground_sentences, transcript_concepts
from medsage.notes.lexicon import concept_set
from medsage.notes.metrics import concept_f1, edit_effort, rouge, section_completeness
from medsage.notes.roles import infer_roles
from medsage.notes.templates import load_template, split_sections
from medsage.notes.text import split_sentences
from medsage.notes.transcript import Transcript, parse_text


def _strip_headings(pred: str, template_name: str | None, lang: str) -> str:
    template = load_template(template_name, lang)
    secs, pre = split_sections(pred, template)
    return "\n".join([pre, *secs.values()]).strip() if secs else pred


def score_note(pred: str, ref: str, transcript_text: str, lang: str = "en", template: str | None = None,
               grounding: GroundingConfig | None = None, transcript: Transcript | None = None) -> dict[str, Any]:
    """All note metrics for ``pred``.

    Returns ROUGE (F), concept P/R/F1, hallucination rate (share of sentences the
    transcript does not support), omission rate (share of transcript concepts
    absent from the note), section completeness and the edit-effort proxy.
    When the reference has no section headings (MTS-Dialog), headings are
    removed from the prediction before comparison.
    """
    tmpl = load_template(template, lang)
    if not split_sections(ref, tmpl)[0]:
        pred = _strip_headings(pred, template, lang)
    out: dict[str, Any] = {f"{k}": round(v, 4) for k, v in rouge(pred, ref, lang).items()}
    cf = concept_f1(pred, ref, lang)
    out.update({"concept_p": cf["p"], "concept_r": cf["r"], "concept_f1": cf["f1"]})
    sentences = split_sentences(pred)
    if transcript is None:
        transcript = infer_roles(parse_text(transcript_text, lang=lang)) if transcript_text.strip() else None
    if transcript is not None and sentences:
        grounded = ground_sentences(sentences, transcript, grounding or GroundingConfig())
        out["hallucination_rate"] = round(sum(not s.supported for s in grounded) / len(grounded), 4)
        out["unsupported_sentences"] = [s.text for s in grounded if not s.supported][:10]
    else:
        out["hallucination_rate"] = None
    if transcript is not None:
        said = transcript_concepts(transcript)
        covered = concept_set(pred, lang)
        out["omission_rate"] = round(len(said - covered) / len(said), 4) if said else None
    out["sentences"] = len(sentences)
    out.update(section_completeness(pred, ref, tmpl))
    ee = edit_effort(pred, ref, lang)
    out["edit_distance_norm"] = round(ee["distance_norm"], 4)
    out["time_saved"] = round(ee["time_saved"], 4)
    return out
