"""Answer-extraction conventions of other harnesses, to reproduce their numbers.

``medsage score --extract NAME`` scores stored replies with one of these instead
of :func:`medsage.scoring.extract.extract`, so a user can reproduce another
harness's accuracy and see where the conventions differ.

- ``medsage`` — :func:`medsage.scoring.extract.extract` (never defaults to a letter).
- ``opencompass-first-option`` — OpenCompass ``first_option_postprocess``
  (``opencompass/utils/text_postprocessors.py`` at commit 14ca958049, Apache-2.0):
  an ordered list of Chinese and English patterns, the *first* pattern that matches
  anywhere wins, and the first option letter inside the match is the answer; with
  the default ``cushion`` the last resort is the first option letter anywhere in
  the reply. Re-expressed here, pattern for pattern, including that commit's
  missing comma which fuses the "故选" and "只有选项…是对" patterns into one.
- ``mirage`` — MIRAGE ``locate_answer`` (Teddy-XiongGZ/MIRAGE ``src/utils.py``, MIT):
  the text after the last ``"answer_choice": "``, a few anchored patterns, and
  **"A" when nothing matches** — that default is MIRAGE's, reproduced only so
  its numbers can be reproduced (the result is marked ``rule="default"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from medsage.errors import SpecError
from medsage.scoring.extract import Extraction, extract

Convention = Callable[[str, dict[str, str]], Extraction]

# OpenCompass first_option_postprocess, in its order; "{o}" is the option letters.
_OC_PATTERNS = [
    r"答案是?\s*([{o}])", r"答案是?\s*：\s*([{o}])", r"答案是?\s*:\s*([{o}])",
    r"答案应该?是\s*([{o}])", r"答案应该?选\s*([{o}])", r"答案为\s*([{o}])", r"答案选\s*([{o}])",
    r"选择?\s*([{o}])",
    r"故选?\s*([{o}])" r"只有选?项?\s?([{o}])\s?是?对",  # fused in the source (no comma)
    r"只有选?项?\s?([{o}])\s?是?错", r"只有选?项?\s?([{o}])\s?不?正确", r"只有选?项?\s?([{o}])\s?错误",
    r"说法不?对选?项?的?是\s?([{o}])", r"说法不?正确选?项?的?是\s?([{o}])", r"说法错误选?项?的?是\s?([{o}])",
    r"([{o}])\s?是正确的", r"([{o}])\s?是正确答案", r"选项\s?([{o}])\s?正确", r"所以答\s?([{o}])",
    r"所以\s?([{o}][.。$]?$)", r"所有\s?([{o}][.。$]?$)",
    r"[\s，：:,]([{o}])[。，,\.]?$", r"[\s，,：:][故即]([{o}])[。\.]?$", r"[\s，,：:]因此([{o}])[。\.]?$",
    r"[是为。]\s?([{o}])[。\.]?$", r"因此\s?([{o}])[。\.]?$", r"显然\s?([{o}])[。\.]?$",
    r"答案是\s?(\S+)(?:。|$)", r"答案应该是\s?(\S+)(?:。|$)", r"答案为\s?(\S+)(?:。|$)",
    r"[Tt]he answer is:?\s+\(?([{o}])\)?", r"[Tt]he answer is option:?\s+\(?([{o}])\)?",
    r"[Tt]he correct answer is:?\s+\(?([{o}])\)?", r"[Tt]he correct answer is option:?\s+\(?([{o}])\)?",
    r"[Tt]he answer to the question is:?\s+\(?([{o}])\)?",
    r"^选项\s?([{o}])", r"^([{o}])\s?选?项", r"(\s|^)[{o}][\s。，,：:\.$]",
    r"1.\s?(.*?)$", r"1.\s?([{o}])[.。$]?$",
]
_OC_CUSHION = [r"([{o}]):", r"([{o}])"]


def opencompass_first_option(response: str, choices: dict[str, str], cushion: bool = True) -> Extraction:
    """OpenCompass ``first_option_postprocess`` (see the module docstring).

    Args:
        response: The reply.
        choices: Option letter -> text; the letters form OpenCompass's ``options``.
        cushion: Add OpenCompass's last-resort patterns (its default).
    """
    options = "".join(sorted(k.upper() for k in choices))
    if not response or not options:
        return Extraction(None, "empty" if not response else "no answer")
    patterns = _OC_PATTERNS + (_OC_CUSHION if cushion else [])
    for i, template in enumerate(patterns):
        m = re.search(template.replace("{o}", options), response, re.DOTALL)
        if m:
            found = m.group(0)
            for letter in options:
                if letter in found:
                    return Extraction(letter, rule=f"opencompass pattern {i}")
    return Extraction(None, "no answer")


_MIRAGE = [r"^\s*({o})$", r"^\s*({o}) or", r"^\s*({o}) and", r"^\s*({o})/", r"^\s*({o}),",
           r"[Oo]ption ({o})", r":\s*({o})", r"^\s*({o})\.", r"^\s*({o})\"", r"^\s*({o}):"]


def mirage_locate_answer(response: str, choices: dict[str, str]) -> Extraction:
    """MIRAGE ``locate_answer`` on the text after the last ``"answer_choice": "``.

    Returns ``"A"`` (``rule="default"``) when nothing matches, as MIRAGE does.
    """
    alts = "|".join(sorted(k.upper() for k in choices)) or "A|B|C|D"
    sentence = (response or "").split('"answer_choice": "')[-1].strip()
    for template in _MIRAGE:
        found = re.findall(template.replace("{o}", alts), sentence)
        if found:
            return Extraction(str(found[0]).upper(), rule="mirage")
    return Extraction("A", rule="default")


CONVENTIONS: dict[str, Convention] = {
    "medsage": extract,
    "opencompass-first-option": opencompass_first_option,
    "mirage": mirage_locate_answer,
}


def get_convention(name: str) -> Convention:
    """The extraction convention called ``name``.

    Raises:
        SpecError: an unknown name (the message lists the known ones).
    """
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise SpecError(f"unknown --extract convention {name!r}; known: {', '.join(CONVENTIONS)}") from None
