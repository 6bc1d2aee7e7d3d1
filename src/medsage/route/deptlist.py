"""Department concepts and the mapping from a hospital's own department names to them.

The router thinks in ~45 *concepts* (``cardiology``, ``ent``, ``neonatology`` …, in
``data/route_dept/concepts.json``); a hospital names its departments its own way
("小儿呼吸内科", "耳鼻咽喉头颈外科", "Paediatric Cardiology"). :func:`map_department`
turns one name into the concepts it covers plus whether it is a children's clinic:

1. the whole name against every concept alias (``儿童保健科``, ``新生儿科``, ``Cardiology``);
2. a children's prefix (小儿/儿童/儿科/Paediatric …) is split off and the rest matched;
3. the rest is scanned for aliases, longest first (``甲状腺乳腺外科`` -> thyroid + breast);
4. failing all that, the name's embedding is compared with each concept's description.

:func:`load_department_list` reads and validates a list file (one name a line) and
:func:`builtin_list` gives the built-in bilingual list (one name per concept).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.lang import normalise

MAX_LIST = 500
MAX_NAME = 60
# similarity a name must reach to be mapped by embedding alone (e5 cosines sit high)
EMBED_MIN = 0.86
_CHILD_PREFIX = re.compile(r"^(?:小儿|儿童|儿科|小儿科|儿|paediatric|pediatric|children's|childrens|"
                           r"children|child|kids?)\s*", re.I)
_SUFFIX = re.compile(r"(?:门诊部|门诊|病区|病房|中心|专科|[(（].*?[)）])$")
_PUNCT = re.compile(r"[\s,，、/&.·\-]+")


@dataclass(frozen=True)
class Concept:
    """One department concept: names, aliases and complaint terms."""

    key: str
    family: str
    zh: str
    en: str
    aliases: tuple[str, ...]
    terms_zh: tuple[tuple[str, float], ...]
    terms_en: tuple[tuple[str, float], ...]
    desc: str


@dataclass(frozen=True)
class Entry:
    """One name of a department list and what it covers.

    Attributes:
        name: The name exactly as the list gives it.
        concepts: Concept keys the name covers (empty: not understood).
        child: Whether it is a children's clinic.
        how: ``alias``, ``prefix``, ``scan``, ``embedding`` or ``none``.
    """

    name: str
    concepts: tuple[str, ...]
    child: bool
    how: str


@dataclass(frozen=True)
class DepartmentList:
    """A validated list of department names with their concept mapping."""

    entries: tuple[Entry, ...]
    source: str
    digest: str

    @property
    def names(self) -> list[str]:
        """The department names, in list order."""
        return [e.name for e in self.entries]


def _terms(spec: str) -> tuple[tuple[str, float], ...]:
    out = []
    for part in spec.split("|"):
        if not part.strip():
            continue
        term, _, w = part.rpartition(":") if re.search(r":[\d.]+$", part) else (part, "", "1")
        out.append((term.strip().lower(), float(w)))
    return tuple(out)


@lru_cache(maxsize=1)
def concepts() -> dict[str, Concept]:
    """The shipped concepts, keyed by concept key."""
    raw = json.loads(resources.files("medsage").joinpath("data/route_dept/concepts.json")
                     .read_text(encoding="utf-8"))
    out: dict[str, Concept] = {}
    for c in raw["concepts"]:
        aliases = [a for a in (c["aliases_zh"] + "|" + c["aliases_en"]).split("|") if a]
        out[c["key"]] = Concept(c["key"], c["family"], c["zh"], c["en"],
                                tuple(_clean(a) for a in aliases),
                                _terms(c["terms_zh"]), _terms(c["terms_en"]), c["desc"])
    return out


def _clean(name: str) -> str:
    text = normalise(name)[0].strip().lower()
    return _PUNCT.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _alias_index() -> tuple[dict[str, tuple[str, ...]], list[tuple[str, tuple[str, ...]]]]:
    exact: dict[str, tuple[str, ...]] = {}
    for c in concepts().values():
        for a in c.aliases:  # one alias may name two concepts (妇产科, 皮肤性病科)
            if c.key not in exact.get(a, ()):
                exact[a] = (*exact.get(a, ()), c.key)
    ordered = sorted(exact.items(), key=lambda kv: -len(kv[0]))
    return exact, ordered


def _scan(rest: str) -> list[str]:
    _, ordered = _alias_index()
    found: list[str] = []
    taken = [False] * len(rest)
    for alias, keys in ordered:
        if len(alias) < 2 or alias in ("内科", "外科"):
            continue
        start = rest.find(alias)
        while start >= 0:
            span = range(start, start + len(alias))
            ascii_ok = not alias.isascii() or (
                (start == 0 or not rest[start - 1].isalnum())
                and (start + len(alias) == len(rest) or not rest[start + len(alias)].isalnum()))
            if ascii_ok and not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                found.extend(k for k in keys if k not in found)
            start = rest.find(alias, start + 1)
    return found


def map_department(name: str) -> Entry:
    """Map one department name to concepts by aliases (no embedding fallback)."""
    exact, _ = _alias_index()
    clean = _clean(name)
    bare = _SUFFIX.sub("", clean).strip() or clean
    for cand in (clean, bare):
        if cand in exact:
            keys = exact[cand]
            return Entry(name, keys, concepts()[keys[0]].family == "child", "alias")
    m = _CHILD_PREFIX.match(bare)
    child = bool(m)
    rest = bare[m.end():].strip() if m else bare
    if child:
        if rest in ("", "内科", "科", "medicine", "general medicine", "internal medicine"):
            return Entry(name, ("paediatrics",), True, "prefix")
        if rest in ("外科", "surgery", "general surgery"):
            return Entry(name, ("general_surgery",), True, "prefix")
        if rest in exact:
            return Entry(name, exact[rest], True, "prefix")
    found = _scan(rest)
    if found:
        return Entry(name, tuple(found), child, "scan")
    if rest in ("内科", "medicine"):
        return Entry(name, ("general_medicine",), child, "scan")
    if rest in ("外科",):
        return Entry(name, ("general_surgery",), child, "scan")
    return Entry(name, (), child, "none")


def _check_names(names: list[str], source: str) -> None:
    if not names:
        raise DataError(f"department list {source} is empty (one department name a line)")
    if len(names) > MAX_LIST:
        raise DataError(f"department list {source} has {len(names)} names (at most {MAX_LIST})")
    seen: dict[str, int] = {}
    for i, n in enumerate(names, 1):
        if len(n) > MAX_NAME:
            raise DataError(f"department list {source}: name {i} is longer than {MAX_NAME} characters")
        key = _clean(n)
        if key in seen:
            raise DataError(f"department list {source}: duplicate name '{n}' "
                            f"(lines {seen[key]} and {i})")
        seen[key] = i


def read_names(path: str | Path) -> list[str]:
    """Read a department list file: UTF-8 text, one name a line (``#`` comments allowed).

    Raises:
        DataError: the file is missing, binary, not UTF-8, empty, or repeats a name.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read department list {p}: {exc.strerror or exc}") from exc
    if b"\x00" in raw[:8192]:
        raise DataError(f"department list {p} looks binary: give a text file, one name a line")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"department list {p} is not UTF-8 text") from exc
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
        raise DataError(f"department list {p} holds control characters: is it a text file?")
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    _check_names(names, str(p))
    return names


def build_list(names: list[str], source: str, embed: Any = None) -> DepartmentList:
    """Map ``names`` to concepts; ``embed`` (texts -> unit rows) maps what aliases miss."""
    _check_names(names, source)
    entries = [map_department(n) for n in names]
    missing = [i for i, e in enumerate(entries) if not e.concepts]
    if missing and embed is not None:
        keys = list(concepts())
        descs = [f"{concepts()[k].zh} {concepts()[k].en} {concepts()[k].desc}" for k in keys]
        C = _concept_matrix(embed, tuple(descs))
        X = np.asarray(embed([entries[i].name for i in missing]), dtype=np.float32)
        sims = X @ C.T
        for row, i in enumerate(missing):
            j = int(sims[row].argmax())
            if float(sims[row, j]) >= EMBED_MIN:
                e = entries[i]
                entries[i] = Entry(e.name, (keys[j],), e.child, "embedding")
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return DepartmentList(tuple(entries), source, digest)


_MATRICES: dict[tuple[str, ...], np.ndarray] = {}


def _concept_matrix(embed: Any, descs: tuple[str, ...]) -> np.ndarray:
    if descs not in _MATRICES:
        _MATRICES[descs] = np.asarray(embed(list(descs)), dtype=np.float32)
    return _MATRICES[descs]


_LISTS: dict[tuple[str, str], DepartmentList] = {}


def load_department_list(path: str | Path, embed: Any = None) -> DepartmentList:
    """Read, validate and map a list file; cached per file content."""
    names = read_names(path)
    key = (hashlib.sha256("\n".join(names).encode()).hexdigest(), "e" if embed else "")
    if key not in _LISTS:
        _LISTS[key] = build_list(names, str(path), embed)
    return _LISTS[key]


def builtin_list(lang: str) -> DepartmentList:
    """The built-in list: one department per concept, named in ``lang`` (``zh`` or ``en``)."""
    key = ("builtin", lang)
    if key not in _LISTS:
        names = [c.zh if lang == "zh" else c.en for c in concepts().values()]
        _LISTS[key] = build_list(names, f"built-in ({lang})")
    return _LISTS[key]


def sample_list_path() -> Path:
    """The shipped 52-department Chinese sample list (children's and adult clinics)."""
    return Path(str(resources.files("medsage") / "data" / "route_dept" / "departments_zh52.txt"))

def parse_departments(text: str, candidates: Sequence[str]) -> list[str]:
    """Candidate names found in ``text``, in order of appearance (longest name wins overlaps)."""
    found: list[tuple[int, str]] = []
    taken: set[int] = set()
    for name in sorted(candidates, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:
            span = set(range(start, start + len(name)))
            if not span & taken:
                taken |= span
                found.append((start, name))
                break
            start = text.find(name, start + 1)
    return [n for _, n in sorted(found)]
