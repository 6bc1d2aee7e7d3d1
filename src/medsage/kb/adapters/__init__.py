"""Source adapters: one module per input format, each yielding :class:`Document` objects.

A source is given as ``kind:path``; :func:`read_source` dispatches on ``kind`` through
:data:`medsage.registry.kb_adapters` (the ``medsage.kb_adapters`` entry points).
Adapters never raise on one bad file: they append ``"path: reason"`` to ``problems``
and go on with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from medsage.errors import SpecError
from medsage.kb.types import Document
from medsage.registry import kb_adapters

Adapter = Callable[[Path, list[str]], Iterator[Document]]

ALIASES = {"labels": "fda_labels", "fda": "fda_labels", "doc": "docs", "files": "docs"}


def parse_source(spec: str) -> tuple[str, Path]:
    """Split ``kind:path`` into a known kind and a path.

    Raises:
        SpecError: when the kind is missing or unknown.
    """
    kind, sep, path = spec.partition(":")
    kind = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if not sep or not path or kind not in kb_adapters:
        raise SpecError(
            f"source '{spec}' must be kind:path with kind one of {', '.join(kb_adapters.names())} "
            "(e.g. medquad:data/medquad, docs:./guidelines)"
        )
    return kind, Path(path).expanduser()


def read_source(spec: str, problems: list[str]) -> Iterator[Document]:
    """Yield the documents of one ``kind:path`` source, recording skipped inputs."""
    kind, path = parse_source(spec)
    if not path.exists():
        problems.append(f"{path}: does not exist, skipped")
        return
    adapter: Adapter = kb_adapters.get(kind)
    yield from adapter(path, problems)


def walk_files(
    root: Path, suffixes: tuple[str, ...], problems: list[str], report_other: bool = False
) -> list[Path]:
    """Files under ``root`` (or ``root`` itself) whose suffix is in ``suffixes``, sorted.

    Unreadable folders are recorded in ``problems`` and skipped; so are files of
    other types when ``report_other`` is set.
    """
    import os

    if root.is_file():
        return [root]
    found: list[Path] = []

    def onerror(err: OSError) -> None:
        problems.append(f"{err.filename}: unreadable folder ({err.strerror}), skipped")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.suffix.lower() in suffixes:
                found.append(p)
            elif report_other:
                problems.append(f"{p}: unsupported file type '{p.suffix or name}', skipped")
    return found
