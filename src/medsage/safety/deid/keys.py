"""The local key file for reversible pseudonymisation.

:class:`KeyStore` holds the HMAC secret that derives stable tokens such as
``[PERSON-3f9a2c]``, the per-key date-shift offset and the token -> original
map used by :func:`~medsage.safety.deid.reidentify`. The file is written
atomically with mode 0600; it contains the original identifiers, so it must
stay inside the firewall.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from medsage.errors import DataError

# key-file entry prefix: the exact original of a date whose shifted form is ambiguous
_SURFACE = "DATE-SURFACE:"


class KeyStore:
    """The local key file for reversible pseudonymisation.

    JSON with a random secret, the date-shift offset and the token -> original
    map. Created with mode 0600. It contains the original identifiers: keep it
    inside the firewall and back it up — without it re-identification is impossible.
    """

    def __init__(self, path: str | Path | None = None, *, secret: str | None = None,
                 date_shift_days: int | None = None, entries: dict[str, dict[str, str]] | None = None) -> None:
        self.path = Path(path) if path else None
        self.secret = secret or secrets.token_hex(32)
        if date_shift_days is None:
            raw = int(hmac.new(bytes.fromhex(self.secret), b"date-shift", hashlib.sha256).hexdigest()[:8], 16)
            days = 30 + raw % 336
            date_shift_days = -days if raw & 1 else days
        self.date_shift_days = int(date_shift_days)
        self.entries: dict[str, dict[str, str]] = dict(entries or {})
        self._by_value: dict[tuple[str, str], str] = {(v["type"], v["original"]): k for k, v in self.entries.items()}
        self.dirty = False

    @classmethod
    def load(cls, path: str | Path, *, create: bool = True) -> KeyStore:
        """The key file at ``path``, created with a new secret if it does not exist.

        Args:
            path: The key file.
            create: Create a missing file (else a missing file is an error).

        Raises:
            DataError: The file is missing and ``create`` is false, or it cannot be read.
        """
        p = Path(path)
        if not p.exists():
            if not create:
                raise DataError(f"key file {p} does not exist")
            store = cls(p)
            store.dirty = True
            store.save()
            return store
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            return cls(p, secret=str(data["secret"]), date_shift_days=int(data["date_shift_days"]),
                       entries=dict(data.get("entries", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"cannot read key file {p}: {exc}") from exc

    def token(self, etype: str, original: str) -> str:
        """The stable pseudonym of ``original`` (an HMAC of it, lengthened on a collision)."""
        key = (etype, original)
        if key in self._by_value:
            return self._by_value[key]
        digest = hmac.new(bytes.fromhex(self.secret), f"{etype}\x00{original}".encode(), hashlib.sha256).hexdigest()
        for n in (6, 8, 10, 12, 16):
            tok = f"[{etype}-{digest[:n]}]"
            if tok not in self.entries or self.entries[tok]["original"] == original:
                break
        self.entries[tok] = {"type": etype, "original": original}
        self._by_value[key] = tok
        self.dirty = True
        return tok

    def remember_surface(self, shifted: str, original: str) -> None:
        """Record the exact original of a shifted date whose form the shift made ambiguous."""
        self.entries[_SURFACE + shifted] = {"type": "DATE", "original": original}
        self.dirty = True

    def original(self, token: str) -> str | None:
        """The identifier ``token`` stands for, or None for an unknown token."""
        entry = self.entries.get(token)
        return entry["original"] if entry else None

    def save(self) -> None:
        """Write the key file (owner-only, atomically) if anything changed."""
        if self.path is None or not self.dirty:
            return
        data = {"version": 1, "note": "medsage de-identification key: contains original identifiers; keep inside the firewall",
                "secret": self.secret, "date_shift_days": self.date_shift_days, "entries": self.entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)
        self.dirty = False
