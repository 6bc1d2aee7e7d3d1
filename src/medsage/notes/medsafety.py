"""Run the note's medication statements through :mod:`medsage.safety`.

The result always says what happened: ``checked`` (with findings), ``no_medications``
or ``error`` (the check failed: nothing was checked). It never reports a pass it did not run.
"""

from __future__ import annotations

import logging
from typing import Any

from medsage.lang import normalise
from medsage.notes.lexicon import find_concepts
from medsage.notes.schema import Note
from medsage.notes.transcript import Transcript

log = logging.getLogger(__name__)


def medication_sentences(note: Note) -> list[str]:
    """Note sentences that mention a drug (or a dose)."""
    out = []
    for s in note.sentences:
        if any(m.kind == "drug" for m in find_concepts(s.text, note.lang)) or \
                any(u in normalise(s.text)[0].lower() for u in (" mg", "mg ", "毫克", "片")):
            out.append(s.text)
    return out


def check_note(note: Note, transcript: Transcript) -> dict[str, Any]:
    """Safety-check the medication content of ``note`` with the conversation as context."""
    meds = medication_sentences(note)
    if not meds:
        return {"status": "no_medications", "findings": []}
    from medsage.safety import check

    text = "\n".join(meds)
    context = "\n".join(f"{t.role}: {t.text}" for t in transcript.turns)
    try:
        # a plain-string context is read as free text (allergies, current medications). There
        # is no retry without it: a check that silently dropped the allergies would fail open.
        report = check(text, context=context, lang=note.lang)
        if not hasattr(report, "to_dict"):
            raise TypeError(f"safety check returned {type(report).__name__}, not a report")
        data = report.to_dict()
    except Exception as exc:  # fail closed: an error is reported, never a pass
        log.warning("safety check failed: %s", exc)
        return {"status": "error", "findings": [], "message": f"safety check failed: {exc}",
                "checked_text": meds}
    findings = data.get("findings", []) if isinstance(data, dict) else []
    return {"status": "checked", "findings": findings, "report": data, "checked_text": meds}
