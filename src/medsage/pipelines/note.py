"""The ``note`` pipeline: conversation in, grounded clinical note out.

Use it wherever a model goes: ``medsage bench notes_aci --model local/smollm2
--pipeline note``. The transcript is the sample's question (or the last user
message). Options (``-P key=value``): ``template``, ``lang``, ``strategy``
(``mapreduce`` | ``extractive``), ``chunk_tokens``, ``max_calls``, ``embed``
(embedding grounding), ``drop_unsupported``, ``icd_table``, ``section`` (only
this template section; MTS-Dialog samples set it themselves).

MIE dialogue-understanding samples (``metadata.task == "mie_zh"``) get the
entity/status extractor instead of a note.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from medsage.models.base import Model
from medsage.notes.generate import DraftConfig
from medsage.notes.grounding import GroundingConfig
from medsage.notes.service import NoteOptions, make_note, transcript_from_text
from medsage.pipeline import Pipeline
from medsage.safety.carry import carry
from medsage.types import CaseState, ModelOutput, Usage


def note_options(options: dict[str, Any], metadata: dict[str, Any]) -> NoteOptions:
    """Build :class:`NoteOptions` from pipeline options and a sample's metadata."""
    section = options.get("section") or metadata.get("section_id")
    return NoteOptions(
        template=options.get("template") or metadata.get("template"),
        lang=str(options.get("lang") or metadata.get("language") or "auto"),
        draft=DraftConfig(strategy=str(options.get("strategy", "mapreduce")),
                          chunk_tokens=int(options.get("chunk_tokens", 900)),
                          max_calls=int(options.get("max_calls", 48))),
        grounding=GroundingConfig(use_embeddings=bool(options.get("embed", False))),
        drop_unsupported=bool(options.get("drop_unsupported", False)),
        icd_table=options.get("icd_table"),
        codes=bool(options.get("codes", True)),
        sections=(str(section),) if section else (),
    )


class NotePipeline(Pipeline):
    """Draft a grounded note (map-reduce over transcript sections) with the wrapped model."""

    pipeline_name = "note"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)

    async def run(self, state: CaseState) -> CaseState:
        """Draft a grounded note from the transcript (MIE items: lexicon extractor, no model)."""
        start = time.perf_counter()
        sample = state.sample
        text = str(sample.metadata.get("transcript") or sample.question or "")
        if not text.strip():
            text = next((m.content for m in reversed(state.messages) if m.role == "user"), "")
        if sample.metadata.get("task") == "mie_zh":
            from medsage.notes.mie import extract_labels, parse_dialogue

            labels = extract_labels(parse_dialogue(text), sample.metadata.get("mie_ontology"))
            out = ModelOutput(text="\n".join(labels), model=self.name, latency_s=time.perf_counter() - start,
                              extras={"strategy": "lexicon+rules"})
            return state.evolve(output=out)
        from medsage.errors import DataError

        try:
            transcript = transcript_from_text(text, lang=str(self.options.get("lang", "auto")))
            note = await make_note(transcript, self.model, note_options(self.options, sample.metadata))
        except DataError as exc:
            out = ModelOutput(model=self.name, error=str(exc), latency_s=time.perf_counter() - start)
            return state.evolve(output=out)
        st = note.stats
        usage = Usage(int(st.get("prompt_tokens", 0)), int(st.get("completion_tokens", 0)))
        out = ModelOutput(text=note.plain_text(), model=self.name, usage=usage,
                          latency_s=time.perf_counter() - start,
                          extras={"note": note.to_dict(), "findings": list(note.safety.get("findings", []))})
        trace = ({"stage": "note", "model_calls": st.get("model_calls"), "seconds": st.get("total_seconds"),
                  "warnings": note.warnings},)
        state = replace(state, output=out, trace=state.trace + trace)
        return carry(state, text=text, mark_text=False)
