"""Answer extraction for multiple-choice outputs, in English and Chinese.

:func:`extract` reads the option letter a reply commits to, or says why there is
none. Rules go from most to least explicit, in tiers; within a tier the *last*
statement in the reply wins (a chain of thought ends with its conclusion):

1. a JSON object with an ``answer`` / ``answer_choice`` / ``答案`` key;
2. an explicit answer statement: "答案：B", "正确答案是C：…", "答：A", "正确选项为B",
   "The answer is (C)", "Answer: B";
3. a choice statement: "故选E", "应选择B", "选项D正确", "B是正确的", "最可能的诊断是
   D：右股骨干骨折", "I choose B";
4. a letter standing alone or heading the first or last line ("B", "(B)", "【B】",
   "B：4小时内"), unless the reply is a list of labelled options;
5. the option's own text in a concluding clause ("因此，首选治疗措施是静脉溶栓治疗"), or
   the only option named in a short statement ("此肾炎为轻微病变性肾炎").

A statement naming several options ("B和C都对", "答案是C和E") is *multiple*, one
offering alternatives ("A或C") is a *hedge*; both are unparsed. A reply no rule
reads is unparsed too, with a reason (``refusal``, ``no answer`` …) — never
defaulted to a letter. The conventions of other harnesses, to reproduce their
numbers, are in :mod:`medsage.scoring.conventions`.

The rules were built against real published replies (see ``benchmarks/rescore``)
and studied alongside OpenCompass ``first_option_postprocess`` and the CMB,
CMExam and C-Eval answer-matching scripts.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from medsage.scoring.zh_rules import (
    ANSWER_AFTER,
    CLAUSE_CUE,
    CONNECTIVE_ONLY,
    HEDGE_WORD,
    JOINER,
    LETTERS_FIRST,
    MEDIUM,
    NEG_AFTER,
    NEG_BEFORE,
    NEGATED_CLAUSE,
    OPEN,
    REFUSAL,
    STRICT_AFTER,
    STRONG,
)

REASONS = ("empty", "refusal", "multiple", "hedge", "invalid letter", "no answer")


@dataclass(frozen=True)
class Extraction:
    """What a reply commits to.

    Attributes:
        letter: The option letter, or ``None`` when unparsed.
        reason: Why ``letter`` is ``None`` (one of :data:`REASONS`); ``""`` otherwise.
        rule: Which rule tier read the letter (``json``, ``answer``, ``choice``,
            ``line``, ``option text``), or ``""``.
    """

    letter: str | None
    reason: str = ""
    rule: str = ""


def normalise(text: str) -> str:
    """NFKC-fold (full-width letters and colons) and collapse white space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def extract_choice(response: str, choices: dict[str, str]) -> str | None:
    """Return the option letter ``response`` commits to, or ``None``.

    Args:
        response: The model's reply.
        choices: Option letter -> option text for the item.
    """
    return extract(response, choices).letter


def extract(response: str, choices: dict[str, str]) -> Extraction:
    """Read the option ``response`` commits to, with the reason when there is none.

    Args:
        response: The model's reply.
        choices: Option letter -> option text for the item.

    Returns:
        An :class:`Extraction`; ``letter`` is ``None`` for empty replies,
        refusals, several answers, hedges and replies no rule reads.
    """
    if not response or not response.strip():
        return Extraction(None, "empty")
    if not choices:
        return Extraction(None, "no answer")
    opts = {k.upper(): normalise(v).rstrip(".。") for k, v in choices.items()}
    text = normalise(response)
    letter = _from_json(text, set(opts))
    if letter:
        return Extraction(letter, rule="json")
    invalid = False
    for tier, patterns in (("answer", STRONG), ("choice", MEDIUM)):
        found, bad = _last_statement(text, patterns, opts)
        invalid = invalid or bad
        if found is not None:
            letters, kind = found
            if kind == "invalid letter":
                return Extraction(None, kind)
            if len(letters) == 1:
                return Extraction(letters[0], rule=tier)
            return Extraction(None, kind)
    letter = _from_lines(response, opts)
    if letter:
        return Extraction(letter, rule="line")
    found_text = _from_option_text(text, opts)
    if found_text is not None:
        letters, kind = found_text
        if len(letters) == 1:
            return Extraction(letters[0], rule="option text")
        return Extraction(None, kind)
    return Extraction(None, _why_none(text, invalid))


# --- tiers 2 and 3: statements -------------------------------------------------


def _last_statement(text: str, patterns: list[tuple[re.Pattern[str], bool]],
                    opts: dict[str, str]) -> tuple[tuple[list[str], str] | None, bool]:
    """The last statement any of ``patterns`` makes: ``((letters, kind), invalid)``.

    ``invalid`` says an out-of-range letter was stated.
    """
    best: tuple[int, list[str], str] | None = None
    invalid = False
    listing = patterns is MEDIUM and len({m.group(1) for m in _LABEL.finditer(text)} & set(opts)) >= 3
    for pattern, strict in patterns:
        for m in pattern.finditer(text):
            if _negated(text, m.start()) or (listing and _in_list_item(text, m.start())):
                continue
            read = _read_answer(text, m.end(), opts, strict, by_text=patterns is STRONG)
            if read is None:
                out = _OUT_OF_RANGE.match(text, m.end())
                if out and out.group(1) not in opts:
                    invalid = True
                    if best is None or m.start() > best[0]:
                        best = (m.start(), [], "invalid letter")
                continue
            letters, kind, end = read
            if _LISTING_AFTER.match(text, end) and not kind:
                continue  # "是: A:热退停药 B:热退3天 …" echoes the options; "A:青霉素:…" is a heading
            if best is None or m.start() > best[0]:
                best = (m.start(), letters, kind)
    if patterns is MEDIUM:
        for m in [*LETTERS_FIRST.finditer(text), *ANSWER_AFTER.finditer(text)]:
            letters = list(dict.fromkeys(re.findall(r"[A-Z]", m.group("run"))))
            if _negated(text, m.start()) or (best is not None and m.start() <= best[0]):
                continue
            if all(x in opts for x in letters):
                best = (m.start(), letters, "multiple" if len(letters) > 1 else "")
            else:
                invalid = True
                best = (m.start(), [], "invalid letter")
    return (None if best is None else (best[1], best[2])), invalid


def _in_list_item(text: str, start: int) -> bool:
    """True when ``start`` is inside an item of a list of options ("E:30年:…最长赔偿期为30年")."""
    sentence_start = max(text.rfind(c, 0, start) for c in "。!?;") + 1
    return bool(_LABEL.search(text[sentence_start:start]))


def _negated(text: str, start: int) -> bool:
    """True when a statement is preceded by a negation ("不选A", "排除A")."""
    before = text[max(0, start - 3):start]
    return any(w in before for w in NEG_BEFORE)


def _read_answer(text: str, pos: int, opts: dict[str, str], strict: bool = False,
                 by_text: bool = False) -> tuple[list[str], str, int] | None:
    """Read one or more option references at ``pos``: ``(letters, kind, end)``.

    ``kind`` is ``""`` for one letter, else ``multiple`` or ``hedge``. With
    ``by_text`` an option's own text counts as a reference to it (else only
    texts that start with a letter or digit, like "AB型" or "HBV", do).
    """
    first = _token(text, pos, opts, strict, by_text)
    if first is None:
        run = _RUN.match(text, pos)
        letters_run = list(dict.fromkeys(run.group(1))) if run else []
        if len(letters_run) > 1 and all(x in opts for x in letters_run):
            return letters_run, "multiple", run.end() if run else pos
        return None
    letters, end, hedge = [first[0]], first[1], False
    while True:
        j = JOINER.match(text, end)
        if not j:
            break
        nxt = _token(text, j.end(), opts, False, by_text)
        if nxt is None:
            break
        if j.group("sep") == "," and not re.match(r"\s*(?:$|[。.;、,和及与或都均]|选项|项)", text[nxt[1]:]):
            break
        hedge = hedge or bool(HEDGE_WORD.search(j.group("sep")))
        letters.append(nxt[0])
        end = nxt[1]
    distinct = list(dict.fromkeys(letters))
    kind = "" if len(distinct) == 1 else ("hedge" if hedge else "multiple")
    return distinct, kind, end


_OPEN = re.compile(rf"\s*{OPEN}")
_LISTING_AFTER = re.compile(r"\s*(?:[:：]|[A-J]\s*[:：.、](?!\d))")
_RUN = re.compile(rf"\s*{OPEN}([A-J]{{2,}})(?![A-Za-z0-9])")
_OUT_OF_RANGE = re.compile(rf"\s*{OPEN}([A-Z])(?=\s*[\*\]\)）】]*\s*(?:$|[。.;!?,:]|选项|项|是|为|正确))")
_TAIL = re.compile(r"\s*[\*\]\)）】」』”\"'》]*\s*(?:选项|项)?")
_BODY = re.compile(r"\s*[:：.、\-—(（]?\s*[\*“\"'「《]*\s*")
_CLAUSE_END = re.compile(r"[\*”\"'」》)）】]*\s*(?:$|[。.;!?,])")
_CLOSE = re.compile(r"[\*”\"'」》)）】]*")


def _token(text: str, pos: int, opts: dict[str, str], strict: bool,
           by_text: bool = False) -> tuple[str, int] | None:
    """One option reference at ``pos``: its letter and where it ends, or ``None``."""
    m = _OPEN.match(text, pos)
    i = m.end() if m else pos
    rest = text[i:]
    # The option's own text, e.g. when the text starts with a capital ("AB型", "HBV").
    named = [(len(t), k) for k, t in opts.items()
             if len(t) >= 2 and rest.startswith(t)
             and (by_text or re.match(r"[A-Za-z0-9]", t) or _CLAUSE_END.match(rest, len(t)))]
    if named:
        n, k = max(named)
        end = i + n
    else:
        lm = re.match(r"([A-J])(?![A-Za-z0-9+])(?<![AI](?=\s+[a-z]))", rest)
        if not lm or lm.group(1) not in opts:
            return None
        k, end = lm.group(1), i + 1
        tail = _TAIL.match(text, end)
        end = tail.end() if tail else end
        body = _BODY.match(text, end)
        after = body.end() if body else end
        option = opts[k]
        if option and text.startswith(option, after):
            end = after + len(option)
        elif len(option) >= 4 and text.startswith(option[:4], after):
            end = after + 4
        elif strict and not STRICT_AFTER.match(text, end):
            return None
    close = _CLOSE.match(text, end)
    end = close.end() if close else end
    if NEG_AFTER.match(text, end):
        return None
    return k, end


# --- tier 4: a letter alone or heading a line ----------------------------------

_ALONE = re.compile(rf"^\s*(?:选项)?{OPEN}([A-J])\s*[\*\]\)）】]*\s*(?:选项|项)?[\.。]?\s*$")
_LEADING = re.compile(rf"^\s*(?:选项)?{OPEN}([A-J])\s*[\*\]\)）】]*\s*(?:[\.\)、:：,，]|$|\s|选项|项)")
_LABEL = re.compile(r"(?:^|[\s,，。;；、])[\*\-]*\s*(?:选项)?\s*[(（]?([A-J])\s*[)）]?\s*(?:[:：、]|\.(?!\d))", re.M)
_RUN_AFTER = re.compile(r"\s*[\*\]\)）】]*\s*(?:和|与|及|、|,|，|或)\s*[A-J](?![A-Za-z0-9])")


def _from_lines(response: str, opts: dict[str, str]) -> str | None:
    lines = [ln for ln in (normalise(x) for x in response.splitlines()) if ln]
    if not lines:
        return None
    labels = {m.group(1) for m in _LABEL.finditer(unicodedata.normalize("NFKC", response))}
    last = lines[-1:]
    if len(lines) > 1 and lines[-2].startswith(lines[-1]) and lines[-2] != lines[-1]:
        last = []  # the reply was cut off while repeating its previous line
    for line in lines[:1] + last:
        m = _ALONE.match(line)
        if m is None and len(labels & set(opts)) <= 1:
            m = _LEADING.match(line)
        if m and m.group(1) in opts and not _is_word_start(line, m) and not _RUN_AFTER.match(line, m.end(1)):
            return m.group(1)
    return None


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


# --- tier 5: option text --------------------------------------------------------


def _mentions(segment: str, opts: dict[str, str]) -> list[str]:
    """Options whose full text appears in ``segment``, in order of first appearance.

    Text only inside a longer option's text, or used as a heading ("text：…"), does not count.
    """
    low = segment.lower()
    spans: dict[str, list[tuple[int, int]]] = {}
    for k, t in opts.items():
        t = t.lower()
        if len(t) < 2 and not re.fullmatch(r"[\u4e00-\u9fff]", t):
            continue
        latin = bool(re.match(r"[a-z0-9]", t[:1])) and bool(re.search(r"[a-z0-9]$", t))
        pat = rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])" if latin else re.escape(t)
        spans[k] = [(m.start(), m.end()) for m in re.finditer(pat, low)
                    if not re.match(r"\s*[:：]", low[m.end():])]
    hits: list[tuple[int, str]] = []
    for k, occ in spans.items():
        free = [s for s in occ if not any(o != k and len(opts[o]) > len(opts[k]) and a <= s[0] and s[1] <= b
                                          for o, oc in spans.items() for a, b in oc)]
        if free:
            hits.append((free[0][0], k))
    return [k for _, k in sorted(hits)]


def _from_option_text(text: str, opts: dict[str, str]) -> tuple[list[str], str] | None:
    sentences = [s for s in re.split(r"(?<=[。!?！？;；])|(?<=\.)\s", text) if s.strip()]
    cued: list[str] = []
    for sentence in sentences:
        carry = False
        for clause in re.split(r"[,，]", sentence):
            cue = carry or bool(CLAUSE_CUE.search(_without_options(clause, opts)))
            if cue and not NEGATED_CLAUSE.search(clause):
                cued.append(clause)
            carry = carry or bool(CONNECTIVE_ONLY.fullmatch(clause.strip()))
    for clause in reversed(cued):
        named = _mentions(clause, opts)
        if named:
            return named, "" if len(named) == 1 else ("hedge" if HEDGE_WORD.search(clause) else "multiple")
    named = _mentions(text, opts)
    if len(named) == 1 and sentences and (named[0] in _mentions(sentences[0], opts)
                                          or named[0] in _mentions(sentences[-1], opts)):
        return named, ""
    if len(named) > 1 and len(text) < 80:
        return named, "hedge" if HEDGE_WORD.search(text) else "multiple"
    return None


def _without_options(clause: str, opts: dict[str, str]) -> str:
    """``clause`` with the option texts cut out (a cue inside "首选红霉素" is no cue)."""
    for t in sorted(opts.values(), key=len, reverse=True):
        if len(t) >= 2:
            clause = clause.replace(t, " ")
    return clause


def _why_none(text: str, invalid: bool) -> str:
    if invalid:
        return "invalid letter"
    if REFUSAL.search(text):
        return "refusal"
    if re.search(r"(?<![A-Za-z])[A-J]\s*(?:或|或者|还是|/|\bor\b)\s*[A-J](?![A-Za-z])", text):
        return "hedge"
    if re.search(r"(?<![A-Za-z])[A-J]\s*(?:和|与|及|、|\band\b)\s*[A-J](?![A-Za-z])", text):
        return "multiple"
    return "no answer"


def choice_from_logprobs(top_logprobs: dict[str, float], choices: dict[str, str]) -> str | None:
    """The option letter with the highest first-token log-probability, if any is present."""
    best: tuple[float, str] | None = None
    valid = {k.upper() for k in choices}
    for token, logprob in top_logprobs.items():
        t = normalise(token).strip("()（） .").upper()
        if t in valid and (best is None or logprob > best[0]):
            best = (logprob, t)
    return best[1] if best else None
