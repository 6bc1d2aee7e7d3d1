"""Static word vectors mapped into e5's sentence space: ``kb build --embedder mapped``.

The static table (:mod:`medsage.kb.static`) embeds each distinct word once, which is fast,
but a bag of word vectors is not where e5 puts a passage: paraphrased questions, embedded
by e5, miss. This embedder learns where. A seeded sample of :data:`SAMPLE` chunks is
embedded by e5 itself, and a linear map from the chunks' static vectors to their e5
vectors is fitted by ridge regression on centred vectors, and every chunk's static vector
is mapped and L2-normalised — the sampled chunks too: mixing their exact e5 vectors with
mapped ones skews cosines between the two kinds and lowered natural-English recall
(benchmarks/kb/README.md §6).

Queries are embedded by e5 as in an e5 KB. The documents live in e5's space, so
cross-lingual search and the rag coverage gate work as with e5. This is the idea of
distilling a sentence encoder into pooled static vectors (model2vec and tokenlearn,
Tulkens & van Dongen, 2024), fitted here per knowledge base and in closed form.

The map is saved beside the word table as :data:`MAP_FILE` (the centring means and
the 384 × 384 matrix). ``add`` and ``remove`` refit it on the new generation; the
sampled chunks' e5 vectors come from the embedding cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medsage.kb.static import StaticTable

NAME = "mapped"
MAP_FILE = "static_map.npz"
SAMPLE = 1024  # chunks embedded by e5 to fit the map
RIDGE = 0.1  # ridge strength, as a share of the mean eigenvalue of the centred static vectors
SEED = 0
log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def fit_map(static: np.ndarray, e5: np.ndarray, ridge: float = RIDGE) -> dict[str, np.ndarray]:
    """The ridge-regression map from centred static vectors to centred e5 vectors.

    Args:
        static: ``(m, d)`` static vectors of the sampled texts.
        e5: ``(m, d)`` e5 vectors of the same texts.
        ridge: Regularisation, relative to the mean eigenvalue of the static covariance.

    Returns:
        ``w`` (d × d), ``mean_static`` and ``mean_e5`` (d each), all float32.
    """
    x = np.asarray(static, dtype=np.float64)
    y = np.asarray(e5, dtype=np.float64)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    cov = xc.T @ xc
    scale = max(float(np.trace(cov)) / cov.shape[0], 1e-12)
    w = np.linalg.solve(cov + ridge * scale * np.eye(cov.shape[0]), xc.T @ yc)
    return {"w": w.astype(np.float32), "mean_static": mx.astype(np.float32), "mean_e5": my.astype(np.float32)}


def apply_map(static: np.ndarray, fitted: dict[str, np.ndarray]) -> np.ndarray:
    """``static`` vectors mapped into e5's space and L2-normalised (a zero vector stays zero)."""
    x = np.asarray(static, dtype=np.float32)
    out = (x - fitted["mean_static"]) @ fitted["w"] + fitted["mean_e5"]
    out[~np.any(x, axis=1)] = 0.0  # a text without tokens has no dense signal, mapped or not
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 1e-12, norms, 1.0)
    return out


def sample_rows(n: int, size: int | None = None) -> np.ndarray:
    """The rows (sorted) whose texts e5 embeds to fit the map (``size`` default :data:`SAMPLE`): all, for a small KB."""
    size = SAMPLE if size is None else size
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, size, replace=False))


def write_mapped(gen: Path, texts: Sequence[str], *, progress: Progress | None = None
                 ) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Build the word table and the map of ``texts`` in generation folder ``gen``.

    Progress stages: those of the static table, then ``embed sample`` (the e5 sample).

    Returns:
        The texts' vectors (float32, row i = text i), the number of texts embedded (words
        and sampled chunks not found in the cache) and the manifest's ``static`` entry.
    """
    from medsage.embed import embed_texts

    table, static, embedded = StaticTable.build(texts, progress=progress)
    table.save(gen)
    rows = sample_rows(len(texts))
    step = (lambda k: progress("embed sample", k, len(rows))) if progress else None
    sample_e5, sampled = embed_texts([texts[i] for i in rows], progress=step)
    usable = np.any(static[rows], axis=1)
    if usable.sum() >= 2:
        fitted = fit_map(static[rows][usable], sample_e5[usable])
    else:  # every text is in the sample (a tiny KB): the map is never applied to a document
        dim = static.shape[1]
        fitted = {"w": np.eye(dim, dtype=np.float32), "mean_static": np.zeros(dim, np.float32),
                  "mean_e5": np.zeros(dim, np.float32)}
    np.savez(gen / MAP_FILE, w=fitted["w"], mean_static=fitted["mean_static"], mean_e5=fitted["mean_e5"])
    out = apply_map(static, fitted)
    log.info("mapped static vectors: map fitted on %d of %d texts", int(usable.sum()), len(texts))
    return out, embedded + sampled, table.info() | {"map_sample": len(rows), "map_ridge": RIDGE}
