"""MedQuAD XML: one ``<Document>`` per file, each QA pair becomes a section.

MedQuAD (Ben Abacha & Demner-Fushman 2019, CC BY 4.0) holds consumer-health
question-answer pairs from NIH sites. Folders 10-12 have their answers removed by
the authors; QA pairs without an answer are not indexed.

MedQuAD's ``Document/@id`` is unique only inside one collection (and some
CancerGov files share one), so the document id is ``{source}_{file stem}``,
e.g. ``GARD_0000004`` or ``CancerGov_0000013_2_1``.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from medsage.kb.adapters import walk_files
from medsage.kb.types import Document, Section

LICENCE = "CC BY 4.0 (MedQuAD)"
log = logging.getLogger(__name__)


def read_medquad(root: Path, problems: list[str]) -> Iterator[Document]:
    """Yield one document per MedQuAD XML file under ``root`` that has answers."""
    unanswered = 0
    for path in walk_files(root, (".xml",), problems):
        try:
            doc = ET.parse(path).getroot()
        except (ET.ParseError, OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not readable MedQuAD XML ({exc}), skipped")
            continue
        if doc.tag == "doc":  # a few NINDS files use an older lower-case schema
            doc_id, collection = doc.get("docid"), doc.get("corpus")
            focus, pair_tag, q_tag, a_tag = "doctitle-focus", "pair", "question", "answer"
        else:  # <Document id=…>, or <DiseaseFile fid=…> in one CDC file
            doc_id, collection = doc.get("id") or doc.get("fid"), doc.get("source")
            focus, pair_tag, q_tag, a_tag = "Focus", "QAPair", "Question", "Answer"
        if doc.tag not in ("Document", "doc", "DiseaseFile") or not doc_id:
            problems.append(f"{path}: no <Document id=…> root, skipped")
            continue
        sections = []
        for pair in doc.iter(pair_tag):
            question = " ".join((pair.findtext(q_tag) or "").split())
            answer = (pair.findtext(a_tag) or "").strip()
            if answer:
                sections.append(Section(question, answer))
        if not sections:
            unanswered += 1
            continue
        yield Document(
            doc_id=f"{collection or 'MedQuAD'}_{path.stem}",
            title=" ".join((doc.findtext(focus) or "").split()) or str(doc_id),
            sections=tuple(sections),
            source="medquad",
            url=str(doc.get("url") or ""),
            language="en",
            licence=LICENCE,
        )
    if unanswered:
        log.info("medquad: %d documents without answers not indexed", unanswered)
