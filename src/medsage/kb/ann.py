"""Approximate nearest-neighbour indexes of the embedded store (``usearch`` HNSW).

One index per language (``ann/en.usearch``, ``ann/zh.usearch`` …), keyed by chunk row,
so the per-language ranking that the margin needs (see :mod:`medsage.kb.backend`) is
one graph search per language. Indexes are opened as read-only memory-mapped views:
only the graph nodes a query visits are read from disk.

Small knowledge bases (below :data:`ANN_MIN_CHUNKS` chunks) are searched exactly. With
the parameters below, recall@10 against exact search was 0.9995 on 100k clustered
synthetic vectors of intrinsic dimension 64 and 0.15 on uniform random ones (the worst
case); see ``benchmarks/kb/ann_recall.py`` and its README section (real-embedding recall
is measured with ``--from-kb``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError, MissingExtraError

ANN_MIN_CHUNKS = 50_000
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128
DIRNAME = "ann"
log = logging.getLogger(__name__)


def _usearch() -> Any:
    try:
        from usearch.index import Index
    except ImportError as exc:
        raise MissingExtraError("usearch", "kb", "the ANN index of large knowledge bases") from exc
    return Index


def wants_ann(n_chunks: int, ann: str = "auto") -> bool:
    """Whether a build of ``n_chunks`` writes ANN indexes (``ann``: auto, on, off)."""
    if ann == "on":
        return True
    if ann == "off":
        return False
    return n_chunks >= int(os.environ.get("MEDSAGE_ANN_MIN_CHUNKS", ANN_MIN_CHUNKS))


def build_ann(folder: Path, matrix: np.ndarray, languages: np.ndarray, names: list[str],
              progress: Callable[[int], None] | None = None, batch: int = 20_000) -> dict[str, int]:
    """Write one HNSW index per language under ``folder``; returns rows per language.

    Args:
        folder: Where the ``.usearch`` files go (created).
        matrix: (n, dim) L2-normalised vectors (float16 or float32; may be memory-mapped).
        languages: Per row, the index into ``names`` of its language.
        names: Language codes.
        progress: Called with the number of rows indexed so far.
        batch: Rows converted to float32 at once (bounds memory).
    """
    index_cls = _usearch()
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    done = 0
    for code, lang in enumerate(names):
        rows = np.flatnonzero(languages == code)
        if rows.size == 0:
            continue
        index = index_cls(ndim=matrix.shape[1], metric="cos", dtype="f16", connectivity=CONNECTIVITY,
                          expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
        for start in range(0, rows.size, batch):
            part = rows[start:start + batch]
            index.add(part.astype(np.uint64), np.asarray(matrix[part], dtype=np.float32), threads=0)
            done += part.size
            if progress:
                progress(done)
        index.save(str(folder / f"{lang}.usearch"))
        counts[lang] = int(rows.size)
    return counts


class AnnIndexes:
    """The per-language HNSW indexes of one generation, opened lazily as views."""

    def __init__(self, folder: Path, languages: list[str]) -> None:
        self.folder = folder
        self.languages = languages
        self._open: dict[str, Any] = {}

    def _index(self, lang: str) -> Any | None:
        if lang not in self._open:
            path = self.folder / f"{lang}.usearch"
            if not path.is_file():
                self._open[lang] = None
            else:
                try:
                    index = _usearch().restore(str(path), view=True)
                except (OSError, RuntimeError, ValueError) as exc:
                    raise DataError(f"damaged ANN index {path} ({exc}); rebuild the knowledge base") from exc
                if index is None:
                    raise DataError(f"unreadable ANN index {path}; rebuild the knowledge base")
                index.expansion_search = EXPANSION_SEARCH
                self._open[lang] = index
        return self._open[lang]

    def search(self, qvec: np.ndarray, lang: str, count: int) -> list[tuple[int, float]]:
        """Up to ``count`` (row, cosine) pairs of ``lang``, best first."""
        index = self._index(lang)
        if index is None or count <= 0:
            return []
        index.expansion_search = max(EXPANSION_SEARCH, count)
        found = index.search(np.asarray(qvec, dtype=np.float32), count, threads=1)
        return [(int(key), float(1.0 - dist)) for key, dist in zip(found.keys, found.distances, strict=True)]
