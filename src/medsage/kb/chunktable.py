"""Chunks of the embedded store read on demand, and their metadata as small arrays.

``chunks.jsonl`` is memory-mapped; ``chunks.idx.npy`` holds the byte offset of every
line (n + 1 int64) and ``chunks.meta.npz`` the language, source and licence of every
row as small integer codes. A search then touches only the lines of the chunks it
returns, and a filter is one vectorised comparison, so a million-chunk store does not
hold a million Python objects. Stores written before these files existed are indexed
once when opened (reading every line).
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from medsage.kb.types import Chunk

IDX = "chunks.idx.npy"
META = "chunks.meta.npz"
FIELDS = ("language", "source", "licence")


def write_index(gen: Path, chunks: Sequence[Chunk]) -> None:
    """Write ``chunks.idx.npy`` and ``chunks.meta.npz`` for the ``chunks.jsonl`` in ``gen``."""
    np.save(gen / IDX, _line_offsets(gen / "chunks.jsonl"))
    arrays: dict[str, Any] = _codes([[getattr(c, f) for c in chunks] for f in FIELDS])
    np.savez(gen / META, **arrays)


def _line_offsets(path: Path, block: int = 1 << 23) -> np.ndarray:
    """Byte offset of every line start, plus the file size (read in 8 MB blocks)."""
    parts = [np.zeros(1, dtype=np.int64)]
    pos = 0
    with path.open("rb") as fh:
        while data := fh.read(block):
            parts.append(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10).astype(np.int64) + pos + 1)
            pos += len(data)
    offsets = np.concatenate(parts)
    if offsets[-1] != pos:  # a last line without a newline
        offsets = np.append(offsets, pos)
    return offsets


def _codes(columns: list[list[str]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, values in zip(FIELDS, columns, strict=True):
        names = sorted(set(values))
        lookup = {v: i for i, v in enumerate(names)}
        out[name] = np.array([lookup[v] for v in values], dtype=np.uint16)
        out[f"{name}_names"] = np.array(names, dtype=str)
    return out


class ChunkTable(Sequence[Chunk]):
    """Read-only, lazily parsed view of a generation's chunks.

    Attributes:
        codes: Per field (language, source, licence), the uint16 code of every row.
        names: Per field, the value of each code.
    """

    def __init__(self, gen: Path) -> None:
        path = gen / "chunks.jsonl"
        self._fh = path.open("rb")
        size = path.stat().st_size
        self._map: Any = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        indexed = (gen / IDX).is_file() and (gen / META).is_file()
        if indexed:
            self._offsets = np.load(gen / IDX, mmap_mode="r")
        else:  # an older store: index it now
            self._offsets = _line_offsets(path)
        self._n = max(0, len(self._offsets) - 1)
        while self._n and self._line(self._n - 1).strip() == b"":  # a trailing blank line
            self._n -= 1
        if indexed:
            meta: Any = np.load(gen / META, allow_pickle=False)
        else:
            meta = _codes([[getattr(c, f) for c in self] for f in FIELDS])
        self.codes = {f: np.asarray(meta[f]) for f in FIELDS}
        self.names = {f: [str(v) for v in meta[f"{f}_names"].tolist()] for f in FIELDS}

    def _line(self, i: int) -> bytes:
        return bytes(self._map[int(self._offsets[i]):int(self._offsets[i + 1])])

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return Chunk.from_dict(json.loads(self._line(i)))

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(self._n):
            yield self[i]

    def rows_where(self, field: str, values: frozenset[str]) -> np.ndarray:
        """Boolean mask of rows whose ``field`` is one of ``values``."""
        wanted = [code for code, name in enumerate(self.names[field]) if name in values]
        return np.isin(self.codes[field], np.array(wanted, dtype=np.uint16))

    def close(self) -> None:
        """Release the memory map and the file."""
        if isinstance(self._map, mmap.mmap):
            self._map.close()
        self._fh.close()
