"""Reading sources into chunks: the first step of every knowledge-base build (any store)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from medsage.errors import DataError
from medsage.kb.adapters import read_source
from medsage.kb.chunking import chunk_document
from medsage.kb.types import BuildReport, Chunk

# Characters of each chunk embedded by default: the smallest setting that kept held-out
# retrieval quality (benchmarks/kb/README.md §6); embedding time grows with it.
DENSE_CHARS = 128
# What stores whose manifest does not record the setting were built with.
LEGACY_DENSE_CHARS = 400


def dense_text(chunk: Chunk, dense_chars: int) -> str:
    """The text embedded for ``chunk``: title, section and body, cut to ``dense_chars``."""
    return chunk.index_text[:dense_chars]


def ingest(sources: Iterable[str], report: BuildReport, max_chars: dict[str, int] | None = None) -> list[Chunk]:
    """Read and chunk all ``sources`` (``kind:path``); skipped inputs go to ``report.problems``."""
    chunks: list[Chunk] = []
    seen: dict[str, str] = {}
    for spec in sources:
        for doc in read_source(spec, report.problems):
            if doc.doc_id in seen:
                report.problems.append(f"{spec}: duplicate document id {doc.doc_id} (also in {seen[doc.doc_id]}), later copy skipped")
                continue
            seen[doc.doc_id] = spec
            doc_chunks = chunk_document(doc, max_chars)
            if not doc_chunks:
                report.problems.append(f"{doc.url or doc.doc_id}: empty document, skipped")
                continue
            report.documents += 1
            chunks.extend(doc_chunks)
    return chunks


def problems_note(report: BuildReport) -> str:
    """The first few skipped inputs as `` (a; b; c …)``, for an error message ("" if none)."""
    if not report.problems:
        return ""
    return " (" + "; ".join(report.problems[:3]) + (" …" if len(report.problems) > 3 else "") + ")"


def read_sources(sources: list[str], max_chars: dict[str, int] | None = None) -> tuple[BuildReport, list[Chunk]]:
    """A new build report and the chunks of ``sources``, timed as the ``ingest`` stage.

    Raises:
        DataError: when no document could be read (the problems are in the message).
    """
    report = BuildReport()
    t0 = time.perf_counter()
    chunks = ingest(sources, report, max_chars)
    report.seconds["ingest"] = round(time.perf_counter() - t0, 3)
    if not chunks:
        raise DataError("no documents could be read from " + ", ".join(sources) + problems_note(report))
    return report, chunks
