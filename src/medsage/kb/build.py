"""Build, extend and shrink a knowledge base on disk.

Every operation writes a complete new generation (chunks, BM25 index, embeddings,
and above :data:`medsage.kb.ann.ANN_MIN_CHUNKS` chunks an HNSW index per language)
and publishes it through the manifest (see :mod:`medsage.kb.store`). Embeddings of
chunks that did not change are reused, so ``add`` and ``remove`` only embed new text.
A KB built with ``embedder="static"`` (:mod:`medsage.kb.static`) keeps it through ``add``
and ``remove``: the word table is rebuilt, and only words never embedded before are.

A Milvus URI as the target (see :mod:`medsage.kb.backend`) sends the same operations
to :mod:`medsage.kb.milvus`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medsage.errors import DataError, SpecError
from medsage.kb import store
from medsage.kb.backend import is_milvus_uri
from medsage.kb.ingest import DENSE_CHARS, LEGACY_DENSE_CHARS, dense_text, ingest, read_sources
from medsage.kb.types import BuildReport, Chunk

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def _existing(kb_dir: Path) -> tuple[dict, list[Chunk], np.ndarray | None]:
    manifest = store.read_manifest(kb_dir)
    gen = kb_dir / manifest["generation"]
    chunks = store.read_chunks(gen)
    matrix = None
    if manifest.get("dense") and (gen / "dense.npy").is_file():
        matrix = np.load(gen / "dense.npy")
    return manifest, chunks, matrix


@dataclass(frozen=True)
class IndexSettings:
    """How a generation is indexed.

    Attributes:
        dense: Write embeddings (and so dense and hybrid search).
        dense_chars: Characters of each chunk that are embedded.
        ann: ``auto``, ``on`` or ``off``: whether HNSW indexes are written (auto: for large KBs).
        embedder: ``e5`` (each chunk embedded) or ``static`` (word vectors, :mod:`medsage.kb.static`).
        remove_pc: With ``static``: remove the corpus's first principal component.
    """

    dense: bool = True
    dense_chars: int = DENSE_CHARS
    ann: str = "auto"
    embedder: str = "e5"
    remove_pc: bool = False

    @classmethod
    def of(cls, manifest: dict) -> IndexSettings:
        """The settings an existing KB was built with (ANN stays on once built)."""
        from medsage.kb.static import embedder_of

        dense_info = manifest.get("dense") or {}
        return cls(bool(dense_info), int(dense_info.get("dense_chars", LEGACY_DENSE_CHARS)), _ann_setting(manifest),
                   embedder_of(manifest), bool((dense_info.get("static") or {}).get("remove_pc")))


def write_kb(
    kb_dir: Path,
    chunks: list[Chunk],
    report: BuildReport,
    settings: IndexSettings,
    *,
    sources: list[str] | None = None,
    reuse: tuple[list[Chunk], np.ndarray | None] | None = None,
    progress: Progress | None = None,
) -> dict:
    """Index ``chunks`` into a new generation under ``kb_dir`` and publish it.

    Args:
        kb_dir: The knowledge-base directory.
        chunks: Every chunk of the new generation.
        report: Filled with timings and the counts of chunks and embedded texts.
        settings: Dense embeddings and ANN indexes or not.
        sources: The sources recorded in the manifest.
        reuse: The previous generation's chunks and embeddings; unchanged chunks keep theirs.
        progress: Called with ``(stage, done, total)``.

    Returns:
        The manifest entry of the published generation.
    """
    from medsage.kb.chunktable import write_index
    from medsage.kb.sparse import SparseIndex

    gen = store.new_generation(kb_dir)
    t0 = time.perf_counter()
    store.write_chunks(gen, chunks)
    write_index(gen, chunks)
    SparseIndex.build([c.index_text for c in chunks]).save(gen / "bm25")
    report.seconds["sparse"] = round(time.perf_counter() - t0, 3)
    info: dict = {"chunks": len(chunks), "documents": len({c.doc_id for c in chunks}),
                  "sources": sorted(set(sources or [])), "dense": None}
    if settings.dense:
        info.update(_write_dense(gen, chunks, report, settings, reuse, progress))
    report.chunks = len(chunks)
    return store.commit(kb_dir, gen, info)


def _write_dense(gen: Path, chunks: list[Chunk], report: BuildReport, settings: IndexSettings,
                 reuse: tuple[list[Chunk], np.ndarray | None] | None, progress: Progress | None) -> dict:
    """Embed the chunks, write the matrix and ANN indexes.

    Returns:
        The manifest's ``dense`` and ``ann`` entries.
    """
    from medsage.kb.dense import DenseIndex
    from medsage.kb.mapped import NAME as MAPPED
    from medsage.kb.static import NAME

    t1 = time.perf_counter()
    if settings.embedder in (NAME, MAPPED):
        matrix, dense_info = _static_matrix(gen, chunks, report, settings, progress)
    else:
        matrix, dense_info = _e5_matrix(chunks, report, settings, reuse, progress)
    DenseIndex(matrix).save(gen / "dense.npy")
    info: dict = {"dense": dense_info}
    report.seconds["dense"] = round(time.perf_counter() - t1, 3)
    info["ann"] = _write_ann(gen, chunks, matrix, settings.ann, progress)
    if info["ann"]:
        report.seconds["ann"] = round(time.perf_counter() - t1 - report.seconds["dense"], 3)
    return info


def _e5_matrix(chunks: list[Chunk], report: BuildReport, settings: IndexSettings,
               reuse: tuple[list[Chunk], np.ndarray | None] | None, progress: Progress | None) -> tuple[np.ndarray, dict]:
    """e5 embeddings of the chunks (unchanged ones keep theirs) and the manifest's ``dense``."""
    from medsage.embed import DIM, MODEL, embed_texts

    matrix = np.zeros((len(chunks), DIM), dtype=np.float16)  # as stored; half the memory of float32
    old_vec: dict[str, tuple[Chunk, np.ndarray]] = {}
    if reuse is not None and reuse[1] is not None:
        old_vec = {c.chunk_id: (c, reuse[1][i]) for i, c in enumerate(reuse[0])}
    todo: list[int] = []
    for i, chunk in enumerate(chunks):
        prev = old_vec.get(chunk.chunk_id)
        if prev is not None and prev[0] == chunk:
            matrix[i] = prev[1]
        else:
            todo.append(i)
    report.embedded = 0
    if todo:
        texts = [dense_text(chunks[i], settings.dense_chars) for i in todo]
        step = (lambda n: progress("embed", n, len(todo))) if progress else None
        matrix[todo], report.embedded = embed_texts(texts, progress=step)
    return matrix, {"model": MODEL, "dim": DIM, "dense_chars": settings.dense_chars}


def _static_matrix(gen: Path, chunks: list[Chunk], report: BuildReport, settings: IndexSettings,
                   progress: Progress | None) -> tuple[np.ndarray, dict]:
    """Static (or mapped static) vectors of every chunk; the word table is rebuilt, its words come from the cache.

    ``report.embedded`` counts *words* (and, mapped, sampled chunks) embedded.
    """
    from medsage.embed import DIM
    from medsage.kb.mapped import NAME as MAPPED
    from medsage.kb.mapped import write_mapped
    from medsage.kb.static import model_name, write_static

    texts = [dense_text(c, settings.dense_chars) for c in chunks]
    if settings.embedder == MAPPED:
        vectors, report.embedded, table = write_mapped(gen, texts, progress=progress)
        name = f"{model_name()}, mapped into {DIM}-d e5 space"
    else:
        vectors, report.embedded, table = write_static(gen, texts, remove_pc=settings.remove_pc, progress=progress)
        name = model_name()
    return vectors.astype(np.float16), {"model": name, "dim": DIM, "dense_chars": settings.dense_chars,
                                        "embedder": settings.embedder, "static": table}


def _write_ann(gen: Path, chunks: list[Chunk], matrix: np.ndarray, ann: str,
               progress: Progress | None) -> dict | None:
    from medsage.kb.ann import CONNECTIVITY, DIRNAME, build_ann, wants_ann

    if not wants_ann(len(chunks), ann):
        return None
    names = sorted({c.language for c in chunks})
    codes = np.array([names.index(c.language) for c in chunks], dtype=np.uint16)
    step = (lambda n: progress("ann", n, len(chunks))) if progress else None
    counts = build_ann(gen / DIRNAME, matrix, codes, names, progress=step)
    return {"library": "usearch", "metric": "cos", "connectivity": CONNECTIVITY, "rows": counts}


def build(  # noqa: PLR0913 - keyword-only index options, each passed by name
    out_dir: Path | str,
    sources: list[str],
    *,
    dense: bool = True,
    dense_chars: int = DENSE_CHARS,
    max_chars: dict[str, int] | None = None,
    progress: Progress | None = None,
    ann: str = "auto",
    embedder: str = "e5",
    remove_pc: bool = False,
) -> BuildReport:
    """Build a knowledge base at ``out_dir`` from ``sources`` (replacing one already there).

    ``out_dir`` may be a Milvus URI (see :mod:`medsage.kb.backend`). ``embedder`` ``static``
    (folder KBs only) embeds words instead of chunks (:mod:`medsage.kb.static`);
    ``remove_pc`` is its principal-component option.

    Raises:
        DataError: if ``out_dir`` holds other files, or no source yielded any text.
        SpecError: for an unknown ``embedder``, or ``static`` with a Milvus URI.
    """
    from medsage.kb.static import EMBEDDERS, NAME

    if embedder not in EMBEDDERS:
        raise SpecError(f"unknown embedder '{embedder}' (known: {', '.join(EMBEDDERS)})")
    if remove_pc and embedder != NAME:
        raise SpecError("--remove-pc is an option of --embedder static")
    if is_milvus_uri(out_dir):
        if embedder != "e5":
            raise SpecError(f"--embedder {embedder} is for folder knowledge bases only; a Milvus store "
                            "embeds chunks with e5 (drop --embedder, or build into a folder)")
        from medsage.kb.milvus_build import build as milvus_build

        return milvus_build(str(out_dir), sources, dense=dense, dense_chars=dense_chars,
                            max_chars=max_chars, progress=progress)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        ours = (out_dir / store.MANIFEST).exists() or any(out_dir.glob("g[0-9]*"))
        if not ours:
            raise DataError(f"{out_dir} is not empty and not a knowledge base; choose another --out")
    t0 = time.perf_counter()
    report, chunks = read_sources(list(sources), max_chars)
    report.added = len(chunks)
    write_kb(out_dir, chunks, report, IndexSettings(dense, dense_chars, ann, embedder, remove_pc), sources=sources,
             progress=progress)
    report.seconds["total"] = round(time.perf_counter() - t0, 3)
    return report


def add(kb_dir: Path | str, sources: list[str], progress: Progress | None = None) -> BuildReport:
    """Add (or replace, by document id) the documents of ``sources`` in an existing KB."""
    if is_milvus_uri(kb_dir):
        from medsage.kb.milvus_build import add as milvus_add

        return milvus_add(str(kb_dir), sources, progress=progress)
    kb_dir = Path(kb_dir)
    manifest, old, matrix = _existing(kb_dir)
    report = BuildReport()
    t0 = time.perf_counter()
    new = ingest(sources, report)
    new_docs = {c.doc_id for c in new}
    kept = [c for c in old if c.doc_id not in new_docs]
    report.removed = len(old) - len(kept)
    report.added = len(new)
    write_kb(kb_dir, kept + new, report, IndexSettings.of(manifest),
             sources=list(manifest.get("sources", [])) + sources, reuse=(old, matrix), progress=progress)
    report.seconds["total"] = round(time.perf_counter() - t0, 3)
    return report


def remove(
    kb_dir: Path | str, doc_ids: Iterable[str] = (), sources: Iterable[str] = (), prefixes: Iterable[str] = ()
) -> BuildReport:
    """Remove documents by id, by source kind, or by document-id prefix.

    Raises:
        DataError: when nothing matched.
    """
    if is_milvus_uri(kb_dir):
        from medsage.kb.milvus_build import remove as milvus_remove

        return milvus_remove(str(kb_dir), doc_ids, sources, prefixes)
    kb_dir = Path(kb_dir)
    manifest, old, matrix = _existing(kb_dir)
    ids, kinds, pre = set(doc_ids), set(sources), tuple(prefixes)
    kept = [c for c in old if not (c.doc_id in ids or c.source in kinds or (pre and c.doc_id.startswith(pre)))]
    report = BuildReport(removed=len(old) - len(kept))
    if not report.removed:
        raise DataError("nothing to remove: no document matched")
    report.documents = len({c.doc_id for c in kept})
    write_kb(kb_dir, kept, report, IndexSettings.of(manifest),
             sources=list(manifest.get("sources", [])), reuse=(old, matrix))
    return report


def _ann_setting(manifest: dict) -> str:
    """Keep an existing KB's choice: ANN stays on once built, otherwise decide by size."""
    return "on" if manifest.get("ann") else "auto"
