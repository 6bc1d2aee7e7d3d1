"""API keys (stored salted and scrypt-hashed), roles and per-key rate limits.

A key looks like ``msk_<key_id>_<secret>``. The ``key_id`` is public (it names
the key in the audit log and in ``medsage keys list``); only the scrypt hash of
the whole key is stored. Successful verifications are remembered in memory (as
a SHA-256 of the key, per process) so the slow hash runs once per key and
process, while revocation is read from the database on every request and so
takes effect on all replicas at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from medsage.errors import SpecError
from medsage.server.store import KeyRecord, Store

ROLES = ("clinician", "admin")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
PREFIX = "msk"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key id and its role."""

    key_id: str
    role: str
    name: str = ""
    rate_per_minute: int | None = None


ANONYMOUS = Principal("anonymous", "clinician", "anonymous (auth off)")


def hash_key(key: str, salt: bytes) -> str:
    """The scrypt hash of ``key`` with ``salt``, hex-encoded."""
    return hashlib.scrypt(key.encode(), salt=salt, **_SCRYPT).hex()  # type: ignore[arg-type]


def create_key(store: Store, name: str, role: str = "clinician",
               rate_per_minute: int | None = None) -> tuple[str, KeyRecord]:
    """Create and store a new key; return ``(plaintext key, record)``.

    The plaintext is shown once and never stored.

    Raises:
        SpecError: unknown role, empty name or negative rate.
    """
    if role not in ROLES:
        raise SpecError(f"unknown role '{role}' (known: {', '.join(ROLES)})")
    if not name.strip():
        raise SpecError("a key needs a non-empty name")
    if rate_per_minute is not None and rate_per_minute < 0:
        raise SpecError("rate limit must be >= 0 (0 = unlimited)")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    record = KeyRecord(key_id, name.strip(), role, salt.hex(), hash_key(key, salt),
                       rate_per_minute, time.time(), None)
    store.add_key(record)
    return key, record


def key_id_of(key: str) -> str | None:
    """The key id embedded in ``key``, or ``None`` if it is not a medsage key."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


class Authenticator:
    """Verifies bearer keys against the store, caching slow-hash results per process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._verified: dict[str, str] = {}  # key_id -> sha256(key) of a verified key
        self._lock = threading.Lock()

    def verify(self, key: str) -> Principal | None:
        """The principal for ``key``, or ``None`` if unknown, wrong or revoked."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        record = self.store.get_key(key_id)
        if record is None or record.revoked is not None:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            cached = self._verified.get(key_id)
        if cached is None or not hmac.compare_digest(cached, digest):
            expected = hash_key(key, bytes.fromhex(record.salt))
            if not hmac.compare_digest(expected, record.hash):
                return None
            with self._lock:
                self._verified[key_id] = digest
        return Principal(record.key_id, record.role, record.name, record.rate_per_minute)


class RateLimiter:
    """A per-key token bucket (per process: each replica enforces its own budget).

    Args:
        default_per_minute: Budget for keys without their own (0 = unlimited).
    """

    def __init__(self, default_per_minute: int) -> None:
        self.default = default_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def check(self, principal: Principal) -> float:
        """Take one token; return 0 when allowed, else seconds until the next token."""
        rate = principal.rate_per_minute if principal.rate_per_minute is not None else self.default
        if rate <= 0:
            return 0.0
        per_s = rate / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(principal.key_id, (float(rate), now))
            tokens = min(float(rate), tokens + (now - last) * per_s)
            if tokens >= 1.0:
                self._buckets[principal.key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[principal.key_id] = (tokens, now)
            return (1.0 - tokens) / per_s
