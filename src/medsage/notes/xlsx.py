"""A minimal reader for the first sheet of an .xlsx file (stdlib only, values as strings)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from medsage.errors import DataError

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _col(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    n = 0
    for ch in letters.group(0) if letters else "A":
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_xlsx_rows(path: str | Path) -> list[list[str]]:
    """Rows of the first worksheet as lists of cell strings.

    Raises:
        DataError: if the file is not a readable .xlsx workbook.
    """
    try:
        with zipfile.ZipFile(path) as z:
            shared: list[str] = []
            if "xl/sharedStrings.xml" in z.namelist():
                root = ET.fromstring(z.read("xl/sharedStrings.xml"))
                for si in root.findall("m:si", _NS):
                    shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
            sheets = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
            if not sheets:
                raise DataError(f"{path}: workbook has no worksheet")
            root = ET.fromstring(z.read(sheets[0]))
    except (zipfile.BadZipFile, ET.ParseError, OSError, KeyError) as exc:
        raise DataError(f"cannot read {path} as .xlsx: {exc}") from exc
    rows: list[list[str]] = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", _NS):
            v = c.find("m:v", _NS)
            if c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            elif v is None or v.text is None:
                continue
            elif c.get("t") == "s":
                text = shared[int(v.text)]
            else:
                text = v.text
            cells[_col(c.get("r", "A"))] = text.strip()
        if cells:
            rows.append([cells.get(i, "") for i in range(max(cells) + 1)])
    return rows
