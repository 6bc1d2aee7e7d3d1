"""Shared fixtures: a small bilingual knowledge base built once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _isolated_embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Builds store embeddings in a per-session cache, never in the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDSAGE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def kb_sources() -> list[str]:
    return [f"medquad:{FIXTURES / 'medquad'}", f"docs:{FIXTURES / 'docs'}"]


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory: pytest.TempPathFactory, kb_sources: list[str]) -> Path:
    """A dense + BM25 KB of the fixture corpus (about 12 chunks; embedding takes seconds)."""
    from medsage.kb import build

    out = tmp_path_factory.mktemp("kb") / "kb"
    build(out, kb_sources)
    return out


@pytest.fixture
def kb_copy(built_kb: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture KB that a test may change."""
    dest = tmp_path / "kb"
    shutil.copytree(built_kb, dest)
    return dest
