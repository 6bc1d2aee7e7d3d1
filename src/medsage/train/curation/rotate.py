"""Balance answer keys by rotating each item's options, explanation letters included.

Exam keys are skewed (MedMCQA dev: "A" a third of the time), and a small model
tuned on them learns the letter prior. Each item's options are rotated cyclically
(their order is kept, only the starting letter moves) so that its key lands on the
letter used least so far among items with the same number of options; items are
visited in a seeded order, so the result is deterministic.

An explanation that names options by letter ("（C对）", "Ans. is 'a'", "option b")
has those letters rewritten by the same rotation. Two kinds of item stay where they
are ("pinned") and are counted: options that point at other options ("以上都是",
"All of the above", "A和B"), and explanations with an option letter in a place the
rewrite rules do not recognise, where moving the options could make the
explanation name the wrong one.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from medsage.train.curation.load import Item

_NOT_LATIN = r"(?<![A-Za-z0-9])"
_LIST_ZH = r"[A-J]+(?:\s*[、,，/和及与]\s*[A-J]+)*"  # "A、B", and runs such as "ABCE错"
# Letter references in Chinese explanations: "（A、B错）", "C对", "D项", "选项E", "答案为B", "故选C".
_REF_ZH = re.compile(
    rf"{_NOT_LATIN}{_LIST_ZH}(?=\s*(?:项|选项)?\s*(?:说法)?\s*(?:是)?(?:对|错|正确|错误|不对|不正确|项|选项))"
    rf"|(?:选项|答案|故选|应选|本题选|即选)\s*[为是：:]?\s*{_LIST_ZH}(?![A-Za-z0-9])")
_LIST_EN = r"[a-jA-J](?:\s*(?:,|and|or|&|/)\s*[a-jA-J])*"
# English: "option (b)", "options a and c", "choice D", "(c)".
_REF_EN = re.compile(rf"\b(?:(?:options?|choices?)\s*[-:.]?|ans(?:wer)?s?\s*(?:[-:.]|\bis\b)+)\s*(?:is\s*)?['\"‘“(]?{_LIST_EN}\b['\"’”)]?"
                     r"|\(([a-jA-J])\)", re.IGNORECASE)
# The opening answer clause of MedMCQA explanations ("Ans. is 'a' i.e., ...", "Answer- DTretinoin"):
# dropped, because the target states the answer after the reasoning.
_LEAD_EN = re.compile(r"^\s*(?:ans(?:wer)?s?|correct answer)\s*[:.\-–]*\s*(?:is)?\s*[:.\-–]*\s*(?:option\s*)?"
                      r"['\"‘“(]?([a-eA-E])(?-i:(?=[^a-z]|$))['\"’”)]?\s*[.,:;\-–)]*\s*(?:i\.?\s?e\.?\s*[,:]?)?\s*",
                      re.IGNORECASE)
_LEFT_EN = re.compile(r"(?<![A-Za-z0-9'])[a-jA-J]\s+(?:is|are)\s+(?:the\s+)?(?:correct|incorrect|wrong|right|true|false|answer)\b"
                      r"|^\s*\(?[a-jA-J][).:\-]\s", re.IGNORECASE | re.MULTILINE)
_CROSS_ZH = re.compile(r"以上|上述|都是|均是|均对|均不|均非|全部|[A-J]\s*[和与及、+]\s*[A-J]|[A-J]项")
_CROSS_EN = re.compile(r"\b(?:above|both|neither|all of these|none of these)\b|\b[a-jA-J]\s*(?:and|&|\+|,)\s*[a-jA-J]\b"
                       r"|\boptions?\b", re.IGNORECASE)


def lead_answer(text: str, language: str) -> tuple[str, str]:
    """``text`` without an opening "Ans. is 'a' i.e.," and the letter it named (``""``: none)."""
    m = _LEAD_EN.match(text) if language != "zh" else None
    if not m:
        return text, ""
    return text[m.end():].lstrip(" .,;:-"), m.group(1).upper()


def clean_explanations(items: list[Item]) -> tuple[list[Item], int]:
    """Drop opening answer clauses; drop explanations whose clause names another letter than the key.

    Returns:
        The items and how many explanations contradicted their key (those items get fact targets).
    """
    out: list[Item] = []
    contradicting = 0
    for it in items:
        rest, letter = lead_answer(it.explanation, it.sample.language)
        if letter and letter != it.sample.target:
            contradicting += 1
            rest = ""
        out.append(replace(it, explanation=rest) if letter else it)
    return out, contradicting


def remap_letters(text: str, mapping: dict[str, str], language: str) -> tuple[str, bool]:
    """Rewrite the option letters ``text`` names, by ``mapping`` (upper-case letters).

    Returns:
        The rewritten text and whether every option letter in it was in a recognised place.
    """
    ref = _REF_ZH if language == "zh" else _REF_EN
    # a Chinese match holds only the letters and Han characters; an English one has words around them
    letter = re.compile(r"[A-J]") if language == "zh" else re.compile(r"(?<![A-Za-z])[a-jA-J](?![A-Za-z])")
    out: list[str] = []
    pos = 0
    for m in ref.finditer(text):
        out.append(text[pos:m.start()])
        out.append(letter.sub(lambda c: _swap(c.group(0), mapping), m.group(0)))
        pos = m.end()
    out.append(text[pos:])
    masked = ref.sub(" ", text)
    if language == "zh":
        letters = "".join(mapping)
        clean = not re.search(rf"{_NOT_LATIN}[{letters}]+(?![A-Za-z0-9])", masked) if letters else True
    else:
        clean = not _LEFT_EN.search(masked)
    return "".join(out), clean


def _swap(letter: str, mapping: dict[str, str]) -> str:
    new = mapping.get(letter.upper(), letter.upper())
    return new.lower() if letter.islower() else new


def rotation(letters: list[str], shift: int) -> dict[str, str]:
    """Old letter -> new letter when options move ``shift`` places down (cyclically)."""
    n = len(letters)
    return {letters[i]: letters[(i + shift) % n] for i in range(n)}


@dataclass
class BalanceStats:
    """What balancing did: keys before and after, per option-letter set ("ABCDE"), and what stayed."""

    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    by_options: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    rotated: int = 0
    kept_in_place: int = 0
    pinned: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the balancing statistics."""
        return {"before": self.before, "after": self.after, "by_options": self.by_options,
                "rotated": self.rotated, "kept_in_place": self.kept_in_place, "pinned": self.pinned}


def pin_reason(item: Item) -> str:
    """Why ``item`` must keep its option order (``""`` when it may rotate)."""
    s = item.sample
    cross = _CROSS_ZH if s.language == "zh" else _CROSS_EN
    if any(cross.search(v) for v in s.choices.values()):
        return "options refer to other options"
    if item.explanation:
        _, clean = remap_letters(item.explanation, {k: k for k in s.choices}, s.language)
        if not clean:
            return "explanation names a letter in an unrecognised place"
    return ""


def balance(items: list[Item], seed: int = 0) -> tuple[list[Item], BalanceStats]:
    """Rotate options so each letter is the key equally often among items with the same option letters.

    Returned items carry the rotated sample (``metadata`` gains ``original_target`` and
    ``rotation``) and the rewritten explanation; the order of ``items`` is kept.
    """
    stats = BalanceStats()
    counts: dict[str, Counter[str]] = {}  # by the item's option letters ("ABCD", "ABCDE")
    movable: list[int] = []
    for i, it in enumerate(items):
        key = "".join(it.sample.choices)
        counts.setdefault(key, Counter({k: 0 for k in it.sample.choices}))
        reason = pin_reason(it)
        if reason:
            counts[key][it.sample.target] += 1
            stats.pinned[reason] = stats.pinned.get(reason, 0) + 1
        else:
            movable.append(i)
    order = list(movable)
    random.Random(seed).shuffle(order)
    out = list(items)
    for i in order:
        it = items[i]
        letters = list(it.sample.choices)
        c = counts["".join(letters)]
        target = min(letters, key=lambda k: (c[k], letters.index(k)))
        c[target] += 1
        shift = (letters.index(target) - letters.index(it.sample.target)) % len(letters)
        if shift == 0:
            stats.kept_in_place += 1
            continue
        stats.rotated += 1
        out[i] = rotate(it, shift)
    stats.before, stats.after = _letters(items), _letters(out)
    for key in sorted({"".join(x.sample.choices) for x in items}):
        stats.by_options[key] = {"before": _letters([x for x in items if "".join(x.sample.choices) == key]),
                                 "after": _letters([x for x in out if "".join(x.sample.choices) == key])}
    return out, stats


def _letters(items: list[Item]) -> dict[str, int]:
    return dict(sorted(Counter(x.sample.target for x in items).items()))


def rotate(item: Item, shift: int) -> Item:
    """``item`` with its options moved ``shift`` places down and its letters rewritten."""
    s = item.sample
    letters = list(s.choices)
    mapping = rotation(letters, shift)
    choices = {mapping[k]: v for k, v in s.choices.items()}
    choices = {k: choices[k] for k in letters}
    explanation, _ = remap_letters(item.explanation, mapping, s.language)
    meta = dict(s.metadata, original_target=s.target, rotation=shift)
    return replace(item, sample=replace(s, choices=choices, target=mapping[s.target], metadata=meta),
                   explanation=explanation)
