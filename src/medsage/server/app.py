"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from medsage import __version__
from medsage.server.audit import AuditMiddleware
from medsage.server.config import ServerConfig
from medsage.server.errors import install_handlers
from medsage.server.headers import SecurityHeadersMiddleware
from medsage.server.routes import chat, clinical, route_dept, system
from medsage.server.state import ServiceState
from medsage.server.store import Store

DESCRIPTION = (
    "OpenAI-compatible API and clinician workspace for medsage. "
    "Outputs are decision support for clinicians, not diagnoses."
)


def create_app(config: ServerConfig | None = None, store: Store | None = None) -> FastAPI:
    """Build the service.

    Args:
        config: Service configuration (defaults: loopback, mock model, SQLite under ~/.medsage).
        store: An already-open key/audit store (tests); else opened from the config.

    Returns:
        A FastAPI app; ``app.state.medsage`` is its :class:`ServiceState`.
    """
    config = config or ServerConfig()
    svc = ServiceState(config, store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await svc.aclose()

    # /docs is served offline by routes.system (FastAPI's own pages load Swagger from a CDN)
    app = FastAPI(title="medsage", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.medsage = svc
    install_handlers(app)
    app.include_router(chat.router)
    app.include_router(clinical.router)
    app.include_router(system.router)
    app.include_router(route_dept.router)
    app.mount("/static", StaticFiles(directory=system.static_dir(config.static_dir)), name="static")
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(AuditMiddleware, store=svc.store, max_body_bytes=config.max_body_bytes,
                       store_raw=config.store_raw)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
