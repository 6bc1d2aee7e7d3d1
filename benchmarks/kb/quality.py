"""Retrieval quality: recall@5, recall@10 and MRR@10 per mode on labelled query sets.

A query counts as found at rank r when the r-th hit's document is one of the query's
relevant documents (``doc_ids``). For the English MedQuAD set (each question -> its own
document) a "topic" variant also accepts any document with the same Focus (MedQuAD
repeats topics across NIH sites). Also reports how often the rag pipeline's coverage
gate (:func:`medsage.pipelines.rag.covered`) lets each set through (off-topic questions
should be declined).

Chinese queries on a KB with English chunks are searched with an English rendering
(``--translate``): ``glossary`` (the default of ``KnowledgeBase.search``, see
:mod:`medsage.kb.crosslingual`), ``none`` (the search before cross-lingual handling), or
``model`` (each Chinese query translated once by ``--model`` before searching).

    python benchmarks/kb/quality.py --kb benchmarks/out/kb_quality \
        --sets benchmarks/kb/queries_en.jsonl benchmarks/kb/queries_en_natural.jsonl \
        benchmarks/kb/queries_zh.jsonl \
        --offtopic benchmarks/kb/queries_offtopic.jsonl --out benchmarks/kb/results_quality.json
    python benchmarks/kb/quality.py --translate model --model local/qwen2.5-1.5b ...  # LLM translation
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from medsage.kb import KnowledgeBase
from medsage.kb.crosslingual import model_translations
from medsage.pipelines.rag import covered

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

MODES = ("bm25", "dense", "hybrid")


class Searcher:
    """``kb.search`` with the run's cross-lingual setting (and model translations, if any)."""

    def __init__(self, kb: KnowledgeBase, translate: str, model: str | None = None) -> None:
        self.kb, self.translate, self.model = kb, translate, model
        self.translations: dict[str, str] = {}

    def prepare(self, rows: list[dict]) -> None:
        """Translate the Chinese queries of ``rows`` once (``--translate model`` only)."""
        todo = [r["query"] for r in rows if self.translate == "model" and r.get("lang") == "zh"
                and r["query"] not in self.translations]
        if todo and self.model:
            self.translations.update(zip(todo, model_translations(self.model, todo), strict=True))

    def __call__(self, query: str, k: int = 5, mode: str = "hybrid") -> list:
        translate: bool | str = self.translations.get(query) or self.translate == "glossary"
        return self.kb.search(query, k=k, mode=mode, translate=translate)


def evaluate(kb: Searcher, rows: list[dict], topic: bool) -> dict:
    titles = {c.doc_id: c.title.lower() for c in kb.kb.chunks}
    out: dict = {"n": len(rows)}
    for mode in MODES:
        r5 = r10 = rr = 0.0
        t0 = time.perf_counter()
        for row in rows:
            hits = kb(row["query"], k=10, mode=mode)
            relevant = set(row["doc_ids"])
            if topic:
                want = {titles.get(d) for d in relevant}
                relevant |= {d for d, t in titles.items() if t in want}
            rank = next((h.rank for h in hits if h.chunk.doc_id in relevant), None)
            if rank is not None:
                r5 += rank <= 5
                r10 += rank <= 10
                rr += 1.0 / rank
        n = max(len(rows), 1)
        out[mode] = {"recall@5": round(r5 / n, 4), "recall@10": round(r10 / n, 4), "mrr@10": round(rr / n, 4),
                     "seconds": round(time.perf_counter() - t0, 1)}
    return out


def _rate(kb: Searcher, rows: list[dict], lang: str | None = None) -> float:
    rows = [r for r in rows if lang is None or r["lang"] == lang]
    return round(sum(covered(r["query"], kb(r["query"], k=5), r["lang"]) for r in rows) / max(1, len(rows)), 4)


def coverage_only(a: argparse.Namespace) -> None:
    kb = Searcher(KnowledgeBase(a.kb), a.translate, a.model)
    result = json.loads(Path(a.out).read_text())
    for path in a.sets:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()][: a.limit]
        kb.prepare(rows)
        result["sets"][Path(path).stem]["covered"] = _rate(kb, rows)
    off = [json.loads(line) for line in Path(a.offtopic).read_text(encoding="utf-8").splitlines()]
    result["offtopic_covered"] = {lang: _rate(kb, off, lang) for lang in ("en", "zh")}
    write_json(a.out, result)
    print(json.dumps({k: v.get("covered") for k, v in result["sets"].items()}), result["offtopic_covered"])


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "limit", "out", "model",
                      limit=200, out="benchmarks/kb/results_quality.json")
    ap.add_argument("--kb", default="benchmarks/out/kb_quality")
    ap.add_argument("--sets", nargs="+", default=["benchmarks/kb/queries_en.jsonl", "benchmarks/kb/queries_en_natural.jsonl", "benchmarks/kb/queries_zh.jsonl"])
    ap.add_argument("--offtopic", default="benchmarks/kb/queries_offtopic.jsonl")
    ap.add_argument("--coverage-only", action="store_true", help="recompute only the coverage rates in --out")
    ap.add_argument("--translate", choices=("glossary", "none", "model"), default="glossary",
                    help="English rendering of Chinese queries: glossary (default), none, or --model's translation")
    a = ap.parse_args()
    if a.coverage_only:
        return coverage_only(a)
    base = KnowledgeBase(a.kb)
    kb = Searcher(base, a.translate, a.model)
    result: dict = {"kb": a.kb, "kb_stats": {k: base.stats()[k] for k in ("documents", "chunks", "by_language", "dense")},
                    "translate": a.translate, "model": a.model if a.translate == "model" else None, "sets": {}}
    for path in a.sets:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()][: a.limit]
        name = Path(path).stem
        kb.prepare(rows)
        result["sets"][name] = {"strict": evaluate(kb, rows, topic=False)}
        if name == "queries_en":
            result["sets"][name]["topic"] = evaluate(kb, rows, topic=True)
        result["sets"][name]["covered"] = _rate(kb, rows)
        print(name, json.dumps(result["sets"][name]), flush=True)
    off = [json.loads(line) for line in Path(a.offtopic).read_text(encoding="utf-8").splitlines()]
    kb.prepare(off)
    result["offtopic_covered"] = {lang: _rate(kb, off, lang) for lang in ("en", "zh")}
    result["offtopic_n"] = len(off)
    write_json(a.out, result)
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
