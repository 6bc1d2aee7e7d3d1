"""The note model: sections of sentences, each with the turn ids that support it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medsage.types import DISCLAIMER


@dataclass
class NoteSentence:
    """One note sentence and its evidence.

    Attributes:
        text: The sentence.
        turn_ids: Transcript turns that support it, best first.
        support: The alignment score of the best turn (0–1).
        supported: False flags a possible hallucination.
    """

    text: str
    turn_ids: list[str] = field(default_factory=list)
    support: float = 0.0
    supported: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: text, supporting turn ids and the rounded support score."""
        return {"text": self.text, "turn_ids": self.turn_ids, "support": round(self.support, 3),
                "supported": self.supported}


@dataclass
class NoteSection:
    """A template section (``hpi``, ``主诉`` …) and its sentences."""

    id: str
    title: str
    sentences: list[NoteSentence] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The section's sentences joined into one paragraph."""
        return " ".join(s.text for s in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: id, title and sentences."""
        return {"id": self.id, "title": self.title, "sentences": [s.to_dict() for s in self.sentences]}


@dataclass
class Omission:
    """A fact said in the transcript that the note does not contain."""

    concept: str
    kind: str
    turn_ids: list[str]
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the missing concept, its kind and the turns that said it."""
        return {"concept": self.concept, "kind": self.kind, "turn_ids": self.turn_ids,
                "negated": self.negated}


@dataclass
class Note:
    """A drafted medical record with its traceability, codes and safety results."""

    template: str
    lang: str
    sections: list[NoteSection] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)
    codes: list[dict[str, Any]] = field(default_factory=list)
    safety: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def sentences(self) -> list[NoteSentence]:
        """Every sentence of every section, in note order."""
        return [s for sec in self.sections for s in sec.sentences]

    @property
    def unsupported(self) -> list[NoteSentence]:
        """The sentences that no transcript turn supports."""
        return [s for s in self.sentences if not s.supported]

    def plain_text(self) -> str:
        """Headings and sentences, without evidence markup (what the scorers compare)."""
        parts = []
        for sec in self.sections:
            parts.append(sec.title.upper() if self.lang != "zh" else f"{sec.title}：")
            if sec.text:  # an empty section keeps its heading only (no filler sentence to score)
                parts.append(sec.text)
            parts.append("")
        return "\n".join(parts).strip()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the note with the disclaimer, traceability, codes, safety and stats."""
        n = len(self.sentences)
        return {
            "template": self.template, "lang": self.lang, "disclaimer": DISCLAIMER,
            "sections": [s.to_dict() for s in self.sections],
            "unsupported_sentences": len(self.unsupported), "sentences": n,
            "omissions": [o.to_dict() for o in self.omissions],
            "codes": self.codes, "safety": self.safety, "warnings": self.warnings, "stats": self.stats,
        }
