r"""Language of a text and the one text normaliser, for every module in medsage.

**Language.** :func:`detect_language` is the only language rule: it counts CJK
ideographs and Latin-script words in the first 20,000 characters and says ``zh``
when there are at least 0.6 CJK characters per Latin word (a CJK share
``c / (c + w)`` of at least :data:`ZH_SHARE`), else ``en``. A Chinese note with
English drug names stays Chinese; an English note quoting a Chinese term stays
English. The other functions are built on the same counts:
:func:`language_mix` adds whether both scripts are substantial (for the mixed-language
warning of transcripts) and :func:`identify_language` tells apart other
Latin-script languages, other scripts and text without letters (for prompt choice
and training-data filters).

**Normaliser.** Hostile or careless input hides words from pattern matchers with characters a
reader does not see or cannot tell apart: zero-width spaces and other format
characters (``war\u200bfarin``), soft hyphens, Cyrillic or Greek look-alike
letters (``wаrfarin`` with a Cyrillic ``а``), full-width Latin letters and
digits (``１３８…``), other-script digits, combining marks. :func:`normalise`
returns a *clean* copy for matching plus an :class:`OffsetMap` that maps every
span found in the clean copy back to the original characters, so findings and
redactions point at — and replace — what the user actually wrote.

The clean copy is made character by character:

* format characters (Unicode category Cf: zero-width space/joiners, soft hyphen,
  bidi controls, BOM) and other default-ignorable characters (variation
  selectors, combining grapheme joiner, Hangul fillers) are removed;
* combining marks are removed and accented Latin letters folded to ASCII;
* NFKC compatibility folding (full-width letters/digits/symbols, ligatures,
  mathematical alphanumerics, ``㎎`` -> ``mg``), except the full-width CJK
  punctuation ``，：；！？（）`` that Chinese rules rely on — unless it sits inside a
  run of full-width Latin letters or digits (``ｈｔｔｐｓ：／／``);
* confusable letters mapped to their ASCII skeleton (a table derived from Unicode
  TR39 ``confusables.txt``, ``data/textnorm/confusables.json``, built by
  ``benchmarks/safety/build_confusables.py``); CJK characters are never mapped;
* any decimal digit to its ASCII digit; hyphen look-alikes to ``-``.

Every character changed or removed is listed in :attr:`OffsetMap.suspicious`
(kind ``format``, ``soft_hyphen``, ``bidi``, ``combining``, ``confusable``,
``fullwidth``, ``compat``, ``digit``, ``diacritic``, ``dash``), so callers can
report disguised names as findings.

>>> clean, omap = normalise("war\u200bfarin")
>>> clean, omap.span(0, len(clean))
('warfarin', (0, 9))
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

# kinds that hide or disguise a character (as opposed to everyday full-width input)
EVASIVE_KINDS = frozenset({"format", "soft_hyphen", "bidi", "confusable", "combining", "digit"})

# characters left alone: ASCII, CJK ideographs, kana, common CJK punctuation and the
# full-width punctuation that Chinese text uses as ordinary punctuation
_KEEP_PUNCT = "，：；！？（）"
_PLAIN = re.compile(
    "[\x00-\x7f\u3001-\u3006\u3008-\u3011\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\u2018\u2019\u201c\u201d\u00b0\u00d7]+"
)
_DASHES = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2043": "-", "\u2212": "-", "\ufe63": "-",
           "\uff0d": "-"}
_IGNORABLE_EXTRA = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]")
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class Suspicious:
    """One character that was removed or changed in the clean copy.

    Attributes:
        start: Index of the character in the original text.
        char: The character.
        kind: ``format``, ``soft_hyphen``, ``bidi``, ``combining``, ``confusable``,
            ``fullwidth``, ``compat``, ``digit``, ``diacritic`` or ``dash``.
        replacement: What it became in the clean copy (empty when removed).
    """

    start: int
    char: str
    kind: str
    replacement: str

    @property
    def evasive(self) -> bool:
        """Whether the kind hides or disguises a character (not everyday full-width input)."""
        return self.kind in EVASIVE_KINDS

    def describe(self) -> str:
        """``U+200B ZERO WIDTH SPACE`` style description."""
        return f"U+{ord(self.char):04X} {unicodedata.name(self.char, 'UNNAMED')}"

    def to_dict(self) -> dict[str, object]:
        """The JSON form, with the character as a ``U+XXXX`` code point."""
        return {"start": self.start, "codepoint": f"U+{ord(self.char):04X}", "kind": self.kind,
                "replacement": self.replacement}


@dataclass
class OffsetMap:
    """Maps positions in a clean copy back to the original text.

    ``starts[i]``/``ends[i]`` are the original span of clean character ``i``; both are
    None when nothing changed (identity map).
    """

    original: str
    clean_len: int
    starts: array | None = None  # type: ignore[type-arg]
    ends: array | None = None  # type: ignore[type-arg]
    suspicious: list[Suspicious] = field(default_factory=list)
    _sus_starts: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the clean copy differs from the original."""
        return self.starts is not None

    def pos(self, i: int) -> int:
        """Original index of the clean character at ``i`` (``i == len`` maps to the end)."""
        if self.starts is None:
            return i
        if i >= self.clean_len:
            return len(self.original)
        return int(self.starts[max(0, i)])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that produced clean ``[start, end)``.

        Removed characters inside the span are included, so replacing the returned span
        replaces the whole disguised word.
        """
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            p = self.pos(start)
            return p, p
        s = int(self.starts[min(max(0, start), self.clean_len - 1)])
        e = int(self.ends[min(end, self.clean_len) - 1])
        return s, max(s, e)

    def span_or_none(self, span: tuple[int, int] | None) -> tuple[int, int] | None:
        """:meth:`span` for an optional span."""
        return None if span is None else self.span(span[0], span[1])

    def suspicious_in(self, start: int, end: int, *, evasive_only: bool = False) -> list[Suspicious]:
        """Suspicious characters whose original index lies in ``[start, end)`` (original coordinates)."""
        if not self._sus_starts and self.suspicious:
            self._sus_starts = [s.start for s in self.suspicious]
        lo = bisect.bisect_left(self._sus_starts, start)
        hi = bisect.bisect_left(self._sus_starts, end)
        found = self.suspicious[lo:hi]
        return [s for s in found if s.evasive] if evasive_only else found

    def kinds(self, start: int = 0, end: int | None = None) -> list[str]:
        """Sorted distinct kinds of the suspicious characters in an original span."""
        return sorted({s.kind for s in self.suspicious_in(start, len(self.original) if end is None else end)})


@cache
def _confusables() -> dict[str, str]:
    path = resources.files("medsage").joinpath("data", "textnorm", "confusables.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    return dict(doc["map"])


def _fold_letter(c: str) -> tuple[str, str]:
    """One NFKC output character -> (ASCII-ish replacement, kind or '')."""
    if c.isascii():
        return c, ""
    if c in _DASHES:
        return _DASHES[c], "dash"
    conf = _confusables().get(c)
    if conf is not None:
        return conf, "confusable"
    dec = unicodedata.decimal(c, None)
    if dec is not None:
        return str(dec), "digit"
    if unicodedata.category(c).startswith("L"):
        base = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
        if base and base != c and base.isascii():
            return base, "diacritic"
        if base and base != c:
            base = "".join(_confusables().get(x, x) for x in base)
            if base.isascii():
                return base, "confusable"
    return c, ""


_KIND_ORDER = ("format", "soft_hyphen", "bidi", "combining", "confusable", "digit", "fullwidth", "diacritic",
               "dash", "compat")


@lru_cache(maxsize=8192)
def char_rule(ch: str) -> tuple[str, str]:
    """How one character is normalised: ``(replacement, kind)``; kind is '' when unchanged."""
    if ch in "\t\n\r":
        return ch, ""
    if ch == "\u00ad":
        return "", "soft_hyphen"
    if ch in _BIDI:
        return "", "bidi"
    cat = unicodedata.category(ch)
    if cat == "Cf" or _IGNORABLE_EXTRA.match(ch):
        return "", "format"
    if cat in ("Mn", "Me"):
        return "", "combining"
    nfkc = unicodedata.normalize("NFKC", ch)
    kind = ""
    if nfkc != ch:
        kind = "fullwidth" if "\uff01" <= ch <= "\uff5e" or ch == "\u3000" else "compat"
    out: list[str] = []
    for c in nfkc:
        rep, k = _fold_letter(c)
        out.append(rep)
        if k and (not kind or _KIND_ORDER.index(k) < _KIND_ORDER.index(kind)):
            kind = "fullwidth" if kind == "fullwidth" and k in ("digit", "dash") else k
    new = "".join(out)
    if new == ch:
        return ch, ""
    return new, kind or "compat"


def _in_fullwidth_run(text: str, i: int) -> bool:
    """Whether the CJK punctuation at ``i`` is used outside Chinese text (so it is folded).

    It is kept when the nearest visible character on either side is a CJK character or
    CJK punctuation (ordinary Chinese text); next to Latin letters, digits or full-width
    forms (``ｈｔｔｐｓ：／／``, ``(２１９）７７７``, ``Wilsonberg， NY``) it becomes ASCII.
    """
    def cjk_side(step: int) -> bool:
        j = i + step
        while 0 <= j < len(text) and (text[j] in " \u3000\u00a0" or unicodedata.category(text[j]) == "Cf"):
            j += step
        if not 0 <= j < len(text):
            return False
        c = text[j]
        return ("\u3000" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or c in _KEEP_PUNCT
                or c in "\n\r") and not ("\uff01" <= c <= "\uff5e" and c not in _KEEP_PUNCT)
    return not (cjk_side(-1) or cjk_side(1))


def normalise(text: str) -> tuple[str, OffsetMap]:
    """The clean copy of ``text`` for matching, and the map back to ``text``.

    Args:
        text: Any text (non-strings are converted with ``str``).

    Returns:
        ``(clean_text, offset_map)``; ``offset_map.span(s, e)`` gives the original span of a
        clean span and ``offset_map.suspicious`` lists every character removed or changed.
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isascii():
        return text, OffsetMap(text, len(text))
    pieces: list[str] = []
    starts: array = array("l")  # type: ignore[type-arg]
    ends: array = array("l")  # type: ignore[type-arg]
    suspicious: list[Suspicious] = []
    pos = 0
    n = len(text)
    i = 0
    while i < n:
        m = _PLAIN.match(text, i)
        if m:
            i = m.end()
            continue
        ch = text[i]
        if ch in _KEEP_PUNCT and not _in_fullwidth_run(text, i):
            i += 1
            continue
        rep, kind = char_rule(ch)
        if kind:
            if pos < i:
                pieces.append(text[pos:i])
                starts.extend(range(pos, i))
                ends.extend(range(pos + 1, i + 1))
            if rep:
                pieces.append(rep)
                starts.extend([i] * len(rep))
                ends.extend([i + 1] * len(rep))
            suspicious.append(Suspicious(i, ch, kind, rep))
            pos = i + 1
        i += 1
    if not suspicious:
        return text, OffsetMap(text, len(text))
    if pos < n:
        pieces.append(text[pos:n])
        starts.extend(range(pos, n))
        ends.extend(range(pos + 1, n + 1))
    clean = "".join(pieces)
    return clean, OffsetMap(text, len(clean), starts, ends, suspicious)


def clean(text: str) -> str:
    """Only the clean copy of ``text`` (for lookups that need no offsets)."""
    return normalise(text)[0]


def suspicious_chars(text: str) -> list[Suspicious]:
    """Every character of ``text`` that :func:`normalise` removes or changes."""
    return normalise(text)[1].suspicious


def describe_kinds(items: list[Suspicious]) -> str:
    """A short human description: ``zero-width/format character U+200B, Cyrillic look-alike U+0430``."""
    labels = {"format": "invisible format character", "soft_hyphen": "soft hyphen", "bidi": "bidi control",
              "combining": "combining mark", "confusable": "look-alike letter", "digit": "other-script digit",
              "fullwidth": "full-width character", "diacritic": "accented letter", "dash": "dash look-alike",
              "compat": "compatibility character"}
    seen: dict[str, str] = {}
    for s in items:
        seen.setdefault(f"{labels.get(s.kind, s.kind)} U+{ord(s.char):04X}", "")
    return ", ".join(list(seen)[:5]) + (" …" if len(seen) > 5 else "")


# --- language ------------------------------------------------------------------------------

#: A text is Chinese from this share of CJK characters among CJK characters + Latin words
#: (0.6 CJK characters per Latin word: a Chinese character carries about a morpheme).
ZH_SHARE = 0.375
#: Both languages are substantial when the CJK share lies in this range.
MIXED_SHARE = (0.15, 0.85)
#: Only the start of long texts is counted (the language of a document shows early).
SAMPLE_CHARS = 20_000
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_OTHER_WORD = re.compile(r"[a-zäöüßéèàáíóúñç]+")
_STOPWORDS = {
    "fr": {"le", "la", "les", "des", "est", "avec", "une", "douleur", "patient", "depuis", "et"},
    "es": {"el", "los", "las", "con", "una", "dolor", "paciente", "desde", "y", "años"},
    "de": {"der", "die", "und", "mit", "ist", "seit", "schmerzen", "patient", "eine", "jahre"},
}
_EN_STOPWORDS = frozenset({"the", "and", "with", "of", "is", "a", "year", "old", "her", "his"})


def script_counts(text: str) -> tuple[int, int]:
    """``(CJK characters, Latin-script words)`` in the counted start of ``text``."""
    sample = text[:SAMPLE_CHARS]
    return len(_CJK_CHAR.findall(sample)), len(_LATIN_WORD.findall(sample))


def cjk_share(text: str) -> float:
    """CJK characters / (CJK characters + Latin words); 0 for text with neither."""
    cjk, words = script_counts(text)
    return cjk / (cjk + words) if cjk + words else 0.0


def detect_language(text: str, lang: str = "auto") -> str:
    """``zh`` or ``en`` by the one rule of this module.

    Args:
        text: Any text.
        lang: ``zh`` or ``en`` to skip detection (anything else detects).

    Returns:
        ``zh`` when the CJK share is at least :data:`ZH_SHARE`, else ``en``.
    """
    if lang in ("zh", "en"):
        return lang
    return "zh" if cjk_share(text) >= ZH_SHARE else "en"


def language_mix(text: str) -> tuple[str, bool]:
    """``(detect_language(text), mixed)``: mixed when both scripts are substantial."""
    share = cjk_share(text)
    lo, hi = MIXED_SHARE
    return ("zh" if share >= ZH_SHARE else "en"), lo <= share <= hi


def identify_language(text: str) -> str:
    """``zh``, ``en``, ``fr``/``es``/``de``, ``other`` (another script) or ``und`` (no letters).

    Chinese is decided by :func:`detect_language`; Latin-script text is English unless
    French, Spanish or German function words clearly outnumber English ones (best effort,
    for prompt choice and language filters).
    """
    letters = [ch for ch in text[:SAMPLE_CHARS] if ch.isalpha()]
    if not letters:
        return "und"
    if detect_language(text) == "zh":
        return "zh"
    non_cjk = [ch for ch in letters if not _CJK_CHAR.match(ch)]
    if sum(1 for ch in non_cjk if ch.isascii()) < len(non_cjk) * 0.7:
        return "other"
    words = _OTHER_WORD.findall(text[:SAMPLE_CHARS].lower())
    best, hits = "en", 0
    for code, stop in _STOPWORDS.items():
        n = sum(1 for w in words if w in stop)
        if n > hits:
            best, hits = code, n
    en_hits = sum(1 for w in words if w in _EN_STOPWORDS)
    return best if hits > max(2, en_hits) else "en"
