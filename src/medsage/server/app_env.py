"""``app`` built from the environment (for ``uvicorn --workers N`` and other ASGI servers).

Usage: ``MEDSAGE_CONFIG=serve.toml uvicorn medsage.server.app_env:app``.
"""

from __future__ import annotations

from medsage.server.app import create_app
from medsage.server.config import load_config

app = create_app(load_config())
