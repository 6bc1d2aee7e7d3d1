"""The embedded on-disk store: everything under one folder, no server.

Layout::

    DIR/manifest.json        written last, atomically; names the live generation
    DIR/g000001/chunks.jsonl one chunk per line (metadata + text)
    DIR/g000001/bm25/        the bm25s index
    DIR/g000001/dense.npy    L2-normalised float16 embeddings, row i = chunk i

A build writes a new generation folder, then replaces ``manifest.json`` with
``os.replace``; readers follow the manifest, so a crash mid-build leaves the old
generation intact, and a folder whose manifest is missing, or whose files do not
match the sizes the manifest records, is reported as half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.kb.types import Chunk

FORMAT = "medsage-kb/1"
MANIFEST = "manifest.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file, fsync and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_manifest(kb_dir: Path) -> dict[str, Any]:
    """The manifest of the knowledge base at ``kb_dir``, checked for completeness.

    Raises:
        DataError: when the folder is missing, is not a knowledge base, or is half-written.
    """
    if not kb_dir.is_dir():
        raise DataError(f"knowledge base {kb_dir} does not exist (build it with: medsage kb build --out {kb_dir} SOURCE…)")
    path = kb_dir / MANIFEST
    if not path.is_file():
        gens = [p.name for p in kb_dir.glob("g[0-9]*") if p.is_dir()]
        what = "half-written (a build did not finish)" if gens else "not a medsage knowledge base"
        raise DataError(f"knowledge base {kb_dir} is {what}: no {MANIFEST}; rebuild it")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"knowledge base {kb_dir}: unreadable {MANIFEST} ({exc}); rebuild it") from exc
    if manifest.get("format") != FORMAT or not manifest.get("generation"):
        raise DataError(f"knowledge base {kb_dir}: unknown format {manifest.get('format')!r}")
    gen = kb_dir / str(manifest["generation"])
    for rel, size in dict(manifest.get("files", {})).items():
        f = gen / rel
        if not f.is_file() or f.stat().st_size != size:
            raise DataError(
                f"knowledge base {kb_dir} is half-written or damaged: {f} is missing or "
                "truncated; rebuild it"
            )
    return manifest


def new_generation(kb_dir: Path) -> Path:
    """Create and return the next generation folder under ``kb_dir``."""
    kb_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[1:]) for p in kb_dir.glob("g[0-9]*") if p.name[1:].isdigit()]
    gen = kb_dir / f"g{max(numbers, default=0) + 1:06d}"
    gen.mkdir()
    return gen


def write_chunks(gen: Path, chunks: list[Chunk]) -> None:
    """Write ``chunks.jsonl`` in ``gen``."""
    with (gen / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_chunks(gen: Path) -> list[Chunk]:
    """Read ``chunks.jsonl`` from ``gen``."""
    with (gen / "chunks.jsonl").open(encoding="utf-8") as fh:
        return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]


def commit(kb_dir: Path, gen: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Publish generation ``gen`` by atomically replacing the manifest; drop older ones."""
    files = {
        p.relative_to(gen).as_posix(): p.stat().st_size for p in sorted(gen.rglob("*")) if p.is_file()
    }
    manifest = {
        "format": FORMAT,
        "generation": gen.name,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **info,
        "files": files,
    }
    write_json_atomic(kb_dir / MANIFEST, manifest)
    for old in kb_dir.glob("g[0-9]*"):
        if old.is_dir() and old.name != gen.name:
            shutil.rmtree(old, ignore_errors=True)
    return manifest
