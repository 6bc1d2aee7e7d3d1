"""Opening a knowledge base and searching it (bm25, dense or hybrid, with filters).

:class:`KnowledgeBase` opens the store its URI names (see :mod:`medsage.kb.backend`):
a folder is the embedded store implemented here; a Milvus URI returns a
:class:`medsage.kb.milvus.MilvusKB`, which has the same ``search`` / ``stats`` /
``has_dense``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.kb import store
from medsage.kb.backend import (
    MAX_DENSE_QUERY_CHARS,
    MAX_K,
    MAX_QUERY_CHARS,
    MODES,
    Filters,
    check_args,
    fused_search,
    is_milvus_uri,
)
from medsage.kb.backend import clean_query as _clean
from medsage.kb.chunktable import ChunkTable
from medsage.kb.crosslingual import english_for
from medsage.kb.types import Chunk, Hit
from medsage.registry import kb_backends

__all__ = ["MAX_DENSE_QUERY_CHARS", "MAX_K", "MAX_QUERY_CHARS", "MODES", "KnowledgeBase", "clean_query"]
MEDIAN_SAMPLE = 4096  # rows per language for the median cosine when searching through ANN
EXACT_SUBSET = 20_000  # a filter leaving fewer rows than this is searched exactly
log = logging.getLogger(__name__)


def clean_query(query: str) -> tuple[str, bool]:
    """Strip ``query`` and cut it to :data:`MAX_QUERY_CHARS`; returns (query, was_cut).

    Raises:
        DataError: for an empty query.
    """
    text, cut = _clean(query)
    if cut:
        log.warning("query of %d characters cut to the first %d", len(" ".join(query.split())), MAX_QUERY_CHARS)
    return text, cut


def _topk(scores: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The ``k`` best entries of ``scores`` (row ids from ``rows`` when given), best first."""
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    top = top[np.argsort(-scores[top], kind="stable")]
    ids = top if rows is None else rows[top]
    return [(int(i), float(scores[t])) for i, t in zip(ids, top, strict=True) if np.isfinite(scores[t])]


class KnowledgeBase:
    """A read-only view of the knowledge base at ``path`` (a folder or a Milvus URI).

    Raises:
        DataError: when ``path`` is missing, not a knowledge base, or half-written.
    """

    def __new__(cls, path: str | Path) -> Any:
        """For a Milvus URI the Milvus store (through ``kb_backends``), else a folder KB."""
        if cls is KnowledgeBase and is_milvus_uri(path):
            # the Milvus store needs the optional ``milvus`` extra: loaded only here, by name
            return kb_backends.get("milvus")(str(path))
        return super().__new__(cls)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.uri = str(path)
        self.manifest = store.read_manifest(self.path)
        self.gen = self.path / str(self.manifest["generation"])
        try:
            self.chunks: ChunkTable = ChunkTable(self.gen)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise DataError(f"knowledge base {self.path}: damaged chunks.jsonl ({exc}); rebuild it") from exc
        if len(self.chunks) != self.manifest.get("chunks"):
            raise DataError(f"knowledge base {self.path} is half-written: chunk count differs from manifest")
        self._cos: tuple[bytes, np.ndarray] | None = None
        self._masks: dict[Filters, np.ndarray | None] = {}

    @property
    def has_dense(self) -> bool:
        """Whether the KB was built with embeddings (the manifest's ``dense``)."""
        return bool(self.manifest.get("dense"))

    @cached_property
    def sparse(self) -> Any:
        """The BM25 index of the current generation, loaded on first use."""
        from medsage.kb.sparse import SparseIndex

        return SparseIndex.load(self.gen / "bm25", len(self.chunks))

    @cached_property
    def dense(self) -> Any:
        """The embedding matrix of the current generation, loaded on first use.

        Raises:
            DataError: The KB was built without embeddings.
        """
        from medsage.kb.dense import DenseIndex

        if not self.has_dense:
            raise DataError(f"knowledge base {self.path} was built without embeddings; use --mode bm25 or rebuild")
        return DenseIndex.load(self.gen / "dense.npy")

    @cached_property
    def static_table(self) -> Any:
        """The word table of a KB built with ``--embedder static`` (None otherwise), loaded on first use."""
        from medsage.kb.static import NAME, StaticTable, embedder_of

        return StaticTable.load(self.gen) if self.has_dense and embedder_of(self.manifest) == NAME else None

    def embed_query(self, text: str) -> np.ndarray:
        """``text`` as a query vector of this KB's embedder (e5, or its static word table)."""
        table = self.static_table
        if table is not None:
            vec: np.ndarray = table.embed([text])[0]
            return vec
        from medsage.embed import embed_query

        return embed_query(text)

    @cached_property
    def ann(self) -> Any:
        """The per-language HNSW indexes, or None when this KB is searched exactly."""
        if not self.has_dense or not self.manifest.get("ann"):
            return None
        from medsage.kb.ann import DIRNAME, AnnIndexes

        return AnnIndexes(self.gen / DIRNAME, self.languages())

    # -- the Backend primitives (see medsage.kb.backend) ---------------------------------
    def languages(self) -> list[str]:
        """The languages present, in code order."""
        present = np.bincount(self.chunks.codes["language"], minlength=len(self.chunks.names["language"]))
        return [name for name, n in zip(self.chunks.names["language"], present, strict=True) if n]

    def _lang_rows(self, lang: str) -> np.ndarray:
        return self._lang_row_cache.get(lang, np.zeros(0, dtype=np.int64))

    @cached_property
    def _lang_row_cache(self) -> dict[str, np.ndarray]:
        codes = self.chunks.codes["language"]
        return {name: np.flatnonzero(codes == i) for i, name in enumerate(self.chunks.names["language"])}

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean row mask of ``filters`` (None when nothing is filtered)."""
        if not filters:
            return None
        if filters not in self._masks:
            keep = np.ones(len(self.chunks), dtype=bool)
            for field, values in (("source", filters.sources), ("language", filters.languages),
                                  ("licence", filters.licences)):
                if values:
                    keep &= self.chunks.rows_where(field, values)
            self._masks = {**self._masks, filters: keep} if len(self._masks) < 64 else {filters: keep}
        return self._masks[filters]

    def _all_cosines(self, qvec: np.ndarray) -> np.ndarray:
        key = qvec.tobytes()
        cached = self._cos
        if cached is not None and cached[0] == key:
            return cached[1]
        cos = self.dense.scores(qvec)
        self._cos = (key, cos)
        return cos

    def sparse_candidates(self, query: str, depth: int, filters: Filters) -> list[tuple[int, float]]:
        """BM25 (row, score) pairs, best first."""
        ranked: list[tuple[int, float]] = self.sparse.search(query, depth, self.mask(filters))
        return ranked

    def dense_candidates(self, qvec: np.ndarray, language: str, depth: int,
                         filters: Filters) -> list[tuple[int, float]]:
        """(row, cosine) pairs among ``language`` chunks that pass ``filters``, best first."""
        rows = self._lang_rows(language)
        mask = self.mask(filters)
        if mask is not None:
            rows = rows[mask[rows]]
        if rows.size == 0:
            return []
        if self.ann is None:
            return _topk(self._all_cosines(qvec)[rows], depth, rows)
        if rows.size <= EXACT_SUBSET:
            return _topk(self.cosines(qvec, rows), depth, rows)
        share = rows.size / max(1, self._lang_rows(language).size)
        want = min(int(depth / share * 1.5) + 8, MAX_K * 4)
        found = self.ann.search(qvec, language, want)
        if mask is not None:
            found = [(i, s) for i, s in found if mask[i]]
        if len(found) < min(depth, rows.size) and want < rows.size:  # the filter was too narrow for ANN
            found = self.ann.search(qvec, language, min(rows.size, MAX_K * 16))
            found = [(i, s) for i, s in found if mask is None or mask[i]]
        return found[:depth]

    def language_median(self, qvec: np.ndarray, language: str) -> float:
        """Median cosine of ``qvec`` with ``language`` chunks (a fixed sample when using ANN)."""
        rows = self._lang_rows(language)
        if rows.size == 0:
            return 0.0
        if self.ann is None:
            return float(np.median(self._all_cosines(qvec)[rows]))
        return float(np.median(self._median_vectors(language) @ qvec.astype(np.float32)))

    def _median_vectors(self, language: str) -> np.ndarray:
        """The fixed sample's vectors as float32, read once per language.

        Gathering 4,096 scattered rows of a memory-mapped million-row matrix for every
        query took most of the file into the process (see ``DenseIndex.read_rows``).
        """
        cache = self.__dict__.setdefault("_sample_vectors", {})
        if language not in cache:
            rows = self._median_sample(language)
            cache[language] = self.dense.read_rows(rows)
        block: np.ndarray = cache[language]
        return block

    def _median_sample(self, language: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_samples", {})
        if language not in cache:
            rows = self._lang_rows(language)
            if rows.size > MEDIAN_SAMPLE:
                rows = np.sort(np.random.default_rng(0).choice(rows, MEDIAN_SAMPLE, replace=False))
            cache[language] = rows
        sample: np.ndarray = cache[language]
        return sample

    def cosines(self, qvec: np.ndarray, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Cosine of ``qvec`` with the chunks at ``rows``."""
        idx = np.asarray(rows, dtype=np.int64)
        if self.ann is None:
            return self._all_cosines(qvec)[idx]
        order = np.argsort(idx)
        block = self.dense.read_rows(idx[order]) @ qvec.astype(np.float32)
        out = np.empty(idx.size, dtype=np.float32)
        out[order] = block
        return out

    def chunks_of(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks at ``rows``."""
        return [self.chunks[int(i)] for i in rows]

    # -- the public API ------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        sources: Iterable[str] | None = None,
        languages: Iterable[str] | None = None,
        depth: int = 50,
        licences: Iterable[str] | None = None,
        translate: bool | str = True,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``.

        Args:
            query: Free text in any language (cut to :data:`MAX_QUERY_CHARS`).
            k: Number of hits (1 to :data:`MAX_K`).
            mode: ``bm25``, ``dense`` or ``hybrid`` (reciprocal-rank fusion of BM25 and the
                dense ranking by margin over the language median, see :class:`Hit`).
            sources: Keep only chunks of these source kinds (``medquad``, ``docs`` …).
            languages: Keep only chunks in these languages (``en``, ``zh``).
            depth: How many candidates each retriever contributes to the fusion.
            licences: Keep only chunks under these licences.
            translate: For a Chinese query on a KB with English chunks, also search with the
                English rendering of its medical terms (:mod:`medsage.kb.crosslingual`);
                False turns that off, a string is an English translation of ``query`` made
                elsewhere (e.g. by a model) to use instead.

        Raises:
            DataError: for an empty query or a knowledge base without embeddings in dense mode.
            SpecError: for an unknown mode or a bad ``k``.
        """
        check_args(mode, k)
        text, _ = clean_query(query)
        if mode == "dense" and not self.has_dense:
            self.dense  # noqa: B018 - raises the DataError that explains it
        english = english_for(text, self.languages(), translate)
        return fused_search(self, text, k, mode, Filters.of(sources, languages, licences), depth, english)

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
            "backend": "embedded",
            "generation": self.manifest["generation"],
            "updated": self.manifest.get("updated"),
            "documents": len({d for ids in docs.values() for d in ids}),
            "chunks": len(self.chunks),
            "by_source": {s: {"documents": len(docs[s]), "chunks": n} for s, n in sorted(by_source.items())},
            "by_language": dict(sorted(by_lang.items())),
            "dense": self.manifest.get("dense"),
            "ann": self.manifest.get("ann"),
            "sources": self.manifest.get("sources", []),
            "bytes": sum(int(v) for v in files.values()),
        }
