"""``medsage note TRANSCRIPT``: draft a grounded clinical note from a consultation."""

from __future__ import annotations

import sys

import click

from medsage.cli.common import echo_json, model_option, model_opts_option, options, run


@click.command("note")
@click.argument("transcript", metavar="TRANSCRIPT")
@click.option("--lang", type=click.Choice(["auto", "en", "zh"]), default="auto", show_default=True,
              help="Transcript language.")
@model_option
@model_opts_option
@click.option("--template", "-t", default=None,
              help="Built-in template (soap_en, outpatient_zh, gp_en, mts_sections) or a template .json path.")
@click.option("--section", "sections", multiple=True, help="Only this template section (repeatable).")
@click.option("--strategy", type=click.Choice(["mapreduce", "extractive"]), default="mapreduce", show_default=True,
              help="mapreduce: the model drafts from transcript sections; extractive: no model, quoted turns.")
@click.option("--chunk-tokens", type=int, default=900, show_default=True, help="Transcript tokens per model call.")
@click.option("--max-calls", type=int, default=48, show_default=True, help="Upper bound on model calls per note.")
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Use embedding similarity (multilingual-e5-small) in grounding.")
@click.option("--drop-unsupported", is_flag=True, help="Remove unsupported sentences instead of flagging them.")
@click.option("--icd-table", default=None, help="Chinese ICD-10 table (.xlsx/.csv/.tsv) for Chinese codes.")
@click.option("--json", "as_json", is_flag=True, help="Print the note as JSON.")
def note(transcript: str, lang: str, model: str, model_opts: tuple[str, ...], template: str | None,
         sections: tuple[str, ...], strategy: str, chunk_tokens: int, max_calls: int, embed: bool,
         drop_unsupported: bool, icd_table: str | None, as_json: bool) -> None:
    """Draft a clinical note from TRANSCRIPT (a .txt/.json/.csv[#ID]/.TextGrid file, or - for stdin).

    Every sentence carries the transcript turns that support it; unsupported
    sentences are flagged, omitted facts listed, diagnosis codes suggested and
    medications checked by the safety layer when it is installed. Progress
    (model calls with rate and ETA, then each stage's time) goes to stderr.
    Decision support for clinicians — verify before use.
    """
    from medsage.models.base import get_model
    from medsage.notes.formats import decode_bytes, load_transcript
    from medsage.notes.generate import DraftConfig
    from medsage.notes.grounding import GroundingConfig
    from medsage.notes.render import to_markdown
    from medsage.notes.service import NoteOptions, make_note, transcript_from_text
    from medsage.progress import StageProgress

    if transcript == "-":
        tr = transcript_from_text(decode_bytes(sys.stdin.buffer.read(), "stdin"), lang=lang, source="stdin")
    else:
        tr = load_transcript(transcript, lang=lang)
    opts = NoteOptions(template=template, lang=lang,
                       draft=DraftConfig(strategy=strategy, chunk_tokens=chunk_tokens, max_calls=max_calls),
                       grounding=GroundingConfig(use_embeddings=embed), drop_unsupported=drop_unsupported,
                       icd_table=icd_table, sections=sections)

    from medsage.notes.schema import Note

    async def go(stages: StageProgress) -> Note:
        llm = None if strategy == "extractive" else get_model(model, options(model_opts))
        try:
            return await make_note(tr, llm, opts, progress=stages)
        finally:
            if llm is not None:
                await llm.aclose()

    with StageProgress("note", units={"draft": "model calls", "grounding": "sections"}, min_s=1.0) as stages:
        result = run(go(stages))
    if as_json:
        echo_json({**result.to_dict(), "transcript": tr.to_dict()})
    else:
        click.echo(to_markdown(result))
    for w in result.warnings:
        click.echo(f"medsage: note: {w}", err=True)
