"""``medsage ask``: a cited answer from the knowledge base."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from medsage.cli.common import model_option, model_opts_option
from medsage.types import DISCLAIMER


async def _ask(question: str, model_spec: str, model_options: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    from medsage.kb.search import clean_query
    from medsage.lang import detect_language
    from medsage.models.base import get_model
    from medsage.pipelines.rag import RagPipeline
    from medsage.types import CaseState, GenerateConfig, Message, Sample

    text, _ = clean_query(question)
    language = detect_language(text)
    pipeline = RagPipeline(get_model(model_spec, model_options), options)
    try:
        sample = Sample(id="ask", question=text, metadata={"language": language})
        state = CaseState(sample, (Message("user", text),), GenerateConfig(max_tokens=options.pop("max_tokens", 512)))
        state = await pipeline.run(state)
    finally:
        await pipeline.aclose()
    out = state.output
    if out is None or out.error:
        from medsage.errors import ModelError

        raise ModelError(f"the model failed: {out.error if out else 'no output'}")
    return {
        "question": text,
        "language": language,
        "model": pipeline.name,
        "answer": out.text,
        "covered": out.extras.get("covered", True),
        "citations": [{k: c[k] for k in ("n", "doc_id", "title", "url", "snippet", "source")} for c in out.extras.get("citations", [])],
        "unsupported": [{"sentence": u["sentence"], "cited": u["cited"], "reason": u["reason"]} for u in out.extras.get("unsupported", [])],
        "repeats_removed": int(out.extras.get("repeats_removed", 0)),
        # the question's own triage and findings, as `medsage safety check` reports them
        "safety": out.extras.get("input_safety"),
        "disclaimer": DISCLAIMER,
    }


@click.command()
@click.argument("question")
@click.option("--kb", "kb_dir", required=True, type=click.Path(), help="Knowledge base folder.")
@model_option
@model_opts_option
@click.option("-k", "k", type=int, default=5, show_default=True, help="Evidence chunks to retrieve.")
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default="hybrid", show_default=True)
@click.option("--rerank", is_flag=True, help="Let the model rerank the retrieved chunks.")
@click.option("--grader", default=None, help="Model spec that checks each cited sentence (entailment).")
@click.option("--source", "sources", multiple=True, help="Only this source kind (repeatable).")
@click.option("--lang", "languages", multiple=True, help="Only evidence in this language.")
@click.option("--json", "as_json", is_flag=True)
def ask(question: str, kb_dir: str, model: str, model_opts: tuple[str, ...], k: int, mode: str,
        rerank: bool, grader: str | None, sources: tuple[str, ...], languages: tuple[str, ...], as_json: bool) -> None:
    """Answer QUESTION from the knowledge base, with numbered, verified citations."""
    from medsage.models.base import parse_options

    options: dict[str, Any] = {"kb": kb_dir, "k": k, "mode": mode, "rerank": rerank, "style": "answer",
                               "sources": ",".join(sources), "languages": ",".join(languages)}
    if grader:
        options["grader"] = grader
    result = asyncio.run(_ask(question, model, parse_options(model_opts), options))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    click.echo(result["answer"])
    if result["citations"]:
        click.echo("")
        for c in result["citations"]:
            click.echo(f"[{c['n']}] {c['title']} — {c['url']}")
            click.echo(f"    {c['snippet'][:160]}")
    for u in result["unsupported"]:
        click.echo(f"unsupported: {u['sentence']} ({u['reason']})", err=True)
    click.echo(f"\n{result['disclaimer']}")
