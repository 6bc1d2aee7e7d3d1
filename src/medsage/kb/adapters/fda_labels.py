"""FDA drug-label text (the NLM DDI label corpus): numbered label sections as sections.

Each file is one structured product label as plain text: the first line names the
product, headings look like ``5.1 Title`` or ``7 DRUG INTERACTIONS``. The file name
is the label's DailyMed set id, used as document id and for the DailyMed URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from medsage.kb.adapters import walk_files
from medsage.kb.adapters.docs import decode_bytes
from medsage.kb.types import Document, Section

LICENCE = "public domain (FDA structured product label)"
_HEADING = re.compile(r"^\d{1,2}(?:\.\d{1,2})*\s+\S.{0,120}$")
_SETID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def read_labels(root: Path, problems: list[str]) -> Iterator[Document]:
    """Yield one document per label text file under ``root``."""
    for path in walk_files(root, (".txt",), problems):
        text = decode_bytes(path, problems)
        if text is None:
            continue
        lines = [ln.strip() for ln in text.splitlines()]
        title = next((ln for ln in lines if ln), "")
        if not title:
            problems.append(f"{path}: empty document, skipped")
            continue
        sections: list[Section] = []
        heading = ""
        body: list[str] = []
        for line in lines[lines.index(title) + 1 :]:
            if _HEADING.match(line) and len(line.split()) <= 14:
                if body:
                    sections.append(Section(heading, "\n".join(body)))
                heading, body = line, []
            elif line:
                body.append(line)
        if body:
            sections.append(Section(heading, "\n".join(body)))
        if not sections:
            problems.append(f"{path}: no text after the title, skipped")
            continue
        stem = path.stem
        url = (f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={stem}"
               if _SETID.match(stem) else str(path))
        yield Document(stem, title, tuple(sections), "fda_labels", url, "en", LICENCE)
