"""Answer extraction for multiple-choice outputs, in English and Chinese.

The rules go from most to least explicit; the first rule family that finds a
valid letter wins, and within a family the *last* match wins (a chain of thought
ends with its conclusion). An answer that no rule finds is ``None`` (counted
wrong and reported as unparsed) — never defaulted to a letter.
"""

from __future__ import annotations

import json
import re
import unicodedata

_L = r"([A-J])"
# Explicit statements of the final answer.
_EXPLICIT = [
    rf"(?i:answer_choice)\"?\s*[:=]\s*\"?\(?{_L}\b",
    rf"(?i:(?:final\s+|correct\s+|best\s+)?answer\s*(?:is|would\s+be|should\s+be|[:：=])?\s*(?:option\s*|choice\s*)?)[:：]?\s*\(?\**{_L}\b",
    rf"(?i:(?:correct|right|best)\s+(?:option|choice)\s*(?:is|[:：])?)\s*\(?{_L}\b",
    rf"(?:正确|最佳|最终)?答案\s*(?:应该|应当|应)?\s*(?:是|为|选)?\s*[:：]?\s*[（(]?\s*{_L}(?![A-Za-z])",
    rf"(?:故|因此|所以|应当|应该|应)?选(?:择)?\s*(?:是|为)?\s*[:：]?\s*[（(]?\s*{_L}(?![A-Za-z])",
    rf"(?i:I\s+(?:would\s+)?(?:choose|pick|select)|option)\s*\(?{_L}\)?(?![A-Za-z])",
]
# A letter standing alone or heading the reply: "B", "(B)", "B.", "B) text", "**B**".
_LEADING = rf"^\s*[\*\[\(（]*\s*{_L}\s*[\*\]\)）]*\s*(?:[\.\)、:：]|$|\s)"
_ALONE = rf"^\s*[\*\[\(（]*\s*{_L}\s*[\*\]\)）]*[\.。]?\s*$"


def normalise(text: str) -> str:
    """NFKC-fold (full-width letters and colons) and collapse white space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def extract_choice(response: str, choices: dict[str, str]) -> str | None:
    """Return the option letter ``response`` commits to, or ``None``.

    Args:
        response: The model's reply.
        choices: Option letter -> option text for the item.
    """
    if not response or not choices:
        return None
    valid = {k.upper() for k in choices}
    text = normalise(response)

    letter = _from_json(text, valid)
    if letter:
        return letter
    for pattern in _EXPLICIT:
        found = [m.group(1) for m in re.finditer(pattern, text)]
        found = [f for f in found if f in valid]
        if found:
            return found[-1]
    lines = [ln for ln in (normalise(x) for x in response.splitlines()) if ln]
    for line in lines[:1] + lines[-1:]:
        m = re.match(_ALONE, line) or re.match(_LEADING, line)
        if m and m.group(1) in valid and not _is_word_start(line, m):
            return m.group(1)
    return _from_option_text(text, choices)


def _is_word_start(line: str, m: re.Match[str]) -> bool:
    """True when the 'letter' is really an English word like 'A patient' or 'I think'."""
    rest = line[m.end(1):]
    letter = m.group(1)
    return letter in ("A", "I") and bool(re.match(r"\s+[a-z]", rest))


def _from_json(text: str, valid: set[str]) -> str | None:
    for m in re.finditer(r"\{[^{}]*\}", text):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict):
            for key in ("answer_choice", "answer", "choice", "答案"):
                value = str(obj.get(key, "")).strip().strip("()（）").upper()
                if value in valid:
                    return value
    return None


def _from_option_text(text: str, choices: dict[str, str]) -> str | None:
    """The single option whose full text appears in the reply (longest texts first)."""
    low = text.lower()
    hits: list[tuple[int, str]] = []
    for letter, option in choices.items():
        opt = normalise(option).lower().rstrip(".。")
        if len(opt) >= 2 and re.search(rf"(?<![\w]){re.escape(opt)}(?![\w])", low):
            hits.append((len(opt), letter.upper()))
    if not hits:
        return None
    hits.sort(reverse=True)
    longest = hits[0][1]
    longest_text = normalise(choices[longest]).lower()
    # Shorter hits that are just substrings of the longest don't make it ambiguous.
    others = {ltr for _, ltr in hits[1:] if normalise(choices[ltr]).lower() not in longest_text}
    return None if others else longest


def choice_from_logprobs(top_logprobs: dict[str, float], choices: dict[str, str]) -> str | None:
    """The option letter with the highest first-token log-probability, if any is present."""
    best: tuple[float, str] | None = None
    valid = {k.upper() for k in choices}
    for token, logprob in top_logprobs.items():
        t = normalise(token).strip("()（） .").upper()
        if t in valid and (best is None or logprob > best[0]):
            best = (logprob, t)
    return best[1] if best else None
