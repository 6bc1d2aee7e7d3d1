"""A user's own documents: Markdown, plain text, HTML and PDF, in English or Chinese.

Markdown is split at headings, HTML at ``<h1>``–``<h6>``, plain text at blank-line
paragraphs and PDF by page. Text files are decoded as UTF-8, then GB18030 (common
for Chinese documents); binary or undecodable files are reported and skipped.
A Markdown file may start with simple front matter (``title:``, ``url:``,
``licence:`` lines between ``---`` fences).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from medsage.kb.adapters import walk_files
from medsage.kb.types import Document, Section

SUFFIXES = (".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf")
LICENCE = "user-provided"
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def decode_bytes(path: Path, problems: list[str]) -> str | None:
    """Read ``path`` as text (UTF-8, then GB18030); record and return None if impossible."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path}: unreadable ({exc.strerror}), skipped")
        return None
    if b"\x00" in data[:8192]:
        problems.append(f"{path}: undecodable (binary content), skipped")
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\n\r\t\f")
        if controls > max(3, len(text[:20000]) // 100):
            break
        return text
    problems.append(f"{path}: undecodable (not UTF-8 or GB18030 text), skipped")
    return None


def read_docs(root: Path, problems: list[str]) -> Iterator[Document]:
    """Yield one document per supported file under ``root`` (or ``root`` itself)."""
    base = root if root.is_dir() else root.parent
    for path in walk_files(root, SUFFIXES, problems, report_other=True):
        suffix = path.suffix.lower()
        meta: dict[str, str] = {}
        if suffix == ".pdf":
            from medsage.kb.adapters.pdf import read_pdf

            pages = read_pdf(path, problems)
            if pages is None:
                continue
            sections = [Section(f"p. {i}", t) for i, t in enumerate(pages, 1) if t.strip()]
            title = ""
        else:
            text = decode_bytes(path, problems)
            if text is None:
                continue
            if suffix in (".html", ".htm"):
                title, sections = _html_sections(text)
            elif suffix in (".md", ".markdown"):
                meta, text = _front_matter(text)
                title, sections = _markdown_sections(text)
            else:
                title, sections = _text_sections(text)
        sections = [s for s in sections if s.text.strip()]
        if not sections:
            problems.append(f"{path}: empty document, skipped")
            continue
        rel = path.relative_to(base).as_posix()
        doc_id = f"{base.name}/{rel}" if root.is_dir() else rel
        yield Document(
            doc_id=doc_id,
            title=meta.get("title") or title or path.stem,
            sections=tuple(sections),
            source="docs",
            url=meta.get("url") or str(path.resolve()),
            language=meta.get("language", ""),
            licence=meta.get("licence") or meta.get("license") or LICENCE,
        )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), 40)):
        if lines[end].strip() == "---":
            meta = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, "\n".join(lines[end + 1 :])
    return {}, text


def _markdown_sections(text: str) -> tuple[str, list[Section]]:
    title, heading = "", ""
    body: list[str] = []
    sections: list[Section] = []
    for line in text.splitlines():
        m = _MD_HEADING.match(line)
        if m:
            if body:
                sections.append(Section(heading, "\n".join(body).strip()))
            heading, body = m.group(2), []
            if not title and len(m.group(1)) == 1:
                title = heading
        else:
            body.append(line)
    if body:
        sections.append(Section(heading, "\n".join(body).strip()))
    return title, sections


def _text_sections(text: str) -> tuple[str, list[Section]]:
    stripped = text.strip()
    if not stripped:
        return "", []
    first = stripped.splitlines()[0].strip()
    title = first if len(first) <= 120 else ""
    return title, [Section("", stripped)]


class _HTMLText(HTMLParser):
    """Collects text per heading, dropping script/style/nav content."""

    SKIP = {"script", "style", "nav", "head", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self._skip = 0
        self._in_heading = False
        self._in_title = False
        self._heading: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading, self._heading = True, []
        if tag in ("p", "br", "li", "tr", "div"):
            self.sections[-1][1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if re.fullmatch(r"h[1-6]", tag) and self._in_heading:
            self._in_heading = False
            heading = " ".join("".join(self._heading).split())
            if tag == "h1" and not self.title:
                self.title = heading
            self.sections.append((heading, []))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = self.title or " ".join(data.split())
        elif self._skip:
            return
        elif self._in_heading:
            self._heading.append(data)
        else:
            self.sections[-1][1].append(data)


def _html_sections(text: str) -> tuple[str, list[Section]]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    sections = []
    for heading, parts in parser.sections:
        body = "\n".join(" ".join(ln.split()) for ln in "".join(parts).splitlines())
        sections.append(Section(heading, re.sub(r"\n{2,}", "\n", body).strip()))
    return parser.title, sections
