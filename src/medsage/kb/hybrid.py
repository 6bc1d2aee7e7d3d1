"""Reciprocal-rank fusion (Cormack et al. 2009) of ranked lists."""

from __future__ import annotations

RRF_K = 60


def rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked lists of row ids: score = sum over lists of 1 / (k + rank), rank from 1.

    Ties are broken by the first list's order, then by row id, so results are deterministic.
    """
    scores: dict[int, float] = {}
    first: dict[int, int] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
            first.setdefault(row, len(first))
    return sorted(scores.items(), key=lambda item: (-item[1], first[item[0]], item[0]))
