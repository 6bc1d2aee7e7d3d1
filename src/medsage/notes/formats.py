"""Readers for transcript files: plain text, JSON turns, ACI-Bench / MTS-Dialog CSV, TextGrid.

``load_transcript(path)`` picks the reader from the extension (``.txt``,
``.json``, ``.jsonl``, ``.csv``, ``.TextGrid``); ``file.csv#ID`` selects one
row of a CSV. The dataset readers (``read_aci_csv`` …) return plain dict rows
for the benchmark tasks.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.notes.roles import infer_roles
from medsage.notes.transcript import Transcript, make_transcript, parse_text

MAX_BYTES = 20_000_000


def decode_bytes(data: bytes, source: str = "") -> str:
    """Decode transcript bytes (UTF-8, UTF-16 with BOM, or GB18030).

    Raises:
        DataError: if the bytes do not look like text.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                text = data.decode("utf-8", errors="replace")
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t"))
    if text and bad / len(text) > 0.05:
        raise DataError(f"{source or 'input'} does not look like a text transcript "
                        f"({bad / len(text):.0%} undecodable or control bytes)")
    return text


def read_text(path: str | Path) -> str:
    """Read a text file with size and encoding checks."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"transcript file not found: {p}")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise DataError(f"{p} is {size / 1e6:.0f} MB; transcripts over {MAX_BYTES // 1_000_000} MB "
                        "are not supported")
    return decode_bytes(p.read_bytes(), str(p))


def load_transcript(path: str | Path, lang: str = "auto", infer: bool = True) -> Transcript:
    """Read one transcript from ``path`` (``file.csv#ID`` picks a CSV row).

    Raises:
        DataError: for a missing, empty, binary or malformed file.
    """
    spec = str(path)
    row_id = ""
    if "#" in spec and not Path(spec).exists():
        spec, _, row_id = spec.partition("#")
    p = Path(spec)
    suffix = p.suffix.lower()
    if suffix == ".textgrid" or (not p.exists() and (p.parent / f"{p.name}_doctor.TextGrid").is_file()):
        tr = read_textgrid_pair(p, lang=lang)
    elif suffix == ".csv":
        rows = read_dialogue_csv(p)
        row = next((r for r in rows if r["id"] == row_id), None) if row_id else rows[0]
        if row is None:
            raise DataError(f"no row with id '{row_id}' in {p}")
        tr = parse_text(row["dialogue"], source=f"{p.name}#{row['id']}", lang=lang)
    elif suffix in (".json", ".jsonl"):
        tr = parse_json_turns(read_text(p), source=p.name, lang=lang)
    else:
        tr = parse_text(read_text(p), source=p.name, lang=lang)
    return infer_roles(tr) if infer else tr


def parse_json_turns(text: str, source: str = "", lang: str = "auto") -> Transcript:
    """Parse JSON turns into a transcript.

    Accepts a list of ``{"speaker"|"role", "text"|"content"}`` objects, ``{"turns": [...]}``,
    or JSON lines of such objects.
    """
    try:
        data: Any = json.loads(text)
    except ValueError:
        try:
            data = [json.loads(ln) for ln in text.splitlines() if ln.strip()]
        except ValueError as exc:
            raise DataError(f"{source or 'input'}: not valid JSON or JSON lines ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("turns") or data.get("utterances") or data.get("messages") or data.get("dialogue")
    if isinstance(data, str):
        return parse_text(data, source=source, lang=lang)
    if not isinstance(data, list) or not all(isinstance(x, dict | str) for x in data):
        raise DataError(f"{source or 'input'}: expected a list of turns "
                        '({"speaker": ..., "text": ...}) or {"turns": [...]}')
    if all(isinstance(x, str) for x in data):
        return parse_text("\n".join(data), source=source, lang=lang)
    return make_transcript([x for x in data if isinstance(x, dict)], source=source, lang=lang)


def read_dialogue_csv(path: str | Path) -> list[dict[str, str]]:
    """Read an ACI-Bench or MTS-Dialog CSV into rows ``{id, dialogue, note, section, dataset}``."""
    p = Path(path)
    text = read_text(p)
    csv.field_size_limit(50_000_000)
    reader = csv.DictReader(text.splitlines(keepends=True))
    cols = set(reader.fieldnames or [])
    if "dialogue" not in cols:
        raise DataError(f"{p}: no 'dialogue' column (columns: {', '.join(sorted(cols)) or 'none'})")
    rows: list[dict[str, str]] = []
    for i, r in enumerate(reader):
        rows.append({
            "id": (r.get("encounter_id") or r.get("id") or r.get("ID") or str(i)).strip(),
            "dialogue": r.get("dialogue") or "",
            "note": r.get("note") or r.get("section_text") or "",
            "section": r.get("section_header") or "",
            "dataset": r.get("dataset") or "",
        })
    if not rows:
        raise DataError(f"{p}: no rows")
    return rows


_INTERVAL_RE = re.compile(
    r"xmin\s*=\s*(?P<xmin>[\d.]+)\s*xmax\s*=\s*(?P<xmax>[\d.]+)\s*text\s*=\s*\"(?P<text>(?:[^\"]|\"\")*)\"",
    re.S,
)


def read_textgrid(path: str | Path, speaker: str) -> list[dict[str, Any]]:
    """Read the non-empty intervals of a TextGrid file as turns of ``speaker``."""
    text = read_text(path)
    if "TextGrid" not in text[:200]:
        raise DataError(f"{path}: not a Praat TextGrid file")
    out = []
    for m in _INTERVAL_RE.finditer(text):
        utter = m.group("text").replace('""', '"').strip()
        if utter:
            out.append({"speaker": speaker, "text": utter, "start": float(m.group("xmin")),
                        "end": float(m.group("xmax"))})
    return out


def read_textgrid_pair(path: str | Path, lang: str = "auto") -> Transcript:
    """Read a PriMock57-style consultation: ``X_doctor.TextGrid`` + ``X_patient.TextGrid``.

    ``path`` may name either file or the common stem; turns are merged by start time.
    """
    p = Path(path)
    stem = re.sub(r"_(doctor|patient)$", "", p.stem if p.suffix.lower() == ".textgrid" else p.name)
    rows: list[dict[str, Any]] = []
    found = []
    for role in ("doctor", "patient"):
        f = p.parent / f"{stem}_{role}.TextGrid"
        if f.is_file():
            rows.extend(read_textgrid(f, role))
            found.append(role)
    if not found:
        if p.is_file():
            rows = read_textgrid(p, "")
        else:
            raise DataError(f"no TextGrid files for {p}")
    rows.sort(key=lambda r: r["start"])
    tr = make_transcript(rows, source=stem, lang=lang)
    if len(found) == 1:
        tr = tr.with_warning(f"only the {found[0]} side of the recording was found")
    return tr
