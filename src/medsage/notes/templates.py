"""Note templates: JSON files a hospital can edit.

A template file holds ``{"id", "lang", "title", "sections": [{"id", "title",
"aliases", "instruction", "keywords", "required"}]}``. ``aliases`` are other
headings that count as this section when parsing a note (``HPI``, ``现病史``);
``keywords`` steer which transcript facts a section receives. Built-ins live in
``medsage/data/note_templates/``; any other path to such a file works too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from medsage.errors import DataError

DEFAULT_TEMPLATES = {"en": "soap_en", "zh": "outpatient_zh"}


@dataclass(frozen=True)
class Section:
    """One template section."""

    id: str
    title: str
    instruction: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    required: bool = True

    def names(self) -> tuple[str, ...]:
        """The headings that identify this section: its title, id and aliases."""
        return (self.title, self.id, *self.aliases)


@dataclass(frozen=True)
class Template:
    """A note template."""

    id: str
    lang: str
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def match_heading(self, heading: str) -> Section | None:
        """The section whose title or alias equals ``heading`` (case/punctuation-insensitive)."""
        key = _norm(heading)
        for sec in self.sections:
            if any(_norm(n) == key for n in sec.names()):
                return sec
        return None


def _norm(s: str) -> str:
    return re.sub(r"[\s#*:：_\-]+", "", s).lower()


def builtin_templates() -> list[str]:
    """Names of the shipped templates."""
    root = resources.files("medsage.data") / "note_templates"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def load_template(name_or_path: str | None = None, lang: str = "en") -> Template:
    """Load a built-in template by name, or a template file by path.

    Raises:
        DataError: unknown name, unreadable file or a malformed template.
    """
    name = name_or_path or DEFAULT_TEMPLATES.get(lang, "soap_en")
    p = Path(name)
    if p.suffix == ".json" and p.is_file():
        raw = p.read_text(encoding="utf-8")
        source = str(p)
    else:
        f = resources.files("medsage.data") / "note_templates" / f"{name}.json"
        if not f.is_file():
            raise DataError(f"unknown note template '{name}' (built-in: {', '.join(builtin_templates())}; "
                            "or give a path to a .json template)")
        raw = f.read_text(encoding="utf-8")
        source = name
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise DataError(f"template {source} is not valid JSON: {exc}") from exc
    return parse_template(data, source)


def parse_template(data: Any, source: str = "template") -> Template:
    """Validate and build a :class:`Template` from parsed JSON."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list) or not data["sections"]:
        raise DataError(f"template {source} needs a non-empty 'sections' list")
    sections = []
    for i, s in enumerate(data["sections"]):
        if not isinstance(s, dict) or not s.get("title"):
            raise DataError(f"template {source}: section {i + 1} needs a 'title'")
        sections.append(Section(
            id=str(s.get("id") or s["title"]), title=str(s["title"]),
            instruction=str(s.get("instruction", "")),
            aliases=tuple(str(a) for a in s.get("aliases", [])),
            keywords=tuple(str(k).lower() for k in s.get("keywords", [])),
            required=bool(s.get("required", True)),
        ))
    return Template(id=str(data.get("id") or source), lang=str(data.get("lang", "en")),
                    title=str(data.get("title", "")), sections=tuple(sections))


_INLINE_RE = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*)?\s*(?P<head>[^:：*#\n]{1,60}?)\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(?P<rest>.*)$")


def _heading(line: str, template: Template) -> tuple[Section | None, str]:
    whole = template.match_heading(line.strip().strip("#*").strip())
    if whole is not None:
        return whole, ""
    m = _INLINE_RE.match(line)
    if m:
        sec = template.match_heading(m.group("head"))
        if sec is not None:
            return sec, m.group("rest").strip()
    return None, ""


def split_sections(text: str, template: Template) -> tuple[dict[str, str], str]:
    """Split note text into ``{section_id: text}`` using the template's headings.

    A heading may stand on its own line (``HISTORY OF PRESENT ILLNESS``,
    ``## 主诉``) or start a line (``主诉：胸痛3天``). Text before the first
    recognised heading is returned separately as the preamble.
    """
    out: dict[str, list[str]] = {}
    current: str | None = None
    preamble: list[str] = []
    for line in text.splitlines():
        sec, rest = _heading(line, template) if line.strip() else (None, "")
        if sec is not None:
            current = sec.id
            out.setdefault(current, [])
            if rest:
                out[current].append(rest)
            continue
        (out[current] if current is not None else preamble).append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}, "\n".join(preamble).strip()


def restrict(template: Template, section_ids: list[str]) -> Template:
    """A copy of ``template`` with only the named sections (by id or title).

    Raises:
        DataError: if none of the names is a section of the template.
    """
    keep = [s for s in template.sections if s.id in section_ids or s.title in section_ids]
    if not keep:
        raise DataError(f"template {template.id} has no section {', '.join(section_ids)}")
    return Template(template.id, template.lang, template.title, tuple(keep))
