"""A multinomial logistic-regression intent classifier in plain numpy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError

MODEL_FILE = "intent.npz"
META_FILE = "meta.json"


@dataclass
class Prediction:
    """One classified query."""

    label: str
    confidence: float
    probabilities: dict[str, float]

    @property
    def is_medical(self) -> bool:
        """Whether the query was classified as anything but ``other``."""
        return self.label != "other"


class LogisticRegression:
    """Softmax regression with L2 penalty, trained by full-batch Adam.

    Args:
        l2: L2 penalty on the weights.
        epochs: Optimisation steps (full batch).
        lr: Adam step size.
        balanced: Weight classes inversely to their frequency (helps macro-F1).
    """

    def __init__(self, l2: float = 1e-4, epochs: int = 400, lr: float = 0.05,
                 balanced: bool = False) -> None:
        self.l2, self.epochs, self.lr, self.balanced = l2, epochs, lr, balanced
        self.labels: list[str] = []
        self.W = np.zeros((0, 0), dtype=np.float64)
        self.b = np.zeros(0, dtype=np.float64)

    def fit(self, X: np.ndarray, y: Sequence[str]) -> LogisticRegression:
        """Fit on rows ``X`` with string labels ``y``."""
        if len(X) != len(y) or len(y) == 0:
            raise DataError(f"cannot train on {len(X)} vectors and {len(y)} labels")
        self.labels = sorted(set(y))
        if len(self.labels) < 2:
            raise DataError("intent training data needs at least two distinct labels")
        index = {lab: i for i, lab in enumerate(self.labels)}
        t = np.array([index[v] for v in y])
        n, d = X.shape
        k = len(self.labels)
        Y = np.zeros((n, k))
        Y[np.arange(n), t] = 1.0
        counts = Y.sum(axis=0)
        w = (n / (k * counts))[t] if self.balanced else np.ones(n)
        w = w / w.sum()
        self.W, self.b = np.zeros((d, k)), np.zeros(k)
        m = [np.zeros((d, k)), np.zeros(k)]
        v = [np.zeros((d, k)), np.zeros(k)]
        b1, b2, eps = 0.9, 0.999, 1e-8
        Xf = X.astype(np.float64)
        for step in range(1, self.epochs + 1):
            P = _softmax(Xf @ self.W + self.b)
            G = (P - Y) * w[:, None]
            grads = [Xf.T @ G + self.l2 * self.W, G.sum(axis=0)]
            for i, (param, g) in enumerate(zip((self.W, self.b), grads, strict=True)):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                param -= self.lr * (m[i] / (1 - b1**step)) / (np.sqrt(v[i] / (1 - b2**step)) + eps)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in :attr:`labels` order."""
        return _softmax(X.astype(np.float64) @ self.W + self.b)

    def predict(self, X: np.ndarray) -> list[str]:
        """The most probable label per row."""
        return [self.labels[i] for i in self.predict_proba(X).argmax(axis=1)]

    def save(self, out_dir: Path, meta: dict[str, Any]) -> None:
        """Write ``intent.npz`` and ``meta.json`` to ``out_dir``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        np.savez(out_dir / MODEL_FILE, W=self.W, b=self.b)
        full = {**meta, "labels": self.labels, "l2": self.l2, "epochs": self.epochs,
                "balanced": self.balanced}
        (out_dir / META_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, model_dir: Path) -> tuple[LogisticRegression, dict[str, Any]]:
        """Read a model written by :meth:`save`; returns it with its metadata."""
        try:
            meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
            arrays = np.load(model_dir / MODEL_FILE)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read intent model in {model_dir}: {exc}") from exc
        clf = cls(float(meta.get("l2", 1e-4)), int(meta.get("epochs", 0)), balanced=bool(meta.get("balanced")))
        clf.labels = list(meta["labels"])
        clf.W, clf.b = arrays["W"], arrays["b"]
        if clf.W.shape[1] != len(clf.labels):
            raise DataError(f"intent model in {model_dir} is inconsistent with its labels")
        return clf, meta


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> tuple[float, dict[str, float]]:
    """Macro-averaged F1 over the gold labels, plus per-label F1."""
    per: dict[str, float] = {}
    for lab in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
        per[lab] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return (sum(per.values()) / len(per) if per else 0.0), per
