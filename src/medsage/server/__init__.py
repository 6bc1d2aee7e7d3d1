"""``medsage serve``: the OpenAI-compatible API, clinician workspace, keys and audit.

FastAPI is an optional extra (``pip install 'medsage[serve]'``), so this package
imports it only when :func:`create_app` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medsage.server.config import ServerConfig, load_config

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServerConfig", "create_app", "load_config"]


def create_app(config: ServerConfig | None = None, store: Any = None) -> FastAPI:
    """Build the FastAPI app (see :func:`medsage.server.app.create_app`).

    Raises:
        MissingExtraError: FastAPI is not installed.
    """
    from medsage.server.app import create_app as _create

    return _create(config, store)


def require_serve_extra() -> None:
    """Raise :class:`~medsage.errors.MissingExtraError` unless the ``serve`` extra is installed."""
    import importlib.util

    from medsage.errors import MissingExtraError

    for module, package in (("fastapi", "fastapi"), ("uvicorn", "uvicorn"),
                            ("multipart", "python-multipart")):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(package, "serve", "medsage serve")
