"""The dense index: multilingual-e5-small embeddings (made by :mod:`medsage.embed`).

Passages are embedded with e5's ``passage: `` prefix and queries with ``query: ``;
the model is multilingual, so a Chinese query finds English passages. Vectors are
stored L2-normalised as float16 on disk, held as float32 in memory once loaded
(1.5 KB per chunk), and searched exactly (one matrix-vector product).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class DenseIndex:
    """Normalised embeddings, row ``i`` = chunk ``i``."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self._f32: np.ndarray | None = None

    @property
    def f32(self) -> np.ndarray:
        """The matrix as float32 in memory, converted once.

        numpy's float16 arithmetic is slow: a scan of 100k float16 rows takes ~0.7 s, of float32
        rows ~20 ms.
        """
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

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` (in that order) as float32, read from the file, not the map.

        A store searched through its ANN index needs a few scattered rows per query.
        Gathering them through the memory map makes the kernel map the pages around each
        row too, and a million-row store ended up with most of its vectors resident; reading
        the rows with ``pread`` keeps them out of the process.
        """
        m = self.matrix
        if not isinstance(m, np.memmap) or not m.filename:
            return np.asarray(m[rows], dtype=np.float32)
        width = m.shape[1] * m.dtype.itemsize
        out = np.empty((len(rows), m.shape[1]), dtype=m.dtype)
        with open(m.filename, "rb", buffering=0) as fh:
            fd = fh.fileno()
            for j, r in enumerate(rows):
                out[j] = np.frombuffer(os.pread(fd, width, m.offset + int(r) * width), dtype=m.dtype)
        return out.astype(np.float32)

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
