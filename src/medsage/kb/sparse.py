"""The sparse index: BM25 (``bm25s``) over jieba-segmented / stemmed tokens."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from medsage.kb.text import tokenize

log = logging.getLogger(__name__)


PARALLEL_FROM = 5000  # texts; below this, starting processes (and jieba in each) costs more


def tokenize_many(texts: list[str], workers: int | None = None) -> list[list[str]]:
    """:func:`tokenize` each text, in worker processes for large corpora (same tokens, same order).

    Args:
        texts: The texts.
        workers: Processes (default: :func:`medsage.embed.default_workers`, one per core).
    """
    from medsage.embed import default_workers

    n = workers or default_workers()
    if n <= 1 or len(texts) < PARALLEL_FROM:
        return [tokenize(t) for t in texts]
    with ProcessPoolExecutor(n, mp_context=get_context("spawn")) as pool:
        return list(pool.map(tokenize, texts, chunksize=256))


class SparseIndex:
    """A BM25 index over chunk texts, row ``i`` = chunk ``i``."""

    def __init__(self, retriever: Any, size: int) -> None:
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> SparseIndex:
        """Tokenise and index ``texts``."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        tokens = [t or ["<empty>"] for t in tokenize_many(texts)]
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        """Save under ``folder``."""
        self.retriever.save(str(folder))

    @classmethod
    def load(cls, folder: Path, size: int) -> SparseIndex:
        """Load from ``folder`` (memory-mapped)."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=True), size)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top ``k`` rows with a positive BM25 score, best first.

        ``mask`` (bool per row) keeps only rows where it is True.
        """
        vocab = self.retriever.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens or self.size == 0:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
