"""Security headers on every response, and the offline API reference page.

The workspace is a same-origin single page: scripts and styles come only from
``/static`` (no inline code), so a strict Content-Security-Policy holds. The API
reference at ``/docs`` is rendered on the server from the OpenAPI schema — no
Swagger UI from a CDN, so it works on a machine without internet access.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (streaming ones included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the security headers a response lacks; other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def docs_html(spec: dict[str, Any]) -> str:
    """A plain HTML API reference from an OpenAPI schema (no scripts, no external assets)."""
    info = spec.get("info", {})
    rows: list[str] = []
    for path, ops in sorted(spec.get("paths", {}).items()):
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            summary = html.escape(str(op.get("summary") or ""))
            desc = html.escape(str(op.get("description") or "")).replace("\n", "<br>")
            rows.append(f"<h3><code>{html.escape(method.upper())} {html.escape(path)}</code></h3>"
                        f"<p><b>{summary}</b></p><p>{desc}</p>")
    title = html.escape(str(info.get("title", "API")))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title} API</title>"
            "<link rel='stylesheet' href='/static/style.css'></head><body><main>"
            f"<h1>{title} {html.escape(str(info.get('version', '')))}</h1>"
            f"<p>{html.escape(str(info.get('description', '')))}</p>"
            "<p>Machine-readable schema: <a href='/openapi.json'>/openapi.json</a></p>"
            + "".join(rows) + "</main></body></html>")
