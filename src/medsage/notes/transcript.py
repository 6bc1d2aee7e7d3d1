"""The transcript model and the plain-text / JSON-turn parsers.

A :class:`Transcript` is a list of :class:`Turn` objects with stable ids
(``t1``, ``t2`` …) that note sentences cite. Speaker labels are kept as given
(``speaker``) and mapped to a role (``doctor``, ``patient``, ``other`` or
``unknown``); :func:`medsage.notes.roles.infer_roles` fills in or corrects roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from medsage.errors import DataError
from medsage.lang import language_mix

ROLES = ("doctor", "patient", "other", "unknown")

_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "doctor": ("doctor", "dr", "physician", "clinician", "provider", "gp", "md", "医生", "大夫",
               "医师", "主任"),
    "patient": ("patient", "pt", "患者", "病人", "病患"),
    "other": ("guest", "family", "relative", "mother", "father", "mom", "dad", "wife", "husband",
              "son", "daughter", "caregiver", "interpreter", "translator", "nurse", "家属", "翻译",
              "护士", "妈妈", "爸爸", "母亲", "父亲", "丈夫", "妻子", "儿子", "女儿"),
}
_LABEL_RE = re.compile(
    r"^\s*(?:\[(?P<br>[^\]\n]{1,40})\]|(?P<lab>[A-Za-z][A-Za-z0-9_ .\-]{0,29}|[\u4e00-\u9fff]{1,6}(?:\d)?)"
    r"\s*[:：])\s*(?P<text>.*)$"
)
_NOISE_RE = re.compile(r"<[^>]{1,20}/?>|</[^>]{1,20}>")


@dataclass(frozen=True)
class Turn:
    """One utterance.

    Attributes:
        id: Stable id cited by note sentences (``t1`` …).
        role: ``doctor`` | ``patient`` | ``other`` | ``unknown``.
        text: What was said (markup such as ``<UNSURE>`` removed).
        speaker: The label as given in the source (``""`` if none).
        start: Start time in seconds, when the source has timestamps.
        end: End time in seconds.
    """

    id: str
    role: str
    text: str
    speaker: str = ""
    start: float | None = None
    end: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``start``/``end`` only for a timed (audio) turn."""
        d: dict[str, Any] = {"id": self.id, "role": self.role, "speaker": self.speaker, "text": self.text}
        if self.start is not None:
            d["start"], d["end"] = self.start, self.end
        return d


@dataclass(frozen=True)
class Transcript:
    """A parsed consultation.

    Attributes:
        turns: The utterances in order.
        lang: ``en`` or ``zh`` (the majority language).
        source: Where it came from (file name, dataset id).
        warnings: What parsing or role inference could not do cleanly.
    """

    turns: tuple[Turn, ...]
    lang: str = "en"
    source: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The transcript as ``[id] Role: text`` lines."""
        return "\n".join(f"[{t.id}] {role_label(t.role, self.lang, t.speaker)}: {t.text}" for t in self.turns)

    def by_id(self) -> dict[str, Turn]:
        """The turns keyed by their id."""
        return {t.id: t for t in self.turns}

    def with_warning(self, message: str) -> Transcript:
        """A copy with ``message`` added to the parse warnings."""
        return replace(self, warnings=(*self.warnings, message))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: language, source, warnings and turns."""
        return {"lang": self.lang, "source": self.source, "warnings": list(self.warnings),
                "turns": [t.to_dict() for t in self.turns]}


def role_label(role: str, lang: str, speaker: str = "") -> str:
    """A display label for ``role`` in ``lang``."""
    zh = {"doctor": "医生", "patient": "患者", "other": "其他", "unknown": "未知"}
    en = {"doctor": "Doctor", "patient": "Patient", "other": "Other", "unknown": "Speaker"}
    base = (zh if lang == "zh" else en).get(role, role)
    if role == "other" and speaker:
        return f"{base} ({speaker})"
    return base


def role_of(label: str) -> str:
    """Map a speaker label (``Doctor``, ``[patient_guest]``, ``家属``) to a role."""
    low = label.strip().lower().replace("_", " ").replace("-", " ")
    words = set(re.split(r"[\s.]+", low)) | {low}
    for role in ("other", "doctor", "patient"):  # "patient guest" is other, not patient
        for w in _ROLE_WORDS[role]:
            if w in words or (not w.isascii() and w in low):
                return role
    return "unknown"


def clean_text(text: str) -> str:
    """Drop transcription markup (``<UNSURE>``, ``<UNIN/>``) and squeeze spaces."""
    return re.sub(r"\s+", " ", _NOISE_RE.sub(" ", text)).strip()


def make_transcript(rows: list[tuple[str, str]] | list[dict[str, Any]], source: str = "",
                    lang: str = "auto") -> Transcript:
    """Build a transcript from ``(speaker, text)`` pairs or ``{"speaker","text",…}`` dicts.

    Raises:
        DataError: if no row has any text.
    """
    turns: list[Turn] = []
    for row in rows:
        if isinstance(row, dict):
            speaker = str(row.get("speaker") or row.get("role") or "")
            text = str(row.get("text") or row.get("content") or row.get("utterance") or "")
            start, end = row.get("start"), row.get("end")
        else:
            speaker, text = row
            start = end = None
        text = clean_text(text)
        if not text:
            continue
        turns.append(Turn(id=f"t{len(turns) + 1}", role=role_of(speaker) if speaker else "unknown",
                          text=text, speaker=speaker.strip(),
                          start=float(start) if start is not None else None,
                          end=float(end) if end is not None else None))
    if not turns:
        raise DataError(f"transcript {source or '(input)'} is empty: no utterance has any text")
    joined = " ".join(t.text for t in turns)
    detected, mixed = language_mix(joined)
    warnings: list[str] = []
    if mixed:
        warnings.append(f"mixed languages: the transcript has both Chinese and English; "
                        f"treated as '{detected if lang == 'auto' else lang}'")
    if not re.search(r"\w", joined):
        raise DataError(f"transcript {source or '(input)'} has no words")
    return Transcript(tuple(turns), lang=detected if lang in ("auto", "", None) else lang,
                      source=source, warnings=tuple(warnings))


def parse_text(text: str, source: str = "", lang: str = "auto") -> Transcript:
    """Parse a plain-text transcript.

    Lines may start with a label (``Doctor:``, ``医生：``, ``[patient]``,
    ``Speaker 1:``); an unlabelled line continues the previous labelled turn, or
    becomes a turn of unknown speaker when the text has no labels at all.
    """
    rows: list[tuple[str, str]] = []
    lines = [ln for ln in text.splitlines() if ln.strip()]
    labelled = [_LABEL_RE.match(ln) for ln in lines]
    n_labelled = sum(1 for m in labelled if m and _is_label(m))
    for line, m in zip(lines, labelled, strict=True):
        if m and _is_label(m):
            rows.append(((m.group("br") or m.group("lab") or "").strip(), m.group("text")))
        elif rows and n_labelled:
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
        else:
            rows.append(("", line))
    return make_transcript(rows, source=source, lang=lang)


def _is_label(m: re.Match[str]) -> bool:
    label = m.group("br") or m.group("lab") or ""
    if m.group("br"):
        return True
    if role_of(label) != "unknown":
        return True
    # "Speaker 1:", "SPEAKER_00:", "A:" — short generic labels only, not "Note: ..." prose.
    return bool(re.fullmatch(r"(?i)(speaker|spk|s|p|d|a|b|c)[ _]?\d{0,2}", label.strip()))
