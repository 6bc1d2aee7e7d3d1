"""Health, admin audit view and the web workspace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from medsage import __version__
from medsage.server.deps import Admin, Caller, service

router = APIRouter()
STARTED = time.time()


@router.get("/healthz", tags=["system"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness and readiness: the database answers and what is configured."""
    svc = service(request)
    try:
        await anyio.to_thread.run_sync(svc.store.count_keys)
        db = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db = f"error: {type(exc).__name__}"
    return {
        "status": "ok" if db == "ok" else "degraded",
        "version": __version__,
        "uptime_s": round(time.time() - STARTED, 1),
        "database": svc.store.kind,
        "database_status": db,
        "auth": svc.config.auth,
        "default_model": svc.config.default_model,
    }


@router.get("/v1/whoami", tags=["system"])
async def whoami(who: Caller) -> dict[str, Any]:
    """The calling key's id, name and role (the web workspace uses it to check a key)."""
    return {"key_id": who.key_id, "name": who.name, "role": who.role}


@router.get("/v1/admin/audit", tags=["admin"])
async def audit_log(request: Request, _: Admin,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    key_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Recent audit rows (admin keys only)."""
    svc = service(request)
    rows = await anyio.to_thread.run_sync(lambda: svc.store.audit_rows(limit, key_id))
    return {"object": "list", "data": rows}


def static_dir(custom: str = "") -> Path:
    """The web workspace directory."""
    return Path(custom) if custom else Path(__file__).resolve().parent.parent / "static"


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """The API reference, rendered on the server (works offline; no CDN)."""
    from medsage.server.headers import docs_html

    return HTMLResponse(docs_html(request.app.openapi()))


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    """Send browsers to the workspace."""
    return RedirectResponse("/ui/")


@router.get("/ui/", include_in_schema=False)
async def workspace(request: Request) -> FileResponse:
    """The single-page workspace."""
    return FileResponse(static_dir(service(request).config.static_dir) / "index.html",
                        headers={"Cache-Control": "no-cache"})
