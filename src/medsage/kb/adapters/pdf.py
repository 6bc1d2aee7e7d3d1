"""PDF text extraction with the optional pure-Python ``pypdf`` reader (extra ``[pdf]``)."""

from __future__ import annotations

import logging
from pathlib import Path

from medsage.errors import MissingExtraError

log = logging.getLogger(__name__)


def read_pdf(path: Path, problems: list[str]) -> list[str] | None:
    """Text of each page of ``path``; a corrupt or encrypted PDF is recorded and skipped.

    Raises:
        MissingExtraError: when pypdf is not installed (pip install 'medsage[pdf]').
    """
    try:
        import pypdf
    except ImportError as exc:
        raise MissingExtraError("pypdf", "pdf", "reading PDF documents") from exc
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            problems.append(f"{path}: encrypted PDF, skipped")
            return None
        return [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types on damaged files
        problems.append(f"{path}: corrupt PDF ({type(exc).__name__}: {exc}), skipped")
        return None
