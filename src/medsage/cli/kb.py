"""``medsage kb``: build, update, inspect and search a knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from medsage.errors import DataError
from medsage.kb.ingest import DENSE_CHARS


def _progress() -> Any:
    """Rate and ETA of each build stage (a bar on a terminal, a line every ~10 s or 5% otherwise)."""
    from medsage.progress import StageProgress

    return StageProgress("kb", unit="chunks", units={"embed words": "words"})


def _report(report: Any, as_json: bool, kb_dir: Path | str) -> None:
    for problem in report.problems[:50]:
        click.echo(f"skipped: {problem}", err=True)
    if len(report.problems) > 50:
        click.echo(f"skipped: … and {len(report.problems) - 50} more", err=True)
    if as_json:
        click.echo(json.dumps(report.to_dict() | {"kb": str(kb_dir)}, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"{kb_dir}: {report.chunks} chunks in the knowledge base; {report.documents} documents read "
        f"(+{report.added} / -{report.removed} chunks, {report.embedded} embedded, "
        f"{len(report.problems)} inputs skipped) in {report.seconds.get('total', 0):.1f}s"
    )


@click.group()
def kb() -> None:
    """Knowledge base: ingest MedQuAD, FDA labels and your own documents; search them.

    Sources are KIND:PATH with KIND one of medquad, fda_labels, docs
    (Markdown, text, HTML, PDF; English or Chinese).

    A knowledge base (--out, --kb) is a folder (the embedded store), a Milvus Lite
    file (kb.db, milvus:kb.db#name) or a Milvus server (http://host:19530#name).
    """


@kb.command()
@click.option("--out", "out", required=True,
              help="Where to write the KB: a folder, a Milvus Lite file (kb.db) or http://host:19530#name.")
@click.argument("sources", nargs=-1, required=True)
@click.option("--no-dense", is_flag=True, help="BM25 only: skip the embeddings (much faster to build).")
@click.option("--dense-chars", type=int, default=DENSE_CHARS, show_default=True,
              help="Characters of each chunk (title + section + text) that are embedded.")
@click.option("--ann", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Embedded store: write an HNSW index (auto: from 50,000 chunks; smaller KBs are searched exactly).")
@click.option("--embedder", type=click.Choice(["e5", "static", "mapped"]), default="e5", show_default=True,
              help="e5: embed each chunk. static: embed each distinct word once and pool the word "
                   "vectors (faster to build; folder KBs only; lower recall on paraphrased and "
                   "cross-lingual questions, and its margins do not fit the rag coverage gate). "
                   "mapped: static vectors mapped into e5's space by a map fitted on 1,024 chunks "
                   "embedded by e5; queries by e5 (folder KBs only). benchmarks/kb/README.md §6.")
@click.option("--remove-pc", is_flag=True,
              help="With --embedder static: remove the corpus's first principal component (SIF).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def build(out: str, sources: tuple[str, ...], no_dense: bool, dense_chars: int, ann: str, embedder: str,
          remove_pc: bool, as_json: bool) -> None:
    """Build a knowledge base in OUT from SOURCES (replaces a KB already there)."""
    from medsage.kb.backend import is_milvus_uri
    from medsage.kb.build import build as do_build

    kwargs: dict[str, Any] = {} if is_milvus_uri(out) else {"ann": ann}
    if embedder != "e5" or remove_pc:
        kwargs.update(embedder=embedder, remove_pc=remove_pc)
    with _progress() as progress:
        report = do_build(out, list(sources), dense=not no_dense, dense_chars=dense_chars, progress=progress,
                          **kwargs)
    _report(report, as_json, out)


@kb.command()
@click.option("--kb", "kb_dir", required=True, help="A KB folder, Milvus Lite file or Milvus URI.")
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def add(kb_dir: str, sources: tuple[str, ...], as_json: bool) -> None:
    """Add SOURCES to a KB; documents with an id already present are replaced."""
    from medsage.kb.build import add as do_add

    with _progress() as progress:
        report = do_add(kb_dir, list(sources), progress=progress)
    _report(report, as_json, kb_dir)


@kb.command()
@click.option("--kb", "kb_dir", required=True, help="A KB folder, Milvus Lite file or Milvus URI.")
@click.option("--doc", "docs", multiple=True, help="Document id to remove (repeatable).")
@click.option("--source", "kinds", multiple=True, help="Remove every document of this source kind.")
@click.option("--prefix", "prefixes", multiple=True, help="Remove documents whose id starts with this.")
@click.option("--json", "as_json", is_flag=True)
def remove(kb_dir: str, docs: tuple[str, ...], kinds: tuple[str, ...], prefixes: tuple[str, ...], as_json: bool) -> None:
    """Remove documents from a KB."""
    from medsage.kb.build import remove as do_remove

    if not (docs or kinds or prefixes):
        raise DataError("say what to remove: --doc ID, --source KIND or --prefix TEXT")
    _report(do_remove(kb_dir, docs, kinds, prefixes), as_json, kb_dir)


@kb.command()
@click.option("--kb", "kb_dir", required=True, help="A KB folder, Milvus Lite file or Milvus URI.")
@click.option("--json", "as_json", is_flag=True)
def stats(kb_dir: str, as_json: bool) -> None:
    """Summarise a KB: documents and chunks by source and language, size, settings."""
    from medsage.kb.search import KnowledgeBase

    info = KnowledgeBase(kb_dir).stats()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    click.echo(f"{info['path']}  ({info['generation']}, updated {info['updated']})")
    size = f", {info['bytes'] / 1e6:.1f} MB on disk" if info.get("bytes") else ""
    click.echo(f"  {info.get('backend', 'embedded')} store: {info['documents']} documents, {info['chunks']} chunks{size}")
    for src, c in info["by_source"].items():
        click.echo(f"  source {src}: {c['documents']} documents, {c['chunks']} chunks")
    click.echo("  languages: " + ", ".join(f"{k} {v}" for k, v in info["by_language"].items()))
    dense = info["dense"]
    click.echo(f"  dense: {dense['model']}, first {dense['dense_chars']} chars embedded" if dense else "  dense: none (BM25 only)")
    ann = info.get("ann")
    click.echo(f"  ANN: {ann.get('library')} HNSW" if ann else "  ANN: none (searched exactly)")


@kb.command()
@click.argument("query")
@click.option("--kb", "kb_dir", required=True, help="A KB folder, Milvus Lite file or Milvus URI.")
@click.option("-k", "k", type=int, default=10, show_default=True)
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default="hybrid", show_default=True)
@click.option("--source", "sources", multiple=True, help="Only this source kind (repeatable).")
@click.option("--lang", "languages", multiple=True, help="Only chunks in this language: en, zh.")
@click.option("--licence", "licences", multiple=True, help="Only chunks under this licence (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print hits as a JSON list.")
def search(query: str, kb_dir: str, k: int, mode: str, sources: tuple[str, ...], languages: tuple[str, ...],
           licences: tuple[str, ...], as_json: bool) -> None:
    """Search a KB for QUERY."""
    from medsage.kb.search import MAX_QUERY_CHARS, KnowledgeBase

    base = KnowledgeBase(kb_dir)
    if len(query) > MAX_QUERY_CHARS:
        click.echo(f"note: query cut to its first {MAX_QUERY_CHARS} characters", err=True)
    if mode == "hybrid" and not base.has_dense:
        click.echo("note: this KB is BM25 only (built with --no-dense): hybrid search falls back to BM25", err=True)
    hits = base.search(query, k=k, mode=mode, sources=sources, languages=languages, licences=licences)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo("no matches")
    for h in hits:
        c = h.chunk
        click.echo(f"{h.rank:>3}. {h.score:.4f}  {c.title} — {c.section}  [{c.doc_id}, {c.source}, {c.language}]")
        click.echo(f"     {c.url}")
        click.echo("     " + " ".join(c.text.split())[:200])
