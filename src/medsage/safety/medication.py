"""A medication mention: what the drug matcher finds and every later check reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medsage.safety.dose_parse import DoseInfo


@dataclass(frozen=True)
class Medication:
    """A medication found in text or given in the patient context.

    Attributes:
        drug_id: Dictionary id (lower-case generic name).
        name: Display name (English generic).
        text: The words as written.
        span: (start, end) in the checked text; None for context medications.
        source: ``text``, ``context`` or ``meds``.
        match: ``generic``, ``synonym``, ``brand``, ``zh`` or ``fuzzy``.
        score: 1.0 for exact matches, lower for fuzzy ones.
        dose: Parsed dose, if one followed the mention.
        negated: The mention sits in an avoid/stop/allergy context ("avoid warfarin").
    """

    drug_id: str
    name: str
    text: str
    span: tuple[int, int] | None = None
    source: str = "text"
    match: str = "generic"
    score: float = 1.0
    dose: DoseInfo | None = None
    negated: bool = False
    classes: tuple[str, ...] = ()
    zh: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``zh`` and ``dose`` only when known."""
        out: dict[str, Any] = {
            "drug_id": self.drug_id, "name": self.name, "text": self.text,
            "span": list(self.span) if self.span else None, "source": self.source, "match": self.match,
            "score": round(self.score, 3), "negated": self.negated, "classes": list(self.classes),
        }
        if self.zh:
            out["zh"] = self.zh
        if self.dose is not None:
            out["dose"] = self.dose.to_dict()
        return out
