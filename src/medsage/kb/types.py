"""Plain data of the knowledge base: documents, chunks, search hits, build reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """One titled part of a document (a QA pair, a label section, a Markdown heading)."""

    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    """A source document as an adapter read it, before chunking.

    Attributes:
        doc_id: The source's own id (MedQuAD ``Document/@id``, the label file's set id,
            or the path of a user document relative to the folder it was given in).
        title: Human title (MedQuAD: the document's Focus).
        sections: The document's parts, in order.
        source: The adapter kind (``medquad``, ``fda_labels``, ``docs``).
        url: A URL, or the file path for local documents.
        language: ``en`` or ``zh`` (detected when not given).
        licence: The licence the text is used under.
    """

    doc_id: str
    title: str
    sections: tuple[Section, ...]
    source: str
    url: str = ""
    language: str = ""
    licence: str = ""


@dataclass(frozen=True)
class Chunk:
    """A searchable piece of a document with everything needed to cite it."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    source: str
    url: str = ""
    language: str = "en"
    licence: str = ""

    def to_dict(self) -> dict[str, Any]:
        """All fields, as stored in ``chunks.jsonl``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """A chunk from a stored row; missing fields are empty and unknown keys are ignored."""
        return cls(**{k: data.get(k, "") for k in cls.__dataclass_fields__})

    @property
    def index_text(self) -> str:
        """The text the indexes see: title, section heading and body."""
        head = " — ".join(p for p in (self.title, self.section) if p)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Hit:
    """One search result.

    ``score`` is the ranking score of the mode used (BM25 score, cosine similarity,
    or reciprocal-rank-fusion score); ``bm25`` and ``dense`` keep the component scores
    where they were computed. ``margin`` is the cosine minus the median cosine of the
    query with all chunks of the same language: how far the chunk stands out from the
    background, used to tell whether the knowledge base covers a question at all.
    """

    chunk: Chunk
    score: float
    rank: int
    bm25: float | None = None
    dense: float | None = None
    margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the hit: rank, rounded scores, the chunk's citation fields and text."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": c.doc_id,
            "chunk_id": c.chunk_id,
            "title": c.title,
            "section": c.section,
            "url": c.url,
            "source": c.source,
            "language": c.language,
            "licence": c.licence,
            "bm25": None if self.bm25 is None else round(float(self.bm25), 6),
            "dense": None if self.dense is None else round(float(self.dense), 6),
            "margin": None if self.margin is None else round(float(self.margin), 6),
            "text": c.text,
        }


@dataclass
class BuildReport:
    """What a build/add/remove did: counts, skipped inputs with reasons, timings."""

    documents: int = 0
    chunks: int = 0
    added: int = 0
    removed: int = 0
    embedded: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields, as printed by ``kb build --json``."""
        return asdict(self)
