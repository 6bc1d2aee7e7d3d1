"""Chinese questions over English sources: an English rendering of the query's medical terms.

multilingual-e5-small matches a Chinese question to English passages only weakly, and
BM25 cannot match Chinese words to English text at all. Without a language model, the
query's medical terms are translated with a bilingual glossary
(``data/crosslingual/zh_en_medical.tsv``, written by the project: diseases, symptoms
and their colloquial names, body parts, tests, drugs and question words such as
症状 -> symptoms). The glossary is applied by longest match over each run of Chinese
characters, so a term found whole (糖尿病肾病) wins over its parts (糖尿病, 肾病).

The resulting :class:`Rendering` feeds :func:`medsage.kb.backend.fused_search`: its
``dense`` text (the first English term of each match, in the question's order) is
embedded as a second query, its ``sparse`` text (every English alternative) is added
to the BM25 query. A translation made by a language model can be given instead
(:func:`model_translations`, ``benchmarks/kb/quality.py --translate model``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from medsage.errors import DataError
from medsage.lang import detect_language

GLOSSARY = "data/crosslingual/zh_en_medical.tsv"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z0-9\-']+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-']*")
TRANSLATE_PROMPT = ("Translate this medical question into plain English. Reply with the English "
                    "question only, no explanation.\n\n{query}")


@dataclass(frozen=True)
class Rendering:
    """An English rendering of a (Chinese) query.

    Attributes:
        dense: Text embedded as the second, English query.
        sparse: Extra words for the BM25 query.
        coverage: Share of the query's Chinese characters covered by glossary terms
            (1.0 for a model translation).
    """

    dense: str
    sparse: str
    coverage: float = 1.0


class Glossary:
    """Chinese term -> English alternatives, matched longest first."""

    def __init__(self, entries: dict[str, tuple[str, ...]]) -> None:
        self.entries = entries
        self.longest = max((len(k) for k in entries), default=0)

    @classmethod
    def parse(cls, text: str, name: str = "glossary") -> Glossary:
        """Read ``zh<TAB>en; en2`` lines (``#`` starts a comment line).

        Raises:
            DataError: for a line without a tab-separated English side.
        """
        entries: dict[str, tuple[str, ...]] = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            zh, sep, en = line.partition("\t")
            alts = tuple(a.strip() for a in en.split(";") if a.strip())
            if not sep or not zh.strip() or not alts:
                raise DataError(f"{name} line {n}: expected 'Chinese<TAB>English', got {line!r}")
            entries[zh.strip()] = alts
        return cls(entries)

    def matches(self, text: str) -> tuple[list[tuple[str, ...]], int, int]:
        """Matches in ``text`` in order; also (covered, total) Chinese characters.

        A Latin word that no glossary term starts with (a drug name, an abbreviation
        such as HPV) is kept as it is.
        """
        found: list[tuple[str, ...]] = []
        covered = 0
        for run in _RUN.findall(text):
            i = 0
            while i < len(run):
                for size in range(min(self.longest, len(run) - i), 0, -1):
                    alts = self.entries.get(run[i:i + size])
                    if alts:
                        found.append(alts)
                        covered += len(_CJK.findall(run[i:i + size]))
                        i += size
                        break
                else:
                    word = _LATIN.match(run, i)
                    if word:
                        found.append((word.group(0),))
                        i = word.end()
                    else:
                        i += 1
        return found, covered, len(_CJK.findall(text))

    def render(self, text: str) -> Rendering | None:
        """The English rendering of ``text``, or None when no glossary term occurs in it."""
        found, covered, total = self.matches(text)
        if not covered:
            return None
        dense = _unique([alts[0] for alts in found])
        sparse = _unique([a for alts in found for a in alts])
        return Rendering(" ".join(dense), " ".join(sparse), round(covered / max(total, 1), 4))


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x.lower() in seen or seen.add(x.lower()))]  # type: ignore[func-returns-value]


@lru_cache(maxsize=4)
def glossary(path: str | None = None) -> Glossary:
    """The glossary at ``path`` (default: the one shipped with medsage), read once.

    Raises:
        DataError: for a missing or malformed file.
    """
    try:
        if path is None:
            text = (resources.files("medsage") / GLOSSARY).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cross-lingual glossary {path or GLOSSARY}: {exc}") from exc
    return Glossary.parse(text, str(path or GLOSSARY))


def english_rendering(query: str, languages: Sequence[str]) -> Rendering | None:
    """The glossary rendering of a Chinese ``query`` when the KB holds English chunks, else None."""
    if "en" not in languages or detect_language(query) != "zh":
        return None
    return glossary().render(query)


def english_for(query: str, languages: Sequence[str], translate: bool | str = True) -> Rendering | None:
    """What a search adds for ``query``.

    Args:
        query: The cleaned query.
        languages: The languages of the KB's chunks.
        translate: True: the glossary rendering (Chinese queries on KBs with English
            chunks only); False: nothing; a string: that English translation.
    """
    if isinstance(translate, str):
        return from_translation(translate)
    return english_rendering(query, languages) if translate else None


def from_translation(translation: str) -> Rendering | None:
    """A :class:`Rendering` of an English translation made elsewhere (e.g. by a model)."""
    text = " ".join(translation.split())
    return Rendering(text, text) if text else None


def model_translations(model_spec: str, queries: Sequence[str], max_tokens: int = 96) -> list[str]:
    """English translations of ``queries`` by a chat model (``provider/model``), in order.

    A failed call yields "" for that query (the search then runs without translation).
    """
    from medsage.models.base import get_model
    from medsage.types import GenerateConfig, Message

    async def run() -> list[str]:
        model = get_model(model_spec)
        config = GenerateConfig(max_tokens=max_tokens, temperature=0.0)
        try:
            out = []
            for q in queries:
                reply = await model.generate([Message("user", TRANSLATE_PROMPT.format(query=q))], config)
                out.append("" if reply.error else reply.text.strip().splitlines()[0] if reply.text.strip() else "")
            return out
        finally:
            await model.aclose()

    return asyncio.run(run())
