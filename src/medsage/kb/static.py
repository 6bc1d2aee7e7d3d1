"""Static word vectors distilled from e5: the fast, opt-in embedder of ``kb build --embedder static``.

A knowledge base built with it embeds each distinct *word* of the corpus once with
multilingual-e5-small instead of each chunk, then pools word vectors with numpy:

* **Vocabulary**: medsage's own retrieval tokens (:func:`medsage.kb.text.token_pairs`,
  the tokens BM25 uses: jieba words for Chinese, Snowball stems for English) of the text
  each chunk embeds (its first ``dense_chars`` characters, as for e5).
* **Word vector**: the e5 passage embedding of the token's *surface*, computed by
  :func:`medsage.embed.embed_texts` (so its content-hash cache and worker processes
  serve it: a rebuild or ``add`` embeds only words never seen before). A Chinese token is
  its own surface. An English stem is not a word e5 has seen often (``"diabet"``), so its
  surface is the lower-cased word it was most often stemmed from in the corpus
  (``"diabetes"``); ties go to the word seen first.
* **Text vector**: the SIF-weighted mean of its tokens' vectors (Arora, Liang and Ma,
  ICLR 2017, "A Simple but Tough-to-Beat Baseline for Sentence Embeddings"), weight
  ``a / (a + p(w))`` with ``p(w)`` the token's share of all corpus tokens and ``a`` =
  :data:`SIF_A`; optionally minus its projection on the first principal component of
  the corpus's text vectors (``remove_pc``, recorded in the table, default off); then
  L2-normalised. A text without tokens gets the zero vector, which search treats as
  "no dense signal".
* **Queries** are pooled the same way from the stored table; a query token the table
  lacks is embedded on the spot (a few per query, through the same cache) with weight 1
  (``p(w)`` = 0), so no query word is silently dropped.

The table lives in the generation folder beside ``dense.npy``: ``static_vocab.json``
(tokens, surfaces, counts, settings) and ``static_vectors.npy`` (float16, row i = token i).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from medsage.kb.text import token_pairs

NAME = "static"
EMBEDDERS = ("e5", NAME, "mapped")  # mapped: medsage.kb.mapped
FORMAT = "medsage-static/1"
VOCAB_FILE = "static_vocab.json"
VECTORS_FILE = "static_vectors.npy"
SIF_A = 1e-3  # Arora et al. found a in 1e-4..1e-3 best; p(w) of a token seen once in 300k is ~3e-6
TOKENIZE_STEP = 2000  # texts between two progress reports of the tokenize stage
log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def embedder_of(manifest: dict[str, Any]) -> str:
    """The embedder a KB's manifest records: ``static``, or ``e5`` (also for KBs that predate the key)."""
    return str((manifest.get("dense") or {}).get("embedder", "e5"))


def model_name() -> str:
    """What the manifest's ``dense.model`` says of a static KB."""
    from medsage.embed import MODEL

    return f"static SIF word vectors from {MODEL}"


def _embed_words(words: list[str], workers: int | None = None,
                 progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
    """Passage embeddings of ``words`` as stored (float16), and how many were not in the cache."""
    from medsage.embed import embed_texts

    vectors, embedded = embed_texts(words, workers=workers, progress=progress)
    return vectors.astype(np.float16), embedded


def _pool(id_lists: Sequence[Sequence[int]], vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row i = sum of ``weights[j] * vectors[j]`` over the ids ``j`` of text i (repeats count)."""
    from scipy.sparse import csr_matrix

    indptr = np.zeros(len(id_lists) + 1, dtype=np.int64)
    np.cumsum([len(ids) for ids in id_lists], out=indptr[1:])
    cols = np.fromiter(chain.from_iterable(id_lists), dtype=np.int64, count=int(indptr[-1]))
    mix = csr_matrix((weights[cols], cols, indptr), shape=(len(id_lists), vectors.shape[0]))
    return np.asarray(mix @ np.asarray(vectors, dtype=np.float32), dtype=np.float32)


class StaticTable:
    """Word vectors and corpus counts; :meth:`embed` turns texts into vectors.

    Args:
        tokens: The vocabulary, row order of ``vectors``.
        surfaces: The word embedded for each token.
        counts: Each token's number of occurrences in the corpus.
        vectors: ``(len(tokens), DIM)`` float16 word vectors (may be memory-mapped).
        sif_a: The SIF constant ``a``.
        pc: The principal component removed from every text vector, or None.
        words_from: The embedder (and version) that made ``vectors``.
    """

    def __init__(self, tokens: list[str], surfaces: list[str], counts: Sequence[int], vectors: np.ndarray,
                 *, sif_a: float = SIF_A, pc: np.ndarray | None = None, words_from: str = "") -> None:
        self.tokens, self.surfaces, self.vectors = tokens, surfaces, vectors
        self.counts = np.asarray(counts, dtype=np.int64)
        self.sif_a, self.pc, self.words_from = sif_a, pc, words_from
        self.ids = {t: i for i, t in enumerate(tokens)}
        share = self.counts / max(1, int(self.counts.sum()))
        self.weights = (sif_a / (sif_a + share)).astype(np.float32)

    @classmethod
    def build(cls, texts: Sequence[str], *, remove_pc: bool = False, sif_a: float = SIF_A,
              progress: Progress | None = None) -> tuple[StaticTable, np.ndarray, int]:
        """The table of ``texts``' vocabulary, their vectors (float32, one row each) and words embedded.

        Progress stages: ``tokenize`` (texts), ``embed words`` (vocabulary words).
        """
        from medsage.embed import embedder_id

        counts: Counter[str] = Counter()
        seen: Counter[tuple[str, str]] = Counter()
        token_lists: list[list[str]] = []
        if progress:
            progress("tokenize", 0, len(texts))
        for i, text in enumerate(texts, 1):
            pairs = token_pairs(text)
            token_lists.append([tok for tok, _ in pairs])
            counts.update(token_lists[-1])
            seen.update(pairs)
            if progress and (i % TOKENIZE_STEP == 0 or i == len(texts)):
                progress("tokenize", i, len(texts))
        tokens = [tok for tok, _ in counts.most_common()]
        best: dict[str, tuple[int, str]] = {}
        for (tok, surface), n in seen.items():  # first seen wins a tie: dicts keep insertion order
            if tok not in best or n > best[tok][0]:
                best[tok] = (n, surface)
        surfaces = [best[tok][1] for tok in tokens]
        if progress:
            progress("embed words", 0, len(tokens))
        step = (lambda n: progress("embed words", n, len(tokens))) if progress else None
        vectors, embedded = _embed_words(surfaces, progress=step)
        table = cls(tokens, surfaces, [counts[t] for t in tokens], vectors, sif_a=sif_a, words_from=embedder_id())
        id_lists = [[table.ids[t] for t in toks] for toks in token_lists]
        sums = _pool(id_lists, vectors, table.weights)
        if remove_pc:
            table.pc = _first_component(sums, np.array([len(ids) for ids in id_lists]))
        log.info("static table: %d words (%d embedded) from %d texts", len(tokens), embedded, len(texts))
        return table, table._finish(sums), embedded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors of ``texts`` (float32, zero for a text without tokens).

        Tokens the table lacks are embedded now (through the embedding cache) with weight 1.
        """
        token_lists = [token_pairs(t) for t in texts]
        missing = {tok: surface for tok, surface in chain.from_iterable(token_lists) if tok not in self.ids}
        known = sorted({self.ids[tok] for tok, _ in chain.from_iterable(token_lists) if tok in self.ids})
        local = {self.tokens[j]: i for i, j in enumerate(known)} | {tok: len(known) + i for i, tok in enumerate(missing)}
        rows = np.asarray(self.vectors[known], dtype=np.float16)
        if missing:
            extra, _ = _embed_words(list(missing.values()), workers=1)
            rows = np.vstack([rows, extra])
            log.debug("embedded %d query words unknown to the static table", len(missing))
        weights = np.concatenate([self.weights[known], np.ones(len(missing), dtype=np.float32)])
        id_lists = [[local[tok] for tok, _ in pairs] for pairs in token_lists]
        return self._finish(_pool(id_lists, rows, weights))

    def _finish(self, sums: np.ndarray) -> np.ndarray:
        """Remove the principal component (when the table has one) and L2-normalise, in place."""
        if self.pc is not None:
            sums -= np.outer(sums @ self.pc, self.pc)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        sums /= np.where(norms > 1e-12, norms, 1.0)
        return sums

    def info(self) -> dict[str, Any]:
        """The manifest's record of the table (its settings; the words are in the files)."""
        return {"vocab": len(self.tokens), "sif_a": self.sif_a, "remove_pc": self.pc is not None,
                "words_from": self.words_from}

    def save(self, folder: Path) -> None:
        """Write :data:`VOCAB_FILE` and :data:`VECTORS_FILE` in ``folder``."""
        meta = {"format": FORMAT, **self.info(), "pc": None if self.pc is None else self.pc.tolist(),
                "tokens": self.tokens, "surfaces": self.surfaces, "counts": self.counts.tolist()}
        (folder / VOCAB_FILE).write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
                                         encoding="utf-8")
        with (folder / VECTORS_FILE).open("wb") as fh:
            np.save(fh, np.asarray(self.vectors, dtype=np.float16))

    @classmethod
    def load(cls, folder: Path) -> StaticTable:
        """The table saved in ``folder`` (vectors memory-mapped).

        Raises:
            DataError: when the files are missing, unreadable or of another format.
        """
        from medsage.embed import embedder_id
        from medsage.errors import DataError

        try:
            meta = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
            vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(f"knowledge base {folder.parent}: unreadable static word table ({exc}); rebuild it") from exc
        if meta.get("format") != FORMAT or vectors.shape[0] != len(meta.get("tokens", ())):
            raise DataError(f"knowledge base {folder.parent}: static word table of unknown format; rebuild it")
        if meta.get("words_from") != embedder_id():
            log.warning("static word table of %s was made by %s, new query words are embedded by %s",
                        folder.parent, meta.get("words_from"), embedder_id())
        pc = None if meta.get("pc") is None else np.asarray(meta["pc"], dtype=np.float32)
        return cls(meta["tokens"], meta["surfaces"], meta["counts"], vectors, sif_a=float(meta["sif_a"]), pc=pc,
                   words_from=str(meta.get("words_from", "")))


def _first_component(sums: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The first principal component (uncentred, as in Arora et al.) of the mean text vectors."""
    means = sums / np.maximum(lengths, 1)[:, None]
    _, vecs = np.linalg.eigh(means.T.astype(np.float64) @ means)
    return np.asarray(vecs[:, -1], dtype=np.float32)


def write_static(gen: Path, texts: Sequence[str], *, remove_pc: bool = False,
                 progress: Progress | None = None) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Build and save the table of ``texts`` in generation folder ``gen``.

    Returns:
        The texts' vectors (float32, row i = text i), the number of words embedded (not
        found in the cache) and the manifest's ``static`` entry.
    """
    table, matrix, embedded = StaticTable.build(texts, remove_pc=remove_pc, progress=progress)
    table.save(gen)
    return matrix, embedded, table.info()
