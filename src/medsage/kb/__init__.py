"""medsage's knowledge base: ingest, chunking, an on-disk store and fused retrieval.

Ingest adapters, section-aware chunking, and BM25 + multilingual dense retrieval fused by
reciprocal rank.

Typical use::

    from medsage.kb import KnowledgeBase, build
    build(Path("kb"), ["medquad:data/medquad", "docs:./guidelines"])
    hits = KnowledgeBase("kb").search("糖尿病的症状", k=5)
"""

from __future__ import annotations

from medsage.kb.build import add, build, remove
from medsage.kb.search import MODES, KnowledgeBase
from medsage.kb.types import BuildReport, Chunk, Document, Hit, Section

__all__ = ["MODES", "BuildReport", "Chunk", "Document", "Hit", "KnowledgeBase", "Section", "add", "build", "remove"]
