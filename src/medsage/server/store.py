"""The shared database: API keys and the audit log.

SQLite (stdlib, WAL mode) is the embedded default; PostgreSQL is used when the
URL starts with ``postgresql://`` (needs ``pip install 'medsage[postgres]'``).
Replicas of the service share nothing but this database: keys (so a revocation on
one replica is seen by the next request on any other), the audit log and, on
PostgreSQL, the rate-limit buckets (:meth:`Store.take_token`).

A PostgreSQL connection that breaks (the server restarted, a fail-over, a network
blip) is reopened and the statement retried, a bounded number of times
(:data:`RECONNECTS`, with backoff); past that the call raises
:class:`StoreUnavailable`. Audit inserts are idempotent (``ON CONFLICT DO NOTHING``
on the request id), so a retried insert whose first attempt did commit is not
written twice.

All methods are synchronous and thread-safe; the app calls them from a worker
thread so the event loop never blocks on I/O.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import MedsageError, MissingExtraError, SpecError

RECONNECTS = 4
RECONNECT_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        salt TEXT NOT NULL,
        hash TEXT NOT NULL,
        rate_per_minute INTEGER,
        created REAL NOT NULL,
        revoked REAL,
        expires REAL
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        request_id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        key_id TEXT,
        role TEXT,
        method TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        status INTEGER NOT NULL,
        model TEXT,
        input_hash TEXT,
        findings TEXT,
        latency_ms REAL,
        raw TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts)",
    "CREATE INDEX IF NOT EXISTS audit_key ON audit (key_id)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,"
    " updated DOUBLE PRECISION NOT NULL)",
)
_KEY_COLUMNS = "key_id, name, role, salt, hash, rate_per_minute, created, revoked, expires"
AUDIT_COLUMNS = (
    "request_id", "ts", "key_id", "role", "method", "endpoint", "status",
    "model", "input_hash", "findings", "latency_ms", "raw",
)


class StoreUnavailable(MedsageError):
    """The database could not be reached, even after reconnecting."""


class _ReconnectingCursor:
    """A PostgreSQL cursor whose ``execute`` reopens a broken connection and retries."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cur: Any = None

    def execute(self, sql: str, params: Any = None) -> Any:
        import psycopg

        last: BaseException | None = None
        for attempt in range(RECONNECTS + 1):
            if self._store._conn is None:  # a reconnect failed: try again (bounded)
                self._store._reconnect(attempt, last or StoreUnavailable("no connection"))
                continue
            try:
                if self._cur is None:
                    self._cur = self._store._conn.cursor()
                return self._cur.execute(sql, params)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                last = exc
                if not self._store._conn_broken():
                    raise StoreUnavailable(f"audit/key database error: {exc}") from exc
                self._cur = None
                if attempt < RECONNECTS:
                    self._store._reconnect(attempt, exc)
        raise StoreUnavailable(f"audit/key database unavailable after {RECONNECTS} reconnects: {last}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()


@dataclass(frozen=True)
class KeyRecord:
    """One stored API key (never the key itself: only its salted hash)."""

    key_id: str
    name: str
    role: str
    salt: str
    hash: str
    rate_per_minute: int | None
    created: float
    revoked: float | None = None
    expires: float | None = None

    def public(self) -> dict[str, Any]:
        """The fields safe to show (no salt or hash)."""
        return {
            "key_id": self.key_id, "name": self.name, "role": self.role,
            "rate_per_minute": self.rate_per_minute, "created": self.created,
            "revoked": self.revoked, "expires": self.expires,
        }


@dataclass
class AuditRow:
    """One audit-log entry (raw text only when the config asks for it)."""

    request_id: str
    ts: float
    method: str
    endpoint: str
    status: int
    key_id: str | None = None
    role: str | None = None
    model: str | None = None
    input_hash: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float | None = None
    raw: str | None = None

    def values(self) -> tuple[Any, ...]:
        """The row's values in the order of the ``audit`` table's columns."""
        return (
            self.request_id, self.ts, self.key_id, self.role, self.method, self.endpoint,
            self.status, self.model, self.input_hash,
            json.dumps(self.findings, ensure_ascii=False) if self.findings else None,
            self.latency_ms, self.raw,
        )


class Store:
    """Keys and audit rows in SQLite or PostgreSQL.

    Args:
        url: ``sqlite:///path``, ``sqlite://:memory:``, a bare path, or ``postgresql://…``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = "postgres" if url.startswith(("postgresql://", "postgres://")) else "sqlite"
        self._lock = threading.Lock()
        self._conn: Any = None
        self._ph = "%s" if self.kind == "postgres" else "?"
        self._connect()
        with self._cursor() as cur:
            for stmt in _SCHEMA:
                cur.execute(stmt)
        self._migrate()

    def _migrate(self) -> None:
        """Add columns that older databases lack (``api_keys.expires``)."""
        with self._cursor() as cur:
            if self.kind == "postgres":
                cur.execute("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires REAL")
                # PostgreSQL's REAL is 4 bytes: epoch seconds lose ~2 minutes of precision
                # (audit order, key expiry); SQLite's REAL is 8 bytes already
                cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'real'"
                            " AND table_name IN ('audit', 'api_keys') AND table_schema = current_schema()")
                for table, column in cur.fetchall():
                    cur.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE DOUBLE PRECISION")
                return
            cur.execute("PRAGMA table_info(api_keys)")
            if "expires" not in {row[1] for row in cur.fetchall()}:
                cur.execute("ALTER TABLE api_keys ADD COLUMN expires REAL")

    def secret(self, name: str) -> bytes:
        """A random per-database secret called ``name`` (created once, shared by all replicas)."""
        with self._cursor() as cur:
            cur.execute(self._q("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
                        (name, secrets.token_hex(32)))
            cur.execute(self._q("SELECT value FROM meta WHERE name = ?"), (name,))
            return bytes.fromhex(str(cur.fetchone()[0]))

    # -- connection handling ------------------------------------------------
    def _connect(self) -> None:
        if self.kind == "postgres":
            try:
                import psycopg
            except ImportError as exc:
                raise MissingExtraError("psycopg", "postgres", "a PostgreSQL audit store") from exc
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            except psycopg.Error as exc:
                raise SpecError(f"cannot connect to the audit database: {exc}") from exc
            return
        path = self.url.removeprefix("sqlite:///").removeprefix("sqlite://")
        if path and path != ":memory:":
            path = str(Path(path).expanduser())
            _private_file(Path(path))
        try:
            conn = sqlite3.connect(path or ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            for extra in ("-wal", "-shm"):
                if path and path != ":memory:" and os.path.exists(path + extra):
                    os.chmod(path + extra, 0o600)
        except sqlite3.Error as exc:
            raise SpecError(f"cannot open the audit database {path}: {exc}") from exc
        self._conn = conn

    def _conn_broken(self) -> bool:
        conn = self._conn
        return conn is None or bool(getattr(conn, "broken", False) or getattr(conn, "closed", False))

    def _reconnect(self, attempt: int, cause: BaseException) -> None:
        """Reopen the PostgreSQL connection after a backoff (called with the lock held).

        Leaves ``_conn`` None when the server is still unreachable; the caller's bounded
        loop decides whether to try again.
        """
        import psycopg

        time.sleep(RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)])
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        try:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            self._conn = None

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._lock:
            if self.kind == "postgres":
                cur: Any = _ReconnectingCursor(self)
            else:
                cur = self._conn.cursor()
            try:
                yield cur
            finally:
                with contextlib.suppress(Exception):
                    cur.close()

    def _q(self, sql: str) -> str:
        return sql.replace("?", self._ph)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- keys ----------------------------------------------------------------
    def add_key(self, record: KeyRecord) -> None:
        """Insert a new key record."""
        with self._cursor() as cur:
            cur.execute(self._q(
                f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (record.key_id, record.name, record.role, record.salt, record.hash,
                 record.rate_per_minute, record.created, record.revoked, record.expires))

    def get_key(self, key_id: str) -> KeyRecord | None:
        """The record for ``key_id``, or ``None``."""
        with self._cursor() as cur:
            cur.execute(self._q(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?"), (key_id,))
            row = cur.fetchone()
        return KeyRecord(*row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        """All key records, oldest first."""
        with self._cursor() as cur:
            cur.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created")
            return [KeyRecord(*row) for row in cur.fetchall()]

    def revoke_key(self, key_id: str) -> bool:
        """Mark ``key_id`` revoked; ``False`` if it does not exist or was already revoked."""
        with self._cursor() as cur:
            cur.execute(self._q("UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL"),
                        (time.time(), key_id))
            return bool(cur.rowcount)

    def count_keys(self) -> int:
        """How many keys (revoked included) exist."""
        with self._cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM api_keys")
            return int(cur.fetchone()[0])

    # -- audit ---------------------------------------------------------------
    def add_audit(self, row: AuditRow) -> None:
        """Insert one audit row (committed before this returns)."""
        cols = ", ".join(AUDIT_COLUMNS)
        marks = ", ".join("?" for _ in AUDIT_COLUMNS)
        with self._cursor() as cur:  # idempotent: a retry after a lost connection writes no duplicate
            cur.execute(self._q(f"INSERT INTO audit ({cols}) VALUES ({marks}) ON CONFLICT (request_id) DO NOTHING"),
                        row.values())

    def finish_audit(self, request_id: str, latency_ms: float, findings: list[dict[str, Any]] | None,
                     model: str | None = None) -> None:
        """Update a row written at response start with the final latency (streaming)."""
        with self._cursor() as cur:
            cur.execute(self._q(
                "UPDATE audit SET latency_ms = ?, findings = COALESCE(?, findings),"
                " model = COALESCE(?, model) WHERE request_id = ?"),
                (latency_ms, json.dumps(findings, ensure_ascii=False) if findings else None,
                 model, request_id))

    def audit_rows(self, limit: int = 100, key_id: str | None = None,
                   request_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Recent audit rows, newest first (or exactly ``request_ids`` when given)."""
        cols = ", ".join(AUDIT_COLUMNS)
        sql = f"SELECT {cols} FROM audit"
        params: list[Any] = []
        if key_id:
            sql += " WHERE key_id = ?"
            params.append(key_id)
        if request_ids is not None:
            sql += (" AND" if params else " WHERE") + " request_id IN ("
            sql += ", ".join("?" for _ in request_ids) + ")"
            params.extend(request_ids)
        else:
            sql += " ORDER BY ts DESC LIMIT ?"
            params.append(int(limit))
        with self._cursor() as cur:
            cur.execute(self._q(sql), tuple(params))
            rows = cur.fetchall()
        out = []
        for row in rows:
            item = dict(zip(AUDIT_COLUMNS, row, strict=True))
            item["findings"] = json.loads(item["findings"]) if item["findings"] else []
            out.append(item)
        return out

    def count_audit(self) -> int:
        """How many audit rows exist."""
        with self._cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM audit")
            return int(cur.fetchone()[0])

    # -- shared rate limits ----------------------------------------------------
    def take_token(self, bucket: str, per_minute: float) -> float:
        """Take one token from the shared bucket ``bucket`` (capacity ``per_minute``).

        One atomic upsert, so concurrent replicas never both take the last token. On
        PostgreSQL the clock is the database's (replicas on several hosts agree).

        Returns:
            0 when a token was taken, else the seconds until the next one.
        """
        cap, per_s = float(per_minute), float(per_minute) / 60.0
        if self.kind == "postgres":
            now, least, greatest = "EXTRACT(EPOCH FROM statement_timestamp())::float8", "LEAST", "GREATEST"
            params: dict[str, Any] = {"b": bucket, "cap": cap, "per_s": per_s}
            ph = {k: f"%({k})s" for k in params}
        else:
            now, least, greatest = ":now", "min", "max"
            params = {"b": bucket, "cap": cap, "per_s": per_s, "now": time.time()}
            ph = {k: f":{k}" for k in params}
        refill = (f"{least}({ph['cap']}, rate_buckets.tokens + {greatest}(0, {now} - rate_buckets.updated)"
                  f" * {ph['per_s']})")
        sql = (f"INSERT INTO rate_buckets (bucket, tokens, updated) VALUES ({ph['b']}, {ph['cap']} - 1, {now}) "
               f"ON CONFLICT (bucket) DO UPDATE SET tokens = {refill} - 1, "
               f"updated = {greatest}(rate_buckets.updated, {now}) WHERE {refill} >= 1 RETURNING tokens")
        with self._cursor() as cur:
            cur.execute(sql, params)
            if cur.fetchone() is not None:
                return 0.0
            cur.execute(f"SELECT {refill.replace('rate_buckets.', '')} FROM rate_buckets WHERE bucket = {ph['b']}",
                        params)
            row = cur.fetchone()
        tokens = float(row[0]) if row else 0.0
        return max(0.01, (1.0 - tokens) / per_s)


def _private_file(path: Path) -> None:
    """Create ``path``'s folder (0700) and the file itself (0600) if they do not exist yet.

    The database holds key hashes and the audit log: it must not be world-readable.
    """
    parent = path.parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(parent, 0o700)  # mkdir's mode is filtered by the umask
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    with contextlib.suppress(OSError):  # not ours to change (shared deployment): sqlite still opens it
        os.chmod(path, 0o600)
