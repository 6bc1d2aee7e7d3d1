"""ASGI middleware: request ids, body-size limit, input hashing and the audit log.

Every ``/v1/`` request gets one audit row, written and committed *before* the
response status line leaves the server: a client that sees a 2xx therefore
always has its row, even if the process dies right after. If the row cannot
be written the client gets 503 instead (the service fails closed). Streaming
responses get their final latency and findings filled in when the stream ends.

``input_hash`` is an HMAC-SHA256 of the query string and body under a random
per-database secret (``meta`` table, shared by the replicas), so equal requests can
be matched within one deployment but a short input cannot be guessed from its hash.
With ``store_raw`` the raw body is kept, except for requests that asked for
de-identification (a route sets ``request.state.deid_applied``): their raw text is
never written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medsage.server.store import AuditRow, Store

log = logging.getLogger("medsage.server.audit")
AUDITED_PREFIX = "/v1/"


class AuditMiddleware:
    """Wraps the app; see the module docstring.

    Args:
        app: The inner ASGI app.
        store: Where rows go.
        max_body_bytes: Larger request bodies get 413.
        store_raw: Also store the raw request body (off by default).
    """

    def __init__(self, app: ASGIApp, store: Store, max_body_bytes: int, store_raw: bool) -> None:
        self.app = app
        self.store = store
        self.max_body = max_body_bytes
        self.store_raw = store_raw
        secret = getattr(store, "secret", None)
        self.hash_key: bytes = secret("audit_input_hash") if callable(secret) else b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Audit an HTTP request (size limit, id, hash, row); other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = _Exchange(self, scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._reject_large(scope, ex.state, ex.send)
            return
        try:
            await self.app(scope, ex.receive, ex.send)
        except Exception:
            if ex.audited and not ex.started:
                row = self._row(scope, ex.state, 500, ex.hasher, ex.raw, ex.start)
                try:
                    await anyio.to_thread.run_sync(self.store.add_audit, row)
                except Exception:  # noqa: BLE001
                    log.exception("audit write failed")
            raise

    async def _reject_large(self, scope: Scope, state: dict[str, Any], send: Send) -> None:
        body = json.dumps({"error": {
            "message": f"request body exceeds {self.max_body} bytes",
            "type": "invalid_request_error", "param": None, "code": "body_too_large"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _row(self, scope: Scope, state: dict[str, Any], status: int, hasher: Any,
             raw: list[bytes], start: float) -> AuditRow:
        principal = state.get("principal")
        return AuditRow(
            request_id=state["request_id"],
            ts=time.time(),
            method=str(scope.get("method", "")),
            endpoint=str(scope.get("path", "")),
            status=int(status),
            key_id=getattr(principal, "key_id", None),
            role=getattr(principal, "role", None),
            model=state.get("model"),
            input_hash=hasher.hexdigest(),
            findings=list(state.get("findings") or []),
            latency_ms=round((time.perf_counter() - start) * 1000, 3),
            raw=(b"".join(raw).decode("utf-8", "replace")
                 if self.store_raw and not state.get("deid_applied") else None),
        )

    async def _finish(self, request_id: str, state: dict[str, Any], start: float) -> None:
        latency = round((time.perf_counter() - start) * 1000, 3)
        try:
            await anyio.to_thread.run_sync(
                self.store.finish_audit, request_id, latency, list(state.get("findings") or []),
                state.get("model"))
        except Exception:  # noqa: BLE001 - the row itself already exists
            log.exception("audit update failed")


class _Exchange:
    """One HTTP request through :class:`AuditMiddleware`: its id, input hash, raw body and row.

    ``receive`` and ``send`` wrap the server's callables for the inner app.
    """

    def __init__(self, mw: AuditMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
        self.mw = mw
        self.scope = scope
        self._receive = receive
        self._send = send
        self.request_id = uuid.uuid4().hex
        self.start = time.perf_counter()
        self.state: dict[str, Any] = scope.setdefault("state", {})
        self.state["request_id"] = self.request_id
        self.audited = str(scope.get("path", "")).startswith(AUDITED_PREFIX)
        self.hasher = hmac.new(mw.hash_key, digestmod=hashlib.sha256)
        query = scope.get("query_string", b"")
        if query:
            self.hasher.update(query)
        self.raw: list[bytes] = []
        self.size = 0
        self.started = False
        self.failed = False

    async def receive(self) -> Message:
        """The next request message; hashes (and keeps) the body and enforces the size limit."""
        message = await self._receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            self.size += len(body)
            if self.size > self.mw.max_body:
                raise HTTPException(413, f"request body exceeds {self.mw.max_body} bytes")
            self.hasher.update(body)
            if self.mw.store_raw:
                self.raw.append(body)
        return message

    async def send(self, message: Message) -> None:
        """Pass a response message on: the row is written before the status line leaves."""
        if self.failed:
            return
        if message["type"] == "http.response.start":
            self.started = True
            headers = list(message.get("headers", []))
            headers.append((b"x-request-id", self.request_id.encode()))
            message = {**message, "headers": headers}
            if self.audited and not await self._write_row(message["status"]):
                return
        elif (message["type"] == "http.response.body" and not message.get("more_body")
              and self.audited and self.state.get("streaming")):
            await self._send(message)
            await self.mw._finish(self.request_id, self.state, self.start)
            return
        await self._send(message)

    async def _write_row(self, status: int) -> bool:
        """Write the audit row; on failure answer 503 instead and return False."""
        row = self.mw._row(self.scope, self.state, status, self.hasher, self.raw, self.start)
        try:
            await anyio.to_thread.run_sync(self.mw.store.add_audit, row)
        except Exception:  # noqa: BLE001 - any DB failure must fail the request
            log.exception("audit write failed; answering 503")
            self.failed = True
            await _send_json(self._send, 503, "audit log unavailable", self.request_id)
            return False
        return True


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_json(send: Send, status: int, message: str, request_id: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "api_error", "param": None,
                                 "code": "audit_unavailable"}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-request-id", request_id.encode())]})
    await send({"type": "http.response.body", "body": body})


def findings_summary(findings: list[Any]) -> list[dict[str, Any]]:
    """What the audit keeps of findings: type, severity and action (no patient text)."""
    out = []
    for f in findings:
        get = f.get if isinstance(f, dict) else lambda k, _f=f: getattr(_f, k, None)
        out.append({"type": get("type"), "severity": get("severity"), "action": get("action")})
    return out
