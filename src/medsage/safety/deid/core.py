"""Detection, overlap resolution and the de-/re-identification API.

:func:`detect` runs every identifier pattern and the name detector over the
text and keeps the highest-priority, longest non-overlapping spans as
:class:`Entity` objects; :func:`deidentify` replaces them with pseudonym tokens
or ``[TYPE]`` placeholders (dates shifted), and :func:`reidentify` restores a
pseudonymised text with its :class:`~medsage.safety.deid.keys.KeyStore`.
"""

from __future__ import annotations

import bisect
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.lang import detect_language, normalise
from medsage.safety.deid.dates import _DATE_RES, shift_date
from medsage.safety.deid.keys import _SURFACE, KeyStore
from medsage.safety.deid.names import _detect_names
from medsage.safety.deid.patterns import (
    _ADDRESS_LABEL,
    _ADDRESS_RES,
    _CN_ID_CUE,
    _CN_ID_RE,
    _EMAIL_RE,
    _IPV4_RE,
    _IPV6_RE,
    _MEDICAL_ID_RE,
    _MEDICAL_ID_ZH_RE,
    _PHONE_CUE,
    _PHONE_RES,
    _PRIORITY,
    _SSN_RE,
    _TOKEN_RE,
    _URL_RE,
    cn_id_valid,
)


@dataclass(frozen=True)
class Entity:
    """One detected identifier: its type, span in the input, text and replacement."""

    type: str
    start: int
    end: int
    text: str
    replacement: str = ""
    rule: str = ""
    valid: bool | None = None
    obfuscation: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``valid`` and ``obfuscation`` only when set."""
        out: dict[str, Any] = {"type": self.type, "start": self.start, "end": self.end, "text": self.text,
                               "replacement": self.replacement, "rule": self.rule}
        if self.valid is not None:
            out["valid"] = self.valid
        if self.obfuscation:
            out["obfuscation"] = list(self.obfuscation)
        return out


@dataclass
class DeidResult:
    """De-identified (or re-identified) text and the entities replaced."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    mode: str = "pseudonymise"
    lang: str = "en"

    def counts(self) -> dict[str, int]:
        """The number of replaced entities per type."""
        out: dict[str, int] = {}
        for e in self.entities:
            out[e.type] = out.get(e.type, 0) + 1
        return out

    def to_dict(self, include_originals: bool = False) -> dict[str, Any]:
        """The JSON form of the result.

        Args:
            include_originals: Keep each entity's original text (off by default: the output
                should not carry the identifiers it removed).
        """
        ents = []
        for e in self.entities:
            d = e.to_dict()
            if not include_originals:
                d.pop("text", None)
            ents.append(d)
        return {"text": self.text, "mode": self.mode, "lang": self.lang, "counts": self.counts(), "entities": ents}


def detect(text: str, *, lang: str = "auto") -> list[Entity]:
    """Identifier spans in ``text`` (non-overlapping, in order).

    Detection runs on the normalised copy (:func:`medsage.lang.normalise`), so
    full-width digits, zero-width characters inside names and look-alike letters do not
    hide an identifier; spans point at the original characters (a split name is covered
    whole) and ``obfuscation`` lists the kinds of suspicious characters inside each one.
    """
    clean, omap = normalise(text)
    found = _detect_clean(clean)
    if not omap.changed:
        return found
    out: list[Entity] = []
    for e in found:
        s, t = omap.span(e.start, e.end)
        kinds = tuple(k for k in omap.kinds(s, t) if k != "diacritic")
        out.append(Entity(e.type, s, t, text[s:t], e.replacement, e.rule, e.valid, kinds))
    return out


_Cand = tuple[int, int, str, str, bool | None]


def _detect_clean(text: str) -> list[Entity]:
    """Every identifier candidate in the (normalised) text, trimmed, then resolved."""
    cands: list[_Cand] = []
    for start, end, etype, rule, valid in (*_net_candidates(text), *_id_candidates(text),
                                           *_contact_candidates(text)):
        trimmed = _trim(text, start, end, etype)
        if trimmed is not None:
            cands.append((*trimmed, etype, rule, valid))
    return _resolve(text, cands)


def _trim(text: str, start: int, end: int, etype: str) -> tuple[int, int] | None:
    """The span without edge whitespace/punctuation (and an address's label); None if empty."""
    while start < end and text[start] in " \t\n,;:：，；":
        start += 1
    while end > start and text[end - 1] in " \t\n,;:.：，；。)":
        end -= 1
    if etype == "ADDRESS":
        lab = _ADDRESS_LABEL.match(text, start, end)
        if lab:
            start = lab.end()
    return (start, end) if end > start else None


def _net_candidates(text: str) -> Iterator[_Cand]:
    """E-mail addresses, URLs and IP addresses."""
    for m in _EMAIL_RE.finditer(text):
        yield m.start(), m.end(), "EMAIL", "email", None
    for m in _URL_RE.finditer(text):
        yield m.start(), m.end(), "URL", "url", None
    for m in _IPV4_RE.finditer(text):
        yield m.start(), m.end(), "IP", "ipv4", None
    for m in _IPV6_RE.finditer(text):
        s = m.group(0)
        if s.count(":") >= 2 and (re.search(r"[A-Fa-f]", s) or "::" in s) and not re.fullmatch(r"[\d:]+", s.strip(":")):
            yield m.start(), m.end(), "IP", "ipv6", None


def _id_candidates(text: str) -> Iterator[_Cand]:
    """Chinese resident IDs, medical record numbers and SSNs."""
    for m in _CN_ID_RE.finditer(text):
        valid = cn_id_valid(m.group(0))
        cue = bool(_CN_ID_CUE.search(text[max(0, m.start() - 12): m.start()]))
        if valid or cue:
            yield m.start(), m.end(), "CN_RESIDENT_ID", "cn_id" if valid else "cn_id_cue", valid
        else:
            yield m.start(), m.end(), "MEDICAL_ID", "long_number", None  # fail closed: an unexplained 18-digit number
    for m in _MEDICAL_ID_RE.finditer(text):
        yield m.start("v"), m.end("v"), "MEDICAL_ID", "id_keyword", None
    for m in _MEDICAL_ID_ZH_RE.finditer(text):
        yield m.start("v"), m.end("v"), "MEDICAL_ID", "id_keyword_zh", None
    for m in _SSN_RE.finditer(text):
        yield m.start(), m.end(), "MEDICAL_ID", "ssn", None


def _contact_candidates(text: str) -> Iterator[_Cand]:
    """Phone numbers, dates, addresses and person names."""
    for rule, rx in _PHONE_RES:
        for m in rx.finditer(text):
            if rule == "nanp_plain" and not _PHONE_CUE.search(text[max(0, m.start() - 25): m.start()]):
                continue
            yield m.start(), m.end(), "PHONE", rule, None
    for rule, rx in _DATE_RES:
        for m in rx.finditer(text):
            yield m.start(), m.end(), "DATE", rule, None
    for rule, rx in _ADDRESS_RES:
        for m in rx.finditer(text):
            yield m.start(), m.end(), "ADDRESS", rule, None
    for n_start, n_end, n_rule in _detect_names(text):
        yield n_start, n_end, "PERSON", n_rule, None


class _Taken:
    """Non-overlapping intervals with O(log n) overlap checks."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.starts, e - 1) - 1
        return i >= 0 and self.ends[i] > s

    def add(self, s: int, e: int) -> None:
        i = bisect.bisect_left(self.starts, s)
        self.starts.insert(i, s)
        self.ends.insert(i, e)


def _resolve(text: str, cands: list[_Cand]) -> list[Entity]:
    cands.sort(key=lambda c: (-_PRIORITY[c[2]], -(c[1] - c[0]), c[0]))
    taken = _Taken()
    chosen: list[_Cand] = []
    for c in cands:
        s, e = c[0], c[1]
        if taken.overlaps(s, e):
            continue
        taken.add(s, e)
        chosen.append(c)
    chosen.sort(key=lambda c: c[0])
    return [Entity(etype, s, e, text[s:e], rule=rule, valid=valid) for s, e, etype, rule, valid in chosen]


def deidentify(text: str, *, mode: str = "pseudonymise", key: KeyStore | str | Path | None = None,
               lang: str = "auto", date_mode: str = "shift", types: tuple[str, ...] | None = None) -> DeidResult:
    """Replace identifiers in ``text``.

    Args:
        text: Clinical text (English, Chinese or mixed).
        mode: ``pseudonymise`` (reversible with ``key``) or ``redact`` (irreversible).
        key: A :class:`KeyStore` or a key-file path (created if missing) for ``pseudonymise``.
            Without one a throw-away key is used (consistent within this call only).
        lang: ``auto`` (by script), ``en`` or ``zh``.
        date_mode: ``shift`` (consistent offset) or ``redact`` (``[DATE]``).
        types: Only these identifier types (default: all).

    Returns:
        The new text and the list of entities (type, span in the input, replacement).
    """
    if mode in ("pseudonymize", "pseudo", "reversible"):
        mode = "pseudonymise"
    if mode in ("irreversible", "remove"):
        mode = "redact"
    if mode not in ("pseudonymise", "redact"):
        raise ValueError(f"unknown de-identification mode '{mode}' (pseudonymise or redact)")
    text = text or ""
    lang = detect_language(text, lang)
    store: KeyStore
    if isinstance(key, KeyStore):
        store = key
    elif key is not None:
        store = KeyStore.load(key)
    else:
        store = KeyStore()
    shift = store.date_shift_days if mode == "pseudonymise" else (
        (secrets.randbelow(336) + 30) * (1 if secrets.randbelow(2) else -1))
    entities = detect(text, lang=lang)
    if types:
        entities = [e for e in entities if e.type in types]
    out: list[str] = []
    pos = 0
    replaced: list[Entity] = []
    for e in entities:
        # the clean form: a disguised value gets the same token / date shift as the plain one
        value = normalise(e.text)[0] if e.obfuscation else e.text
        if e.type == "DATE" and date_mode == "shift":
            new = shift_date(value, shift)
            if new is None:
                new = store.token("DATE", value) if mode == "pseudonymise" else "[DATE]"
            elif mode == "pseudonymise" and shift_date(new, -shift) != value:
                store.remember_surface(new, value)  # e.g. "March" shifted to "May" reads back as "Mar"
        elif mode == "pseudonymise":
            new = store.token(e.type, value)
        else:
            new = f"[{e.type}]"
        out.append(text[pos:e.start])
        out.append(new)
        pos = e.end
        replaced.append(Entity(e.type, e.start, e.end, e.text, new, e.rule, e.valid, e.obfuscation))
    out.append(text[pos:])
    if mode == "pseudonymise":
        store.save()
    return DeidResult("".join(out), replaced, mode, lang)


def reidentify(text: str, key: KeyStore | str | Path, *, lang: str = "auto") -> DeidResult:
    """Restore a pseudonymised text with its key file (tokens back to values, dates un-shifted)."""
    store = key if isinstance(key, KeyStore) else KeyStore.load(key, create=False)
    text = text or ""
    lang = detect_language(text, lang)
    spans: list[tuple[int, int, str, str]] = []
    for m in _TOKEN_RE.finditer(text):
        orig = store.original(m.group(0))
        if orig is not None:
            spans.append((m.start(), m.end(), m.group(1), orig))
    taken = _Taken()
    for s0, e0, _, _ in spans:
        taken.add(s0, e0)
    for _rule, rx in _DATE_RES:
        for m in rx.finditer(text):
            if taken.overlaps(m.start(), m.end()):
                continue
            orig = store.original(_SURFACE + m.group(0)) or shift_date(m.group(0), -store.date_shift_days)
            if orig is not None:
                spans.append((m.start(), m.end(), "DATE", orig))
                taken.add(m.start(), m.end())
    spans.sort()
    out: list[str] = []
    pos = 0
    ents: list[Entity] = []
    for s, e, etype, orig in spans:
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(orig)
        ents.append(Entity(etype, s, e, text[s:e], orig, "reidentify"))
        pos = e
    out.append(text[pos:])
    return DeidResult("".join(out), ents, "reidentify", lang)
