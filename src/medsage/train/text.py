"""Text helpers shared by curation and decontamination.

Normalisation for duplicate keys, and tokens and n-grams that work for English and Chinese
(language: :mod:`medsage.lang`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC-fold, lower-case and collapse whitespace (for exact-duplicate keys)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE_RE.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """Word tokens for Latin script, one token per Han character.

    Punctuation is dropped, so formatting differences ("A." vs "A)") do not
    hide an overlap.
    """
    return _TOKEN_RE.findall(normalize(text))


def ngram_hashes(toks: list[str], n: int) -> set[int]:
    """64-bit hashes of all ``n``-grams of ``toks`` (the whole list if shorter)."""
    if not toks:
        return set()
    if len(toks) <= n:
        return {_h(" ".join(toks))}
    return {_h(" ".join(toks[i : i + n])) for i in range(len(toks) - n + 1)}


def shingles(text: str, n: int = 3) -> set[str]:
    """Token ``n``-gram shingles for MinHash (whole text if shorter)."""
    toks = tokens(text)
    if len(toks) <= n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
