"""Retrieval quality: recall@5, recall@10 and MRR@10 per mode on labelled query sets.

A query counts as found at rank r when the r-th hit's document is one of the query's
relevant documents (``doc_ids``). For the English MedQuAD set (each question -> its own
document) a "topic" variant also accepts any document with the same Focus (MedQuAD
repeats topics across NIH sites). Also reports how often the rag pipeline's coverage
gate (:func:`medsage.clinic.rag.covered`) lets each set through (off-topic questions
should be declined).

    python benchmarks/kb/quality.py --kb benchmarks/out/kb_quality \
        --sets benchmarks/kb/queries_en.jsonl benchmarks/kb/queries_en_natural.jsonl \
        benchmarks/kb/queries_zh.jsonl \
        --offtopic benchmarks/kb/queries_offtopic.jsonl --out benchmarks/kb/results_quality.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from medsage.clinic.rag import covered
from medsage.kb import KnowledgeBase

MODES = ("bm25", "dense", "hybrid")


def evaluate(kb: KnowledgeBase, rows: list[dict], topic: bool) -> dict:
    titles = {c.doc_id: c.title.lower() for c in kb.chunks}
    out: dict = {"n": len(rows)}
    for mode in MODES:
        r5 = r10 = rr = 0.0
        t0 = time.perf_counter()
        for row in rows:
            hits = kb.search(row["query"], k=10, mode=mode)
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


def _rate(kb: KnowledgeBase, rows: list[dict], lang: str | None = None) -> float:
    rows = [r for r in rows if lang is None or r["lang"] == lang]
    return round(sum(covered(r["query"], kb.search(r["query"], k=5), r["lang"]) for r in rows) / max(1, len(rows)), 4)


def coverage_only(a: argparse.Namespace) -> None:
    kb = KnowledgeBase(a.kb)
    result = json.loads(Path(a.out).read_text())
    for path in a.sets:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()][: a.limit]
        result["sets"][Path(path).stem]["covered"] = _rate(kb, rows)
    off = [json.loads(line) for line in Path(a.offtopic).read_text(encoding="utf-8").splitlines()]
    result["offtopic_covered"] = {lang: _rate(kb, off, lang) for lang in ("en", "zh")}
    Path(a.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v.get("covered") for k, v in result["sets"].items()}), result["offtopic_covered"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", default="benchmarks/out/kb_quality")
    ap.add_argument("--sets", nargs="+", default=["benchmarks/kb/queries_en.jsonl", "benchmarks/kb/queries_en_natural.jsonl", "benchmarks/kb/queries_zh.jsonl"])
    ap.add_argument("--offtopic", default="benchmarks/kb/queries_offtopic.jsonl")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--out", default="benchmarks/kb/results_quality.json")
    ap.add_argument("--coverage-only", action="store_true", help="recompute only the coverage rates in --out")
    a = ap.parse_args()
    if a.coverage_only:
        return coverage_only(a)
    kb = KnowledgeBase(a.kb)
    result: dict = {"kb": a.kb, "kb_stats": {k: kb.stats()[k] for k in ("documents", "chunks", "by_language", "dense")},
                    "date": time.strftime("%Y-%m-%d"), "sets": {}}
    for path in a.sets:
        rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()][: a.limit]
        name = Path(path).stem
        result["sets"][name] = {"strict": evaluate(kb, rows, topic=False)}
        if name == "queries_en":
            result["sets"][name]["topic"] = evaluate(kb, rows, topic=True)
        result["sets"][name]["covered"] = round(sum(covered(r["query"], kb.search(r["query"], k=5), r["lang"]) for r in rows) / len(rows), 4)
        print(name, json.dumps(result["sets"][name]), flush=True)
    off = [json.loads(line) for line in Path(a.offtopic).read_text(encoding="utf-8").splitlines()]
    result["offtopic_covered"] = {lang: round(sum(covered(r["query"], kb.search(r["query"], k=5), lang) for r in off if r["lang"] == lang)
                                              / max(1, sum(r["lang"] == lang for r in off)), 4) for lang in ("en", "zh")}
    result["offtopic_n"] = len(off)
    Path(a.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
