"""An on-disk response cache keyed by (model, messages, generation parameters).

SQLite in WAL mode: safe for concurrent readers and a single writer process,
survives a killed run (every answer is committed as it arrives), so a rerun
resumes without asking the model again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from medsage.models.base import Model
from medsage.types import GenerateConfig, Message, ModelOutput, Usage


def default_cache_dir() -> Path:
    """``$MEDSAGE_CACHE_DIR``, else ``~/.cache/medsage``."""
    env = os.environ.get("MEDSAGE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "medsage"


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
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_dir() / "responses.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, output TEXT NOT NULL)")
        self._db.commit()

    def get(self, key: str) -> ModelOutput | None:
        with self._lock:
            row = self._db.execute("SELECT output FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        data["usage"] = Usage(**data.get("usage", {}))
        data["cached"] = True
        return ModelOutput(**data)

    def put(self, key: str, output: ModelOutput) -> None:
        if output.error is not None:
            return
        data = {"text": output.text, "model": output.model, "latency_s": output.latency_s,
                "usage": {"prompt_tokens": output.usage.prompt_tokens,
                          "completion_tokens": output.usage.completion_tokens},
                "top_logprobs": output.top_logprobs, "error": None, "extras": output.extras}
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, output) VALUES (?, ?)",
                (key, json.dumps(data, ensure_ascii=False, default=str)),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedModel(Model):
    """Wrap a model so that identical requests are answered from the cache."""

    def __init__(self, model: Model, cache: ResponseCache) -> None:
        super().__init__(model.spec)
        self.model = model
        self.cache = cache
        self.name = model.name
        self.supports_logprobs = model.supports_logprobs
        self.hits = 0
        self.misses = 0

    @property
    def cache_key(self) -> Any:
        return self.model.cache_key

    def __getattr__(self, name: str) -> Any:
        # Delegate provider-specific extras (e.g. ``astream``) to the wrapped model.
        return getattr(self.__dict__["model"], name)

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
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
        await self.model.aclose()
