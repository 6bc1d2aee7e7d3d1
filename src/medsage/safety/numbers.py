"""The strict number grammar for dose amounts (English and Chinese).

Readable amounts are: integers and decimals (``5``, ``0.5``, ``.5``), thousands
separators in groups of three (``1,000,000``), a decimal comma with one or two
digits (``2,5``), ranges (``250-500``, ``250 to 500``, ``5～10``), strengths like
``5/325``, Chinese numerals (``五``, ``十五``, ``一百二十五``, ``两千``, ``半``) and
English number words (``one`` … ``twenty``, ``half``). Anything else written right
before a unit — ``1e3``, ``-500``, ``NaN``, ``abc``, ``1,0000`` — is *unreadable*:
:func:`unreadable_amount` reports it so the caller can raise an
``unreadable_dose`` finding instead of reading a wrong number (fail closed).
"""

from __future__ import annotations

import re

# one amount: thousands groups, decimal point, decimal comma (1-2 digits) or leading-dot decimal
NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+,\d{1,2}(?![\d,])|\d+(?:\.\d+)?(?![\d,])|\.\d+(?![\d,]))"
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUM = r"(?:半|[零〇一二两俩三四五六七八九十百千]+)"
EN_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "half": 0.5}
_RANGE_SEP = r"(?:-|–|—|~|～|to|至|到)"
_STRICT_TOKEN = re.compile(
    rf"(?:\d+\s*[x×*]\s*)?{NUM}(?:\s*{_RANGE_SEP}\s*{NUM}|(?:/{NUM})+)?|{CN_NUM}(?:{_RANGE_SEP}{CN_NUM})?",
    re.IGNORECASE,
)
# words that may sit right before a unit without being an amount ("dose in mg", "per mg")
_NOT_AN_AMOUNT = {
    "in", "of", "per", "the", "a", "an", "as", "by", "to", "from", "each", "total", "many", "much", "what",
    "which", "max", "maximum", "min", "minimum", "dose", "doses", "daily", "expressed", "measured", "and",
    "or", "equivalent", "dosage", "with", "at", "is", "are", "than", "more", "less", "over", "under",
    "about", "approx", "approximately", "up", "same", "usual", "high", "low", "higher", "lower", "mg",
    "for", "every", "other", "extra", "additional", "several", "few", "some", "any", "no", "new",
}
_AMOUNT_CHARS = set("0123456789.,+-–—/*~?×") | set(CN_DIGITS) | set(CN_UNITS) | {"半"}
_SPACED_THOUSANDS = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+$")


def cn_number(s: str) -> float | None:
    """A Chinese numeral (``五``, ``十五``, ``一百二十五``, ``两千五百``, ``一万``, ``半``) or None."""
    if s == "半":
        return 0.5
    if not s or any(c not in CN_DIGITS and c not in CN_UNITS for c in s):
        return None
    if all(c in CN_DIGITS for c in s):  # digit by digit ("一二五" = 125)
        return float("".join(str(CN_DIGITS[c]) for c in s)) if len(s) > 1 else float(CN_DIGITS[s])
    total, section, digit = 0, 0, None
    for c in s:
        if c in CN_DIGITS:
            if digit is not None and CN_DIGITS[c] != 0:
                return None  # two digits in a row inside a positional numeral
            digit = CN_DIGITS[c] if CN_DIGITS[c] != 0 else None
        else:
            mult = CN_UNITS[c]
            if mult == 10000:
                total += (section + (digit or 0)) * mult
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * mult
                digit = None
    return float(total + section + (digit or 0))


def parse_number(s: str | None) -> float | None:
    """The value of one amount written in the strict grammar, or None when it is not one."""
    if s is None:
        return None
    s = s.strip()
    if not s:
        return None
    low = s.lower()
    if low in EN_WORDS:
        return float(EN_WORDS[low])
    if s[0] in CN_DIGITS or s[0] in CN_UNITS or s == "半":
        return cn_number(s)
    if not re.fullmatch(NUM, s):
        return None
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        return float(s.replace(",", ""))
    return float(s.replace(",", "."))


def is_readable(token: str) -> bool:
    """Whether ``token`` (the characters right before a unit) is a readable amount."""
    t = token.strip()
    return bool(_STRICT_TOKEN.fullmatch(t)) or t.lower() in EN_WORDS


def _amount_token(text: str, unit_start: int) -> tuple[int, str]:
    """(start, token): the amount-like run of characters right before ``unit_start``."""
    i = unit_start
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    end = i
    while i > 0:
        c = text[i - 1]
        if (c.isascii() and c.isalnum()) or c in _AMOUNT_CHARS:
            i -= 1
            continue
        break
    return i, text[i:end]


def unreadable_amount(text: str, unit_start: int, unit: str) -> tuple[int, str] | None:
    """``(start, token)`` when the amount before the unit at ``unit_start`` is unreadable, else None.

    An empty token (no amount at all) is not reported here (the dose is then simply
    absent); neither are ordinary words such as "dose in mg".
    """
    start, tok = _amount_token(text, unit_start)
    # a leading separator belongs to the text before ("warfarin - 5 mg", "5/325"): strip it
    stripped = tok.lstrip(",/~")
    start += len(tok) - len(stripped)
    tok = stripped
    if not tok:
        return None
    spaced = _SPACED_THOUSANDS.search(text, max(0, start - 12), start + len(tok))
    if spaced and spaced.end() == start + len(tok) and spaced.start() < start:
        return spaced.start(), spaced.group()  # "1 000 mg": a thousands space or two numbers
    if is_readable(tok):
        return None
    low = tok.lower()
    if low.isalpha():
        if low in _NOT_AN_AMOUNT or low in EN_WORDS or unit.lower() == "g":
            return None
        return start, tok
    if tok.startswith(("-", "–", "—")) and len(tok) > 1 and is_readable(tok[1:]):
        # "-500": a negative amount; a bare dash with a space after it is a separator
        return start, tok
    if not any(ch.isdigit() or ch in CN_DIGITS or ch in CN_UNITS or ch == "?" for ch in tok):
        return None
    return start, tok
