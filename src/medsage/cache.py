"""An on-disk response cache keyed by (model, messages, generation parameters).

SQLite in WAL mode, written by a background thread: safe for concurrent readers
and writers, and a rerun resumes without asking the model again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from medsage.errors import MedsageError
from medsage.models.base import Model
from medsage.types import GenerateConfig, Message, ModelOutput, Usage


def default_cache_dir() -> Path:
    """``$MEDSAGE_CACHE_DIR``, else ``~/.cache/medsage``."""
    env = os.environ.get("MEDSAGE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "medsage"


log = logging.getLogger(__name__)


def cache_key(model_key: Any, messages: list[Message], config: GenerateConfig) -> str:
    """A stable SHA-256 key for one request."""
    payload = json.dumps(
        {"model": model_key, "messages": [m.to_dict() for m in messages], "config": config.to_dict()},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """A persistent map from request key to :class:`ModelOutput`.

    Only successful outputs are stored: errors are retried on the next run.
    Writes go through a background thread that commits whatever is queued as one
    transaction, so the event loop never waits for SQLite; answers still in the
    queue are served from memory. A killed process loses at most the answers of
    the last few milliseconds from the cache (the runner's ``samples.jsonl`` still
    holds every finished sample, so a resumed run does not ask them again).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_dir() / "responses.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = self._connect()
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, output TEXT NOT NULL)")
        self._db.commit()
        self._pending: dict[str, str] = {}
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._failure: Exception | None = None
        self._writer = threading.Thread(target=self._write_loop, name="medsage-cache-writer", daemon=True)
        self._writer.start()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _write_loop(self) -> None:
        db = self._connect()
        try:
            while True:
                item = self._queue.get()
                batch: list[tuple[str, str]] = []
                stop = item is None
                if item is not None:
                    batch.append(item)
                while not stop and len(batch) < 512:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                    else:
                        batch.append(nxt)
                if batch:
                    db.executemany("INSERT OR REPLACE INTO responses (key, output) VALUES (?, ?)", batch)
                    db.commit()
                    with self._lock:
                        for key, value in batch:
                            if self._pending.get(key) == value:
                                del self._pending[key]
                if stop:
                    return
        except sqlite3.Error as exc:  # disk full, file removed: say so once instead of losing answers quietly
            self._failure = exc
            log.error("response cache %s: writing failed (%s); answers are no longer saved", self.path, exc)
        finally:
            db.close()

    def get(self, key: str) -> ModelOutput | None:
        """The cached answer for ``key`` (marked ``cached``), queued ones included, or None."""
        with self._lock:
            raw = self._pending.get(key)
            if raw is None:
                row = self._db.execute("SELECT output FROM responses WHERE key = ?", (key,)).fetchone()
                raw = row[0] if row else None
        if raw is None:
            return None
        data = json.loads(raw)
        data["usage"] = Usage(**data.get("usage", {}))
        data["cached"] = True
        return ModelOutput(**data)

    def put(self, key: str, output: ModelOutput) -> None:
        """Queue ``output`` for the writer thread; errors and anything after close are dropped."""
        if output.error is not None or self._closed:
            return
        data = {"text": output.text, "model": output.model, "latency_s": output.latency_s,
                "usage": {"prompt_tokens": output.usage.prompt_tokens,
                          "completion_tokens": output.usage.completion_tokens},
                "top_logprobs": output.top_logprobs, "error": None, "extras": output.extras}
        raw = json.dumps(data, ensure_ascii=False, default=str)
        with self._lock:
            self._pending[key] = raw
        self._queue.put((key, raw))

    def flush(self) -> None:
        """Wait until every queued answer is committed.

        Raises:
            MedsageError: the writer thread stopped with answers still queued.
        """
        while True:
            with self._lock:
                if not self._pending:
                    return
                left = len(self._pending)
            if not self._writer.is_alive():
                raise MedsageError(f"response cache {self.path}: the writer stopped ({self._failure}); "
                                   f"{left} answers were not saved")
            time.sleep(0.005)

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Let the writer commit what is queued, stop it and close the database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        with self._lock:
            self._db.close()


class CachedModel(Model):
    """Wrap a model so that identical requests are answered from the cache.

    With ``cache=None`` the wrapper is a pass-through that records a decision: this
    model's answers are not cached (a run with caching off), so layers that would add
    a cache of their own (the rubric grader's) leave it alone.
    """

    def __init__(self, model: Model, cache: ResponseCache | None) -> None:
        super().__init__(model.spec)
        self.model = model
        self.cache = cache
        self.name = model.name
        self.supports_logprobs = model.supports_logprobs
        self.supports_prefill = model.supports_prefill
        self.hits = 0
        self.misses = 0

    @property
    def cache_key(self) -> Any:
        """The wrapped model's cache key (wrapping does not change the behaviour)."""
        return self.model.cache_key

    def __getattr__(self, name: str) -> Any:
        # Delegate provider-specific extras (e.g. ``astream``) to the wrapped model.
        return getattr(self.__dict__["model"], name)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        """The cached answer to this exact request, else the model's (then cached)."""
        if self.cache is None:
            return await self.model.generate(messages, config)
        key = cache_key(self.model.cache_key, messages, config)
        hit = self.cache.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        output = await self.model.generate(messages, config)
        self.cache.put(key, output)
        return output

    async def aclose(self) -> None:
        """Close the wrapped model (the cache itself belongs to whoever opened it)."""
        await self.model.aclose()
