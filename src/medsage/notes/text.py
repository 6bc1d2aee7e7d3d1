"""Tokenisation and sentence splitting for English and Chinese (language: :mod:`medsage.lang`)."""

from __future__ import annotations

import re

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[a-z0-9]+(?:[./'][a-z0-9]+)*")
_SENT_EN_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SENT_ZH_RE = re.compile(r"(?<=[。！？；!?;])")
_BULLET_RE = re.compile(r"^\s*(?:[-*•·]|\d+[.)、]|[（(]?\d+[）)])\s*")

EN_STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    it its this that these those i me my we our you your he him his she her they them their
    do does did doing have has had having not no so than too very can will just should would
    could there here what which who whom when where why how all any both each few more most
    other some such only own same into over under again further then once about up down out
    off also um uh okay ok yeah yes well like know right mm hmm just really got get going go
    gonna think see let lets say said oh alright sure thing things kind sort little bit""".split()  # noqa: SIM905
)
ZH_STOPCHARS = frozenset("的了是在我你他她它们吗呢吧啊哦嗯就都也和与及或这那有个么什")


def tokens(text: str, lang: str | None = None, *, stop: bool = False) -> list[str]:
    """Lower-cased content tokens: words for English, characters for Chinese.

    Mixed text yields both. With ``stop=True`` stopwords and filler are removed.
    """
    low = text.lower()
    out: list[str] = []
    if lang != "zh":
        words = _WORD_RE.findall(low)
        out.extend(w for w in words if not (stop and w in EN_STOPWORDS))
    if lang != "en":
        chars = _CJK_RE.findall(low)
        out.extend(c for c in chars if not (stop and c in ZH_STOPCHARS))
        if lang == "zh":
            out.extend(w for w in _WORD_RE.findall(low) if not (stop and w in EN_STOPWORDS))
    return out


def char_bigrams(text: str) -> list[str]:
    """CJK character bigrams of ``text`` (stop characters removed first)."""
    chars = [c for c in _CJK_RE.findall(text) if c not in ZH_STOPCHARS]
    return [a + b for a, b in zip(chars, chars[1:], strict=False)]


def split_sentences(text: str) -> list[str]:
    """Split note text into sentences; each line (bullet) is split further.

    Headings (lines ending in ``:``/``：`` or all caps) are not returned.
    """
    out: list[str] = []
    for raw in text.splitlines():
        line = _BULLET_RE.sub("", raw).strip().strip("#").strip()
        if not line or is_heading(line):
            continue
        parts = _SENT_ZH_RE.split(line) if _CJK_RE.search(line) else _SENT_EN_RE.split(line)
        out.extend(p.strip() for p in parts if p.strip() and re.search(r"\w", p))
    return out


def is_heading(line: str) -> bool:
    """Whether a note line is a section heading rather than content."""
    s = line.strip().strip("#*").strip()
    if not s:
        return False
    if len(s) <= 40 and s.endswith((":", "：")) and not re.search(r"[:：].+[:：]", s):
        return True
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and len(s) <= 50 and all(c.isupper() for c in letters if c.isascii())\
        and not _CJK_RE.search(s) and len(letters) > 2
