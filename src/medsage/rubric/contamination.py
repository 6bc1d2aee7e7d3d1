"""Contamination check: n-gram overlap between benchmark items and a corpus.

Tokens are lower-cased words for alphabetic text and single characters for
CJK text (so ``n`` = 13 means 13 words or 13 Chinese characters, the GPT-3
decontamination convention). The benchmark's n-grams are held in memory (they
are few); the corpus is streamed file by file, so a large knowledge base or
training set fits. An item is flagged when the share of its n-grams found in
the corpus reaches ``threshold``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_TOKEN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]|[^\W_]+", re.UNICODE)
TEXT_SUFFIXES = {".txt", ".md", ".jsonl", ".json", ".csv", ".tsv", ".xml", ".html"}


def tokens(text: str) -> list[str]:
    """Words (lower-cased) and single CJK characters."""
    return [t.lower() for t in _TOKEN_RE.findall(text)]


def ngrams(toks: list[str], n: int) -> Iterator[str]:
    """Space-joined n-grams (none when the text is shorter than ``n``)."""
    for i in range(len(toks) - n + 1):
        yield " ".join(toks[i : i + n])


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def corpus_texts(paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    """Yield ``(where, text)`` from files or folders (JSONL rows as their string values)."""
    for root in paths:
        p = Path(root)
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES) if p.is_dir() else [p]
        for f in files:
            try:
                text = f.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if f.suffix == ".jsonl":
                for n, line in enumerate(text.splitlines(), 1):
                    try:
                        yield f"{f}:{n}", " \n".join(_strings(json.loads(line)))
                    except ValueError:
                        yield f"{f}:{n}", line
            else:
                yield str(f), text


def overlap(items: dict[str, str], corpus: Iterable[tuple[str, str]], n: int = 13, threshold: float = 0.5) -> dict[str, Any]:
    """N-gram overlap of benchmark ``items`` (id -> text) with ``corpus`` ((where, text) pairs).

    Returns:
        ``{"n", "threshold", "items", "checked", "flagged": [{"id", "overlap", "matched", "total",
        "sources"}], "too_short": [ids]}``, flagged items sorted by overlap (highest first).
    """
    owners: dict[str, set[str]] = defaultdict(set)
    totals: dict[str, int] = {}
    too_short: list[str] = []
    for sid, text in items.items():
        grams = set(ngrams(tokens(text), n))
        if not grams:
            too_short.append(sid)
            continue
        totals[sid] = len(grams)
        for g in grams:
            owners[g].add(sid)
    matched: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    docs = 0
    for where, text in corpus:
        docs += 1
        for g in ngrams(tokens(text), n):
            for sid in owners.get(g, ()):
                matched[sid].add(g)
                if len(sources[sid]) < 5:
                    sources[sid].add(where)
    flagged: list[dict[str, Any]] = []
    for sid, grams in matched.items():
        share = len(grams) / totals[sid]
        if share >= threshold:
            flagged.append({"id": sid, "overlap": share, "matched": len(grams), "total": totals[sid],
                            "sources": sorted(sources[sid])})
    flagged.sort(key=lambda r: (-float(r["overlap"]), str(r["id"])))
    return {"n": n, "threshold": threshold, "items": len(items), "checked": len(totals), "corpus_docs": docs,
            "flagged": flagged, "too_short": too_short}


def benchmark_items(task: Any, data: str | None = None, **options: Any) -> dict[str, str]:
    """Id -> question text (plus options) for every sample a task loads."""
    result = task.load(data, **options)
    return {s.id: " ".join([s.question, *s.choices.values()]) for s in result.samples}
