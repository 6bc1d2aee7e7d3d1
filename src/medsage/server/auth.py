"""API keys (stored salted and scrypt-hashed), roles and per-key rate limits.

A key looks like ``msk_<key_id>_<secret>``. The ``key_id`` is public (it names
the key in the audit log and in ``medsage keys list``); only the scrypt hash of
the whole key is stored. Successful verifications are remembered in memory (as
a SHA-256 of the key, per process) so the slow hash runs once per key and
process, while revocation is read from the database on every request and so
takes effect on all replicas at once.

Failed logins are throttled so that guessing cannot burn the CPU: the slow hash runs
at most :data:`HASH_SLOTS` at a time, a secret that just failed is rejected from a
negative cache without hashing, and each key id and each client address has a token
bucket of slow-hash attempts (:class:`LoginThrottle`); an empty bucket answers 429
without hashing. A key already verified in this process is recognised by its SHA-256
before any throttle, so its owner is not slowed down by someone guessing its secret.
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
HASH_SLOTS = 2
HASH_WAIT_S = 2.0


class Throttled(Exception):
    """Too many failed verifications for a key id or a client; retry after ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed authentication attempts; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


class LoginThrottle:
    """Token buckets of slow-hash attempts per subject (``key:<id>``, ``client:<addr>``).

    Args:
        burst: Attempts allowed at once per subject.
        per_minute: Refill rate per subject.
        max_subjects: Bound on remembered subjects (oldest dropped first).
    """

    def __init__(self, burst: int = 5, per_minute: float = 12.0, max_subjects: int = 10000) -> None:
        self.burst = float(burst)
        self.per_s = per_minute / 60.0
        self.max_subjects = max_subjects
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, *subjects: str) -> float:
        """Take one attempt from every subject's bucket: 0 when allowed, else seconds to wait.

        Nothing is taken unless every bucket has an attempt left.
        """
        now = time.monotonic()
        with self._lock:
            levels = {}
            for subj in subjects:
                tokens, last = self._buckets.get(subj, (self.burst, now))
                levels[subj] = min(self.burst, tokens + (now - last) * self.per_s)
            short = [lvl for lvl in levels.values() if lvl < 1.0]
            if short:
                for subj, lvl in levels.items():
                    self._buckets[subj] = (lvl, now)
                return max((1.0 - lvl) / self.per_s for lvl in short)
            for subj, lvl in levels.items():
                self._buckets[subj] = (lvl - 1.0, now)
            if len(self._buckets) > self.max_subjects:
                for old in list(self._buckets)[: len(self._buckets) - self.max_subjects]:
                    del self._buckets[old]
            return 0.0

    def peek(self, *subjects: str) -> float:
        """Seconds until every subject has an attempt left (0: now); takes nothing."""
        now = time.monotonic()
        with self._lock:
            levels = [min(self.burst, tokens + (now - last) * self.per_s)
                      for tokens, last in (self._buckets.get(s, (self.burst, now)) for s in subjects)]
        short = [lvl for lvl in levels if lvl < 1.0]
        return max((1.0 - lvl) / self.per_s for lvl in short) if short else 0.0

    def refund(self, *subjects: str) -> None:
        """Give an attempt back (the verification succeeded)."""
        now = time.monotonic()
        with self._lock:
            for subj in subjects:
                tokens, last = self._buckets.get(subj, (self.burst, now))
                self._buckets[subj] = (min(self.burst, tokens + (now - last) * self.per_s + 1.0), now)


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
               rate_per_minute: int | None = None, *,
               expires_days: float | None = None) -> tuple[str, KeyRecord]:
    """Create and store a new key; return ``(plaintext key, record)``.

    The plaintext is shown once and never stored.

    Args:
        store: Where the key record goes.
        name: Who the key is for.
        role: ``clinician`` or ``admin``.
        rate_per_minute: Per-key rate limit (None: the server default; 0: unlimited).
        expires_days: The key stops verifying this many days after creation (None: never).

    Raises:
        SpecError: unknown role, empty name, negative rate or non-positive lifetime.
    """
    if role not in ROLES:
        raise SpecError(f"unknown role '{role}' (known: {', '.join(ROLES)})")
    if not name.strip():
        raise SpecError("a key needs a non-empty name")
    if rate_per_minute is not None and rate_per_minute < 0:
        raise SpecError("rate limit must be >= 0 (0 = unlimited)")
    if expires_days is not None and not expires_days > 0:
        raise SpecError("a key's lifetime must be > 0 days")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    now = time.time()
    record = KeyRecord(key_id, name.strip(), role, salt.hex(), hash_key(key, salt),
                       rate_per_minute, now, None,
                       None if expires_days is None else now + expires_days * 86400.0)
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

    def __init__(self, store: Store, throttle: LoginThrottle | None = None) -> None:
        self.store = store
        self.throttle = throttle or LoginThrottle()
        self._verified: dict[str, str] = {}  # key_id -> sha256(key) of a verified key
        self._failed: dict[str, float] = {}  # sha256(key) of a recently failed key -> when
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(HASH_SLOTS)

    def precheck(self, key: str, client: str | None = None) -> bool:
        """Cheap checks run on the event loop before :meth:`verify` (no database, no hash).

        Returns False when ``key`` is a secret that just failed (answer 401 at once).

        Raises:
            Throttled: the key id or client is out of attempts and ``key`` is not a key this
                process has already verified.
        """
        key_id = key_id_of(key)
        if key_id is None:
            return True
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            cached = self._verified.get(key_id)
            failed_at = self._failed.get(digest)
        if cached is not None and hmac.compare_digest(cached, digest):
            return True
        if failed_at is not None and time.monotonic() - failed_at < 600:
            return False
        wait = self.throttle.peek(f"key:{key_id}", *((f"client:{client}",) if client else ()))
        if wait > 0:
            raise Throttled(wait)
        return True

    def verify(self, key: str, client: str | None = None) -> Principal | None:
        """The principal for ``key``, or ``None`` if unknown, wrong, revoked or expired.

        Args:
            key: The bearer key.
            client: The caller's address (throttled separately from the key id).

        Raises:
            Throttled: too many slow-hash attempts for this key id or client.
        """
        key_id = key_id_of(key)
        if key_id is None:
            return None
        record = self.store.get_key(key_id)
        if record is None or record.revoked is not None:
            return None
        if record.expires is not None and record.expires <= time.time():
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            cached = self._verified.get(key_id)
            failed_at = self._failed.get(digest)
        if cached is not None and hmac.compare_digest(cached, digest):
            return Principal(record.key_id, record.role, record.name, record.rate_per_minute)
        if failed_at is not None and time.monotonic() - failed_at < 600:
            return None  # the same wrong secret again: no second hash
        subjects = (f"key:{key_id}",) + ((f"client:{client}",) if client else ())
        wait = self.throttle.take(*subjects)
        if wait > 0:
            raise Throttled(wait)
        if not self._slots.acquire(timeout=HASH_WAIT_S):
            raise Throttled(1.0)
        try:
            expected = hash_key(key, bytes.fromhex(record.salt))
        finally:
            self._slots.release()
        if not hmac.compare_digest(expected, record.hash):
            with self._lock:
                if len(self._failed) > 10000:
                    self._failed.clear()
                self._failed[digest] = time.monotonic()
            return None
        self.throttle.refund(*subjects)
        with self._lock:
            self._verified[key_id] = digest
        return Principal(record.key_id, record.role, record.name, record.rate_per_minute)


class SharedRateLimiter:
    """Per-key token buckets kept in the database, so the budget is global across replicas.

    Used when the store is PostgreSQL (:meth:`medsage.server.store.Store.take_token`:
    one atomic statement per request). ``shared`` tells the caller to run
    :meth:`check` in a worker thread.

    Args:
        store: The shared store.
        default_per_minute: Budget for keys without their own (0 = unlimited).
    """

    shared = True

    def __init__(self, store: Store, default_per_minute: int) -> None:
        self.store = store
        self.default = default_per_minute

    def check(self, principal: Principal) -> float:
        """Take one token; return 0 when allowed, else seconds until the next token."""
        rate = principal.rate_per_minute if principal.rate_per_minute is not None else self.default
        if rate <= 0:
            return 0.0
        return self.store.take_token(f"key:{principal.key_id}", rate)


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
