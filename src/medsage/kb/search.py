"""Opening a knowledge base and searching it (bm25, dense or hybrid, with filters)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError, SpecError
from medsage.kb import store
from medsage.kb.hybrid import rrf
from medsage.kb.types import Chunk, Hit

MODES = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 2000
MAX_DENSE_QUERY_CHARS = 1000  # the embedder reads at most 512 tokens anyway
MAX_K = 1000
log = logging.getLogger(__name__)


def clean_query(query: str) -> tuple[str, bool]:
    """Strip ``query`` and cut it to :data:`MAX_QUERY_CHARS`; returns (query, was_cut).

    Raises:
        DataError: for an empty query.
    """
    text = " ".join((query or "").split())
    if not text:
        raise DataError("empty query: give some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        log.warning("query of %d characters cut to the first %d", len(text), MAX_QUERY_CHARS)
        return text[:MAX_QUERY_CHARS], True
    return text, False


def _topk(scores: np.ndarray, k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
    """The ``k`` best rows of ``scores`` (where ``mask`` allows), best first."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if np.isfinite(scores[i])]


class KnowledgeBase:
    """A read-only view of the knowledge base stored at ``path``.

    Raises:
        DataError: when ``path`` is missing, not a knowledge base, or half-written.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.manifest = store.read_manifest(self.path)
        self.gen = self.path / str(self.manifest["generation"])
        try:
            self.chunks: list[Chunk] = store.read_chunks(self.gen)
        except (OSError, ValueError, TypeError) as exc:
            raise DataError(f"knowledge base {self.path}: damaged chunks.jsonl ({exc}); rebuild it") from exc
        if len(self.chunks) != self.manifest.get("chunks"):
            raise DataError(f"knowledge base {self.path} is half-written: chunk count differs from manifest")

    @property
    def has_dense(self) -> bool:
        return bool(self.manifest.get("dense"))

    @cached_property
    def sparse(self) -> Any:
        from medsage.kb.sparse import SparseIndex

        return SparseIndex.load(self.gen / "bm25", len(self.chunks))

    @cached_property
    def dense(self) -> Any:
        from medsage.kb.dense import DenseIndex

        if not self.has_dense:
            raise DataError(f"knowledge base {self.path} was built without embeddings; use --mode bm25 or rebuild")
        return DenseIndex.load(self.gen / "dense.npy")

    def _mask(self, sources: Iterable[str] | None, languages: Iterable[str] | None) -> np.ndarray | None:
        src = {s for s in (sources or ()) if s}
        lang = {s for s in (languages or ()) if s}
        if not src and not lang:
            return None
        return np.array([(not src or c.source in src) and (not lang or c.language in lang) for c in self.chunks])

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        sources: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        depth: int = 50,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``.

        Args:
            query: Free text in any language (cut to :data:`MAX_QUERY_CHARS`).
            k: Number of hits (1 to :data:`MAX_K`).
            mode: ``bm25``, ``dense`` or ``hybrid`` (reciprocal-rank fusion of BM25 and the dense ranking by margin over the language median, see :class:`Hit`).
            sources: Keep only chunks of these source kinds (``medquad``, ``docs`` …).
            languages: Keep only chunks in these languages (``en``, ``zh``).
            depth: How many candidates each retriever contributes to the fusion.

        Raises:
            DataError: for an empty query or a knowledge base without embeddings in dense mode.
            SpecError: for an unknown mode or a bad ``k``.
        """
        if mode not in MODES:
            raise SpecError(f"unknown search mode '{mode}' (known: {', '.join(MODES)})")
        if not 1 <= k <= MAX_K:
            raise SpecError(f"k must be between 1 and {MAX_K}, got {k}")
        text, _ = clean_query(query)
        mask = self._mask(sources, languages)
        if mode == "hybrid" and not self.has_dense:
            mode = "bm25"
        if mode == "bm25":
            ranked = self.sparse.search(text, k, mask)
            return [Hit(self.chunks[i], s, r, bm25=s) for r, (i, s) in enumerate(ranked, 1)]
        from medsage.kb.dense import embed_query

        qvec = embed_query(text[:MAX_DENSE_QUERY_CHARS])
        cos = self.dense.scores(qvec)
        margin = cos - self._language_medians(cos)
        if mode == "dense":
            ranked = _topk(cos, k, mask)
            return [Hit(self.chunks[i], s, r, dense=s, margin=float(margin[i])) for r, (i, s) in enumerate(ranked, 1)]
        depth = max(depth, k)
        sparse = self.sparse.search(text, depth, mask)
        # multilingual-e5 scores same-language pairs higher whatever the topic; ranking by
        # the margin over the language's median removes that offset, so a Chinese question
        # can reach English sources (and the reverse).
        lists = [[i for i, _ in _topk(margin, depth, mask)]]
        fused = rrf([*lists, [i for i, _ in sparse]])[:k]
        bm25 = dict(sparse)
        return [
            Hit(self.chunks[i], s, r, bm25=bm25.get(i, 0.0), dense=float(cos[i]), margin=float(margin[i]))
            for r, (i, s) in enumerate(fused, 1)
        ]

    @cached_property
    def _languages(self) -> np.ndarray:
        return np.array([c.language for c in self.chunks])

    def _language_masks(self) -> dict[str, np.ndarray]:  # noqa: D401
        return {lang: self._languages == lang for lang in sorted(set(self._languages.tolist()))}

    def _language_medians(self, cos: np.ndarray) -> np.ndarray:
        """Per chunk, the median similarity of the query to chunks of that chunk's language."""
        out = np.zeros_like(cos)
        for lang_mask in self._language_masks().values():
            out[lang_mask] = float(np.median(cos[lang_mask]))
        return out

    def stats(self) -> dict[str, Any]:
        """Counts by source and language, sizes on disk, and the manifest's settings."""
        by_source: dict[str, int] = {}
        by_lang: dict[str, int] = {}
        docs: dict[str, set[str]] = {}
        for c in self.chunks:
            by_source[c.source] = by_source.get(c.source, 0) + 1
            by_lang[c.language] = by_lang.get(c.language, 0) + 1
            docs.setdefault(c.source, set()).add(c.doc_id)
        files = self.manifest.get("files", {})
        return {
            "path": str(self.path),
            "generation": self.manifest["generation"],
            "updated": self.manifest.get("updated"),
            "documents": len({c.doc_id for c in self.chunks}),
            "chunks": len(self.chunks),
            "by_source": {s: {"documents": len(docs[s]), "chunks": n} for s, n in sorted(by_source.items())},
            "by_language": dict(sorted(by_lang.items())),
            "dense": self.manifest.get("dense"),
            "sources": self.manifest.get("sources", []),
            "bytes": sum(int(v) for v in files.values()),
        }
