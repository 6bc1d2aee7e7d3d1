"""Exact and near-duplicate removal (MinHash + LSH via ``datasketch``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medsage.errors import MissingExtraError
from medsage.train.records import Pair, Record
from medsage.train.text import normalize, shingles

NUM_PERM = 128


def minhash(text: str, num_perm: int = NUM_PERM, n: int = 3) -> Any:
    """A ``datasketch.MinHash`` of the token ``n``-gram shingles of ``text``."""
    try:
        from datasketch import MinHash
    except ImportError:  # pragma: no cover - datasketch comes with the [train] extra
        raise MissingExtraError("datasketch", "train", "near-duplicate detection") from None
    mh = MinHash(num_perm=num_perm, seed=1)
    sh = shingles(text, n)
    if sh:
        mh.update_batch([s.encode("utf-8") for s in sh])
    return mh


@dataclass
class DedupReport:
    """What deduplication removed: ``removed`` maps a dropped id to the id it duplicates."""

    kept: int = 0
    exact: int = 0
    near: int = 0
    removed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: kept, exact and near duplicates, and what was removed."""
        return {"kept": self.kept, "exact_duplicates": self.exact, "near_duplicates": self.near,
                "removed": self.removed}


def dedup(items: list[Any], threshold: float = 0.8, num_perm: int = NUM_PERM,
          progress: Callable[[str, int, int], None] | None = None) -> tuple[list[Any], DedupReport]:
    """Drop exact duplicates (same normalised text) and near duplicates.

    Near duplicates are records whose MinHash Jaccard estimate on token
    3-gram shingles of the whole record reaches ``threshold``; the first
    occurrence is kept. ``threshold`` <= 0 disables the near-duplicate pass.
    ``progress`` gets ``("exact", done, total)`` then ``("near", done, total)``
    (:data:`medsage.progress.StageCallback`).
    """
    rep = DedupReport()
    seen: dict[str, str] = {}
    exact_kept: list[Record | Pair] = []
    for n, it in enumerate(items, 1):
        if progress:
            progress("exact", n, len(items))
        key = hashlib.sha1(normalize(it.all_text()).encode("utf-8")).hexdigest()
        if key in seen:
            rep.exact += 1
            rep.removed[it.id] = seen[key]
            continue
        seen[key] = it.id
        exact_kept.append(it)
    if threshold <= 0:
        rep.kept = len(exact_kept)
        return exact_kept, rep
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    store: dict[str, Any] = {}
    kept: list[Any] = []
    for i, it in enumerate(exact_kept):
        if progress:
            progress("near", i + 1, len(exact_kept))
        mh = minhash(it.all_text(), num_perm)
        # LSH gives candidates; confirm with the Jaccard estimate to cut false positives.
        hit = next((k for k in lsh.query(mh) if _jaccard(mh, store[k]) >= threshold), None)
        if hit is not None:
            rep.near += 1
            rep.removed[it.id] = hit.split("#", 1)[0]
            continue
        key = f"{it.id}#{i}"
        store[key] = mh
        lsh.insert(key, mh)
        kept.append(it)
    rep.kept = len(kept)
    return kept, rep


def _jaccard(a: Any, b: Any) -> float:
    return float(a.jaccard(b))
