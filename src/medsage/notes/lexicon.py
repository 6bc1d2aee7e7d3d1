"""Licence-free medical concept lexicons and a small concept matcher with negation.

The shipped lexicons (``medsage/data/note_lexicons/{en,zh}.json``) were written
for medsage: symptoms, problems, findings, tests, procedures and drugs, each
concept a canonical name with synonyms. When :mod:`medsage.safety` ships a drug
dictionary, its names are added to the English drug list.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from medsage.lang import normalise

log = logging.getLogger(__name__)

_SKIP_EN = {"pt", "uri", "cold", "echo", "iron", "sugar", "broken", "cast", "brace", "weak", "tired"}
_NEG_EN = re.compile(r"\b(no|not|denies|denied|deny|without|negative for|never|none|nor|free of|"
                     r"doesn'?t have|don'?t have|hasn'?t had|haven'?t had|hadn'?t|resolved|absence of)\b")
_NEG_ZH = re.compile(r"(无|没有|没|否认|不|未|排除)")
_CLAUSE_EN = re.compile(r"[.;:!?\n]|\bbut\b|\bhowever\b|\bexcept\b")
_CLAUSE_ZH = re.compile(r"[，。；！？,;!?\n]|但|但是")


@dataclass(frozen=True)
class Mention:
    """One concept occurrence in a text."""

    concept: str
    kind: str
    start: int
    end: int
    negated: bool = False


@dataclass(frozen=True)
class Lexicon:
    """A compiled lexicon for one language."""

    lang: str
    pattern: re.Pattern[str]
    canon: dict[str, tuple[str, str]]  # surface (lower) -> (canonical, kind)


def _load_json(lang: str) -> dict[str, list[list[str]]]:
    f = resources.files("medsage.data") / "note_lexicons" / f"{lang}.json"
    data = json.loads(f.read_text(encoding="utf-8"))
    concepts: dict[str, list[list[str]]] = data["concepts"]
    return concepts


def _safety_drugs() -> list[list[str]]:
    """Drug names from :mod:`medsage.safety`'s dictionary.

    Short or coded names ("ASA", "6-MP") that collide with words are left out.
    """
    from medsage.safety import drug_names

    return [[str(n).lower()] for n in drug_names() if len(str(n)) >= 4 and str(n).replace(" ", "").isalpha()]


@lru_cache(maxsize=4)
def get_lexicon(lang: str) -> Lexicon:
    """The compiled lexicon for ``en`` or ``zh``."""
    key = "zh" if lang == "zh" else "en"
    concepts = _load_json(key)
    if key == "en":
        concepts = {**concepts, "drug": concepts.get("drug", []) + _safety_drugs()}
    canon: dict[str, tuple[str, str]] = {}
    for kind, entries in concepts.items():
        for entry in entries:
            for surface in entry:
                s = surface.lower().strip()
                if s and (key == "zh" or s not in _SKIP_EN) and s not in canon:
                    canon[s] = (entry[0].lower(), kind)
    alts = "|".join(re.escape(s) for s in sorted(canon, key=len, reverse=True))
    pattern = re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])" if key == "en" else f"(?:{alts})")
    return Lexicon(key, pattern, canon)


def find_concepts(text: str, lang: str = "en") -> list[Mention]:
    """All lexicon concepts in ``text``, with a simple negation flag (NegEx-style).

    Matching runs on the normalised copy (:func:`medsage.lang.normalise`); spans point
    at the original characters.
    """
    lex = get_lexicon(lang)
    clean, omap = normalise(text)
    low = clean.lower()
    if len(low) != len(clean):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in clean)
    out = []
    for m in lex.pattern.finditer(low):
        concept, kind = lex.canon[m.group(0)]
        start, end = omap.span(m.start(), m.end())
        out.append(Mention(concept, kind, start, end, _negated(low, m.start(), lex.lang)))
    return out


def _negated(low: str, start: int, lang: str) -> bool:
    if lang == "zh":
        window = low[max(0, start - 6):start]
        window = _CLAUSE_ZH.split(window)[-1]
        return bool(_NEG_ZH.search(window))
    window = low[max(0, start - 60):start]
    window = _CLAUSE_EN.split(window)[-1]
    words = window.split()[-6:]
    return bool(_NEG_EN.search(" ".join(words)))


def concept_set(text: str, lang: str = "en", kinds: tuple[str, ...] | None = None) -> set[str]:
    """The canonical concepts mentioned in ``text`` (optionally only some kinds)."""
    return {m.concept for m in find_concepts(text, lang) if kinds is None or m.kind in kinds}
