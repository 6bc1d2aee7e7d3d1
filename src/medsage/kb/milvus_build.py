"""Building, extending and shrinking a Milvus knowledge base (see :mod:`medsage.kb.milvus`)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.kb.backend import split_milvus_uri
from medsage.kb.ingest import DENSE_CHARS, LEGACY_DENSE_CHARS
from medsage.kb.milvus import (
    BATCH,
    FORMAT,
    MEDIAN_SAMPLE,
    MilvusKB,
    _short,
    connect,
    create_collection,
    rows_of,
    write_meta,
)
from medsage.kb.types import BuildReport, Chunk

log = logging.getLogger(__name__)

Progress = Any


def _embed(chunks: list[Chunk], dense_chars: int, report: BuildReport, progress: Progress) -> np.ndarray:
    from medsage.embed import embed_texts
    from medsage.kb.ingest import dense_text

    t0 = time.perf_counter()
    step = (lambda n: progress("embed", n, len(chunks))) if progress else None
    matrix, report.embedded = embed_texts([dense_text(c, dense_chars) for c in chunks], progress=step)
    report.seconds["dense"] = round(time.perf_counter() - t0, 3)
    return matrix


def _insert(client: Any, collection: str, chunks: list[Chunk], start_pk: int, vectors: np.ndarray | None,
            progress: Progress) -> None:
    for s in range(0, len(chunks), BATCH):
        part = chunks[s:s + BATCH]
        vecs = vectors[s:s + BATCH] if vectors is not None else None
        try:
            client.insert(collection_name=collection, data=rows_of(part, start_pk + s, vecs))
        except Exception as exc:  # noqa: BLE001 - a server gone mid-build is one clear error
            raise DataError(f"Milvus: inserting into {collection} failed after {s} of {len(chunks)} chunks: "
                            f"{_short(exc)}; the previous knowledge base (if any) is unchanged") from exc
        if progress:
            progress("insert", s + len(part), len(chunks))
    flush = getattr(client, "flush", None)
    if flush is not None:
        with contextlib.suppress(Exception):  # Milvus Lite needs no flush
            flush(collection_name=collection)


def _median_rows(chunks: list[Chunk], start_pk: int, have: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    """Up to :data:`MEDIAN_SAMPLE` primary keys per language (kept from ``have`` where present)."""
    out = {k: list(v) for k, v in (have or {}).items()}
    by_lang: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_lang.setdefault(c.language, []).append(start_pk + i)
    rng = np.random.default_rng(0)
    for lang, pks in by_lang.items():
        room = MEDIAN_SAMPLE - len(out.get(lang, []))
        if room <= 0:
            continue
        pick = pks if len(pks) <= room else sorted(rng.choice(pks, room, replace=False).tolist())
        out[lang] = out.get(lang, []) + [int(p) for p in pick]
    return out


def _generations(client: Any, name: str) -> list[str]:
    pat = re.compile(rf"^{re.escape(name)}_g(\d+)$")
    return sorted(n for n in client.list_collections() if pat.match(n))


def build(uri: str, sources: list[str], *, dense: bool = True, dense_chars: int = DENSE_CHARS,
          max_chars: dict[str, int] | None = None, progress: Progress = None) -> BuildReport:
    """Build a knowledge base in a new collection and point the alias at it.

    Raises:
        DataError: unreachable Milvus, or no source yielded any text.
    """
    from medsage.embed import DIM, MODEL
    from medsage.kb.ann import wants_ann
    from medsage.kb.ingest import read_sources

    client, name = connect(uri, must_exist=False)
    t0 = time.perf_counter()
    report, chunks = read_sources(list(sources), max_chars)
    try:
        old = _generations(client, name)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"cannot reach Milvus at {split_milvus_uri(uri)[0]}: {_short(exc)}") from exc
    number = max((int(n.rsplit("_g", 1)[1]) for n in old), default=0) + 1
    collection = f"{name}_g{number:06d}"
    vectors = _embed(chunks, dense_chars, report, progress) if dense else None
    t1 = time.perf_counter()
    exact = not wants_ann(len(chunks))  # the embedded store's rule: small KBs are searched exactly
    create_collection(client, collection, DIM if dense else None, exact=exact)
    _insert(client, collection, chunks, 0, vectors, progress)
    meta = {"format": FORMAT, "chunks": len(chunks), "next_pk": len(chunks),
            "dense": {"model": MODEL, "dim": DIM, "dense_chars": dense_chars} if dense else None,
            "dense_index": ("FLAT" if exact else "HNSW") if dense else None,
            "sources": sorted(set(sources)), "languages": sorted({c.language for c in chunks}),
            "median_rows": _median_rows(chunks, 0)}
    try:
        write_meta(client, collection, meta)
        aliases = client.list_aliases(collection_name=old[-1]).get("aliases", []) if old else []
        if name in aliases:
            client.alter_alias(collection_name=collection, alias=name)
        else:
            client.create_alias(collection_name=collection, alias=name)
    except Exception as exc:  # noqa: BLE001 - the alias still names the previous build, if any
        with contextlib.suppress(Exception):
            client.drop_collection(collection)
        raise DataError(f"Milvus: the new build of {name} could not be made live ({_short(exc)}); "
                        "the previous knowledge base, if any, is unchanged") from exc
    for stale in old:
        try:
            client.drop_collection(stale)
            if client.has_collection(f"{stale}_meta"):
                client.drop_collection(f"{stale}_meta")
        except Exception as exc:  # noqa: BLE001 - the next build drops it again
            log.warning("Milvus: could not drop the old build %s (%s); the next build retries", stale, _short(exc))
    report.seconds["milvus"] = round(time.perf_counter() - t1, 3)
    report.added = report.chunks = len(chunks)
    report.seconds["total"] = round(time.perf_counter() - t0, 3)
    return report


def _delete(kb: MilvusKB, expr: str, prefix: str | None = None) -> int:
    """Delete the rows matching ``expr`` (and whose doc_id starts with ``prefix``); returns how many."""
    pks: list[int] = []
    top = int(kb.meta.get("next_pk", 0))
    for lo in range(0, top, 10_000):
        rows = kb._call("query", filter=f"pk >= {lo} and pk < {lo + 10_000} and ({expr})",
                        output_fields=["pk", "doc_id"])
        pks.extend(int(r["pk"]) for r in rows if prefix is None or str(r["doc_id"]).startswith(prefix))
    for s in range(0, len(pks), 1000):
        kb._call("delete", ids=pks[s:s + 1000])
    return len(pks)


def _ids_expr(field: str, values: Iterable[str]) -> list[str]:
    vals = sorted(set(values))
    return [f"{field} in [" + ", ".join(json.dumps(v, ensure_ascii=False) for v in vals[s:s + 500]) + "]"
            for s in range(0, len(vals), 500)]


def add(uri: str, sources: list[str], progress: Progress = None) -> BuildReport:
    """Add (or replace, by document id) the documents of ``sources`` in place."""
    from medsage.kb.ingest import ingest

    kb = MilvusKB(uri)
    report = BuildReport()
    t0 = time.perf_counter()
    new = ingest(sources, report)
    for expr in _ids_expr("doc_id", {c.doc_id for c in new}):
        report.removed += _delete(kb, expr)
    dense_info = kb.meta.get("dense") or {}
    vectors = _embed(new, int(dense_info.get("dense_chars", LEGACY_DENSE_CHARS)), report, progress) if dense_info else None
    start = int(kb.meta.get("next_pk", 0))
    _insert(kb.client, kb.collection, new, start, vectors, progress)
    meta = dict(kb.meta)
    meta.update(next_pk=start + len(new), chunks=int(meta.get("chunks", 0)) - report.removed + len(new),
                sources=sorted(set(meta.get("sources", [])) | set(sources)),
                languages=sorted(set(meta.get("languages", [])) | {c.language for c in new}),
                median_rows=_median_rows(new, start, meta.get("median_rows")))
    write_meta(kb.client, kb.collection, meta)
    report.added = len(new)
    report.chunks = int(meta["chunks"])
    report.seconds["total"] = round(time.perf_counter() - t0, 3)
    return report


def remove(uri: str, doc_ids: Iterable[str] = (), sources: Iterable[str] = (),
           prefixes: Iterable[str] = ()) -> BuildReport:
    """Remove documents by id, source kind or id prefix, in place.

    Raises:
        DataError: when nothing matched.
    """
    kb = MilvusKB(uri)
    report = BuildReport()
    for expr in _ids_expr("doc_id", doc_ids) + _ids_expr("source", sources):
        report.removed += _delete(kb, expr)
    for pre in (p for p in prefixes if p):
        # LIKE narrows the scan ('%' and '_' are wildcards there); startswith decides
        pattern = json.dumps(pre.split("%", 1)[0] + "%", ensure_ascii=False)
        report.removed += _delete(kb, f"doc_id like {pattern}", prefix=pre)
    if not report.removed:
        raise DataError("nothing to remove: no document matched")
    meta = dict(kb.meta)
    meta["chunks"] = int(meta.get("chunks", 0)) - report.removed
    write_meta(kb.client, kb.collection, meta)
    report.chunks = int(meta["chunks"])
    return report
