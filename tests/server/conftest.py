"""Shared fixtures: an app on a temporary SQLite store with one clinician and one admin key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from medsage.server import create_app  # noqa: E402
from medsage.server.auth import create_key  # noqa: E402
from medsage.server.config import ServerConfig  # noqa: E402
from medsage.server.store import Store  # noqa: E402


@dataclass
class Env:
    """A running test app and its keys."""

    client: TestClient
    store: Store
    db_url: str
    clinician: str
    admin: str
    clinician_id: str

    def h(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.clinician}"}


def make_env(tmp_path: Path, **overrides: object) -> Iterator[Env]:
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    config = ServerConfig(database=db_url, **overrides)  # type: ignore[arg-type]
    store = Store(db_url)
    clinician, rec = create_key(store, "dr test", "clinician")
    admin, _ = create_key(store, "admin test", "admin")
    app = create_app(config, store)
    with TestClient(app) as client:
        yield Env(client, store, db_url, clinician, admin, rec.key_id)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, base_models=("mock/echo", "mock/fixed", "mock/error"))


@dataclass
class Live:
    """A uvicorn server on 127.0.0.1 in a background thread."""

    url: str
    store: Store
    clinician: str
    admin: str


def serve_in_thread(app: object) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",  # type: ignore[arg-type]
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{tmp / 'server.db'}"
    store = Store(db_url)
    clinician, _ = create_key(store, "dr live", "clinician")
    admin, _ = create_key(store, "admin live", "admin")
    app = create_app(ServerConfig(database=db_url, base_models=("mock/echo", "mock/fixed")), store)
    for url in serve_in_thread(app):
        yield Live(url, store, clinician, admin)
