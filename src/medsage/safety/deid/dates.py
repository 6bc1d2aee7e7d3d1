"""Date recognition, parsing, formatting and shifting.

The date regexes (ISO, Chinese 年月日, numeric m/d/y and d/m/y, month names)
and :func:`shift_date`, which moves a date by a number of days while keeping
the surface format it was written in (used for consistent, interval-preserving
pseudonymisation and for undoing it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_MON_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_MON_ALT = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DATE_RES = [
    ("iso", re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<d>0?[1-9]|[12]\d|3[01])(?!\d)")),
    ("zh_full", re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>0?[1-9]|1[0-2])\s*月\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*(?P<suf>[日号])")),
    ("zh_ym", re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>0?[1-9]|1[0-2])\s*月(?!\s*\d)")),
    ("zh_md", re.compile(r"(?<![\d年])(?P<m>0?[1-9]|1[0-2])\s*月\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*(?P<suf>[日号])")),
    ("mdy", re.compile(r"(?<![\d/.\-])(?P<m>0?[1-9]|1[0-2])(?P<s>[/.\-])(?P<d>0?[1-9]|[12]\d|3[01])(?P=s)(?P<y>(?:19|20)\d{2}|\d{2})(?![\d/\-]|\.\d)")),
    ("dmy", re.compile(r"(?<![\d/.\-])(?P<d>1[3-9]|2\d|3[01])(?P<s>[/.\-])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<y>(?:19|20)\d{2})(?![\d/\-]|\.\d)")),
    ("mon_d_y", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?\s+(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("d_mon_y", re.compile(rf"\b(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON_ALT})\.?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("mon_y", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("mon_d", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?\s+(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b(?!\s*(?:mg|kg|cm|mm|ml|%|years?|days?))")),
]


def _parse_date(ent_text: str) -> tuple[dt.date, str, dict[str, Any]] | None:
    for rule, rx in _DATE_RES:
        m = rx.fullmatch(ent_text)
        if not m:
            continue
        g = m.groupdict()
        try:
            month = _MON_ABBR[g["mon"][:3].lower()] if g.get("mon") else int(g["m"])
            day = int(g["d"]) if g.get("d") else 1
            year = int(g["y"]) if g.get("y") else 2000
            if g.get("y") and len(g["y"]) == 2:
                year += 2000 if year < 50 else 1900
            return dt.date(year, month, day), rule, g
        except (ValueError, KeyError):
            return None
    return None


def _format_date(d: dt.date, rule: str, g: dict[str, Any], original: str) -> str:
    def pad(v: int, like: str | None) -> str:
        return f"{v:02d}" if like and len(like) == 2 else str(v)

    if rule == "iso":
        return f"{d.year}{g['s']}{pad(d.month, g['m'])}{g['s']}{pad(d.day, g['d'])}"
    if rule == "zh_full":
        return f"{d.year}年{d.month}月{d.day}{g.get('suf') or '日'}"
    if rule == "zh_ym":
        return f"{d.year}年{d.month}月"
    if rule == "zh_md":
        return f"{d.month}月{d.day}{g.get('suf') or '日'}"
    if rule in ("mdy", "dmy"):
        y = str(d.year) if len(g["y"]) == 4 else f"{d.year % 100:02d}"
        if rule == "mdy":
            return f"{pad(d.month, g['m'])}{g['s']}{pad(d.day, g['d'])}{g['s']}{y}"
        return f"{pad(d.day, g['d'])}{g['s']}{pad(d.month, g['m'])}{g['s']}{y}"
    mon_full = calendar.month_name[d.month]
    mon = mon_full if g.get("mon") and len(g["mon"].rstrip(".")) > 3 else mon_full[:3]
    if rule == "mon_d_y":
        return f"{mon} {d.day}, {d.year}"
    if rule == "d_mon_y":
        return f"{d.day} {mon} {d.year}"
    if rule == "mon_y":
        return f"{mon} {d.year}"
    if rule == "mon_d":
        return f"{mon} {d.day}"
    return original


def shift_date(value: str, days: int) -> str | None:
    """``value`` shifted by ``days`` in the same format, or None if it is not a date."""
    parsed = _parse_date(value)
    if parsed is None:
        return None
    d, rule, g = parsed
    try:
        return _format_date(d + dt.timedelta(days=days), rule, g, value)
    except OverflowError:
        return None
