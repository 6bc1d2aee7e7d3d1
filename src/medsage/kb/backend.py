"""One interface for every knowledge-base store, and the search all of them share.

A store is chosen by the URI given to ``kb build --out`` / ``--kb`` / ``-P kb=``:

* a folder (the default): the embedded store (:mod:`medsage.kb.store`), exact search
  for small knowledge bases, a ``usearch`` HNSW index above
  :data:`medsage.kb.ann.ANN_MIN_CHUNKS` chunks;
* ``milvus:PATH.db``, or any path ending in ``.db``: Milvus Lite, a local file
  (``pip install 'medsage[milvus]'``);
* ``http://host:19530`` / ``https://…`` / ``tcp://…``: a Milvus server or cluster.

A Milvus URI may end in ``#collection`` (default ``medsage``).

Every store answers the same few primitive questions (:class:`Backend`), and
:func:`fused_search` turns them into BM25, dense or hybrid results exactly as the
embedded store always did: BM25 scores; dense candidates ranked by their *margin*,
the cosine minus the median cosine of the query with the chunks of the same language
(multilingual-e5 scores same-language pairs higher whatever the topic; the margin
removes that offset so a Chinese question reaches English sources); hybrid =
reciprocal-rank fusion of the two lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from medsage.errors import DataError, SpecError
from medsage.kb.crosslingual import Rendering
from medsage.kb.hybrid import rrf
from medsage.kb.types import Chunk, Hit

MODES = ("bm25", "dense", "hybrid")
MAX_QUERY_CHARS = 2000
MAX_DENSE_QUERY_CHARS = 1000  # the embedder reads at most 512 tokens anyway
MAX_K = 1000
DEFAULT_COLLECTION = "medsage"
_REMOTE = re.compile(r"^(https?|tcp|grpc)://", re.IGNORECASE)


@dataclass(frozen=True)
class Filters:
    """Metadata filters of a search: keep chunks whose field is in the set (empty = all)."""

    sources: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    licences: frozenset[str] = frozenset()

    @classmethod
    def of(cls, sources: Any = None, languages: Any = None, licences: Any = None) -> Filters:
        """Filters from any iterables of values (None or empty = no filter on that field)."""
        def clean(values: Any) -> frozenset[str]:
            return frozenset(str(v) for v in (values or ()) if v)

        return cls(clean(sources), clean(languages), clean(licences))

    def __bool__(self) -> bool:
        return bool(self.sources or self.languages or self.licences)

    def allows(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` passes every filter."""
        return ((not self.sources or chunk.source in self.sources)
                and (not self.languages or chunk.language in self.languages)
                and (not self.licences or chunk.licence in self.licences))


class Backend(Protocol):
    """What a knowledge-base store answers; :func:`fused_search` does the rest."""

    uri: str

    @property
    def has_dense(self) -> bool:
        """Whether the store holds embeddings."""
        ...

    def languages(self) -> list[str]:
        """The languages present (``en``, ``zh`` …)."""
        ...

    def sparse_candidates(self, query: str, depth: int, filters: Filters) -> list[tuple[int, float]]:
        """Up to ``depth`` (row, BM25 score) pairs with a positive score, best first."""
        ...

    def dense_candidates(self, qvec: Any, language: str, depth: int,
                         filters: Filters) -> list[tuple[int, float]]:
        """Up to ``depth`` (row, cosine) pairs among chunks of ``language``, best first."""
        ...

    def language_median(self, qvec: Any, language: str) -> float:
        """The median cosine of ``qvec`` with the chunks of ``language`` (may be estimated)."""
        ...

    def chunks_of(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks stored at ``rows``, in that order."""
        ...


def is_milvus_uri(uri: str | Any) -> bool:
    """Whether ``uri`` names a Milvus store (Lite file or server) rather than a folder."""
    text = str(uri)
    return text.startswith("milvus:") or bool(_REMOTE.match(text)) or text.split("#", 1)[0].endswith(".db")


def split_milvus_uri(uri: str) -> tuple[str, str]:
    """(connection URI for ``pymilvus``, collection name) of a Milvus URI.

    Raises:
        SpecError: for a collection name Milvus would refuse.
    """
    text = str(uri)
    if text.startswith("milvus:"):
        text = text[len("milvus:"):]
    conn, _, name = text.partition("#")
    name = name or DEFAULT_COLLECTION
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", name):
        raise SpecError(f"Milvus collection name '{name}': use letters, digits and underscores")
    if not conn:
        raise SpecError(f"Milvus URI '{uri}' names no file or server")
    return conn, name


def clean_query(query: str) -> tuple[str, bool]:
    """Strip ``query`` and cut it to :data:`MAX_QUERY_CHARS`; returns (query, was_cut).

    Raises:
        DataError: for an empty query.
    """
    text = " ".join((query or "").split())
    if not text:
        raise DataError("empty query: give some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        return text[:MAX_QUERY_CHARS], True
    return text, False


def check_args(mode: str, k: int) -> None:
    """Raises SpecError for an unknown mode or a ``k`` out of range."""
    if mode not in MODES:
        raise SpecError(f"unknown search mode '{mode}' (known: {', '.join(MODES)})")
    if not 1 <= k <= MAX_K:
        raise SpecError(f"k must be between 1 and {MAX_K}, got {k}")


def dense_ranking(backend: Backend, qvec: Any, depth: int, filters: Filters,
                  by: str = "margin") -> list[tuple[int, float, float]]:
    """The ``depth`` best (row, cosine, margin) triples over all languages, by margin or cosine."""
    found: list[tuple[int, float, float]] = []
    if not _has_signal(qvec):
        return found
    for lang in backend.languages():
        if filters.languages and lang not in filters.languages:
            continue
        cands = backend.dense_candidates(qvec, lang, depth, filters)
        if not cands:
            continue
        median = backend.language_median(qvec, lang)
        found.extend((row, cos, cos - median) for row, cos in cands)
    col = 2 if by == "margin" else 1
    found.sort(key=lambda t: (-t[col], t[0]))
    return found[:depth]


def fused_search(backend: Backend, text: str, k: int, mode: str, filters: Filters,
                 depth: int = 50, english: Rendering | None = None) -> list[Hit]:
    """BM25, dense or hybrid search over any :class:`Backend` (``text`` already cleaned).

    ``english`` (see :mod:`medsage.kb.crosslingual`) is an English rendering of a
    Chinese ``text``. Its words join the BM25 query, and an English chunk's dense score
    is the better of the two phrasings' (its cosine, or its margin in hybrid mode, for
    the original and for the English query), so each chunk is judged by the question
    as asked in its own language while the lists keep their usual shape.

    Queries are embedded by the backend's ``embed_query`` where it has one (a KB built
    with static word vectors), else by e5. A zero query vector (a query of stop words only,
    under static vectors) carries no dense signal: dense mode finds nothing, hybrid is BM25.
    """
    if mode == "hybrid" and not backend.has_dense:
        mode = "bm25"
    en_filters = _english_only(filters) if english else None
    sparse_text = f"{text} {english.sparse}" if english and en_filters else text
    if mode == "bm25":
        ranked = backend.sparse_candidates(sparse_text, k, filters)
        chunks = backend.chunks_of([i for i, _ in ranked])
        return [Hit(c, s, r, bm25=s) for r, (c, (_, s)) in enumerate(zip(chunks, ranked, strict=True), 1)]
    embed_query = getattr(backend, "embed_query", None) or _e5_query  # a static KB has its own

    qvec = embed_query(text[:MAX_DENSE_QUERY_CHARS])
    qvec_en = embed_query(english.dense[:MAX_DENSE_QUERY_CHARS]) if english and en_filters else None
    if mode == "dense":
        dense = _dense_both(backend, qvec, qvec_en, en_filters, k, filters, by="cosine")
        chunks = backend.chunks_of([t[0] for t in dense])
        return [Hit(c, cos, r, dense=cos, margin=m)
                for r, (c, (_, cos, m)) in enumerate(zip(chunks, dense, strict=True), 1)]
    depth = max(depth, k)
    sparse = backend.sparse_candidates(sparse_text, depth, filters)
    dense = _dense_both(backend, qvec, qvec_en, en_filters, depth, filters, by="margin")
    fused = rrf([[t[0] for t in dense], [i for i, _ in sparse]])[:k]
    bm25 = dict(sparse)
    by_row = {t[0]: t for t in dense}
    rows = [i for i, _ in fused]
    chunks = backend.chunks_of(rows)
    missing = [(i, qvec_en is not None and c.language == "en") for i, c in zip(rows, chunks, strict=True)
               if i not in by_row]
    for use_en, vec in ((False, qvec), (True, qvec_en)):  # BM25-only candidates: for citations and coverage
        todo = [i for i, en in missing if en == use_en]
        if todo:
            by_row.update(backend_cosines(backend, vec, todo))
    hits = []
    for r, (c, (i, s)) in enumerate(zip(chunks, fused, strict=True), 1):
        _, cos, margin = by_row.get(i, (i, None, None))
        hits.append(Hit(c, s, r, bm25=bm25.get(i, 0.0), dense=cos, margin=margin))
    return hits


def _dense_both(backend: Backend, qvec: Any, qvec_en: Any, en_filters: Filters | None, depth: int,
                filters: Filters, by: str) -> list[tuple[int, float, float]]:
    """The dense ranking of ``qvec``; with an English query, English chunks keep their better score."""
    found = dense_ranking(backend, qvec, depth, filters, by=by)
    if qvec_en is None or en_filters is None:
        return found
    col = 2 if by == "margin" else 1
    best = {t[0]: t for t in found}
    for t in dense_ranking(backend, qvec_en, depth, en_filters, by=by):
        if t[0] not in best or t[col] > best[t[0]][col]:
            best[t[0]] = t
    return sorted(best.values(), key=lambda t: (-t[col], t[0]))[:depth]


def _english_only(filters: Filters) -> Filters | None:
    """``filters`` narrowed to English chunks, or None when they exclude English."""
    if filters.languages and "en" not in filters.languages:
        return None
    return Filters(filters.sources, frozenset({"en"}), filters.licences)


def backend_cosines(backend: Backend, qvec: Any, rows: list[int]) -> dict[int, tuple[int, float, float]]:
    """(row, cosine, margin) of specific rows, where the backend can say (else none)."""
    fn = getattr(backend, "cosines", None)
    if fn is None or not _has_signal(qvec):
        return {}
    out: dict[int, tuple[int, float, float]] = {}
    chunks = backend.chunks_of(rows)
    medians: dict[str, float] = {}
    for row, cos, chunk in zip(rows, fn(qvec, rows), chunks, strict=True):
        lang = chunk.language
        if lang not in medians:
            medians[lang] = backend.language_median(qvec, lang)
        out[row] = (row, float(cos), float(cos) - medians[lang])
    return out


def _e5_query(text: str) -> Any:
    """``text`` embedded as a query by e5 (stores without their own ``embed_query``)."""
    from medsage.embed import embed_query

    return embed_query(text)


def _has_signal(qvec: Any) -> bool:
    """Whether a query vector says anything (the zero vector of a text without tokens does not)."""
    import numpy as np

    return bool(np.any(np.asarray(qvec)))
