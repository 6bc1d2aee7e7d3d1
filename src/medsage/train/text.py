"""Text helpers shared by curation and decontamination: normalisation,
language detection, tokens and n-grams that work for English and Chinese."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)
_CJK_RE = re.compile(rf"[{_CJK}]")
_LATIN_RE = re.compile(r"[A-Za-z]")
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


def detect_language(text: str) -> str:
    """``zh`` when Han characters outnumber Latin letters' words, else ``en``;
    ``und`` for text with neither."""
    han = len(_CJK_RE.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if han == 0 and latin_words == 0:
        return "und"
    return "zh" if han >= latin_words else "en"


def cjk_ratio(text: str) -> float:
    """Share of Han characters among Han characters and Latin letters."""
    han = len(_CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    return han / (han + latin) if han + latin else 0.0


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
