"""Section-respecting chunking: a chunk never spans two sections.

A section longer than the budget is split at paragraph, then sentence boundaries
(Chinese 。！？； and English . ! ?), with whitespace normalised. Ids are
``{doc_id}#{section}.{part}``, so rebuilding the same input gives the same ids.
"""

from __future__ import annotations

import re

from medsage.kb.types import Chunk, Document
from medsage.lang import detect_language

MAX_CHARS = {"en": 1500, "zh": 600}
_SENT = re.compile(r"(?<=[。！？；!?])|(?<=\.)\s+(?=[A-Z\"'(\[])")


def normalise(text: str) -> str:
    """Collapse runs of spaces inside lines and blank-line runs between paragraphs."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def split_text(text: str, max_chars: int) -> list[str]:
    """Split ``text`` into pieces of at most ``max_chars`` at natural boundaries."""
    if len(text) <= max_chars:
        return [text] if text else []
    units: list[str] = []
    for para in text.split("\n"):
        if len(para) <= max_chars:
            units.append(para)
            continue
        for sent in (s.strip() for s in _SENT.split(para)):
            while len(sent) > max_chars:  # one enormous "sentence": hard cut
                units.append(sent[:max_chars])
                sent = sent[max_chars:]
            if sent:
                units.append(sent)
    pieces: list[str] = []
    current = ""
    for unit in units:
        if not unit:
            continue
        joined = f"{current}\n{unit}" if current else unit
        if len(joined) <= max_chars:
            current = joined
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: Document, max_chars: dict[str, int] | None = None) -> list[Chunk]:
    """Cut ``doc`` into chunks carrying its id, title, section, source, URL, language, licence."""
    budget = max_chars or MAX_CHARS
    sample = " ".join([doc.title] + [s.text[:500] for s in doc.sections[:5]])
    language = doc.language or detect_language(sample)
    chunks: list[Chunk] = []
    for s_index, section in enumerate(doc.sections):
        text = normalise(section.text)
        heading = " ".join(section.heading.split())
        for p_index, piece in enumerate(split_text(text, budget.get(language, 1500))):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{s_index}.{p_index}",
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=heading,
                    text=piece,
                    source=doc.source,
                    url=doc.url,
                    language=language,
                    licence=doc.licence,
                )
            )
    return chunks
