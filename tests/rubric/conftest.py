"""Shared fixtures for rubric tests: isolated caches and script graders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MEDSAGE_GRADER_CACHE", raising=False)


@pytest.fixture
def script(tmp_path: Path):
    """Write a mock/script file and return its path."""

    def make(entries: list) -> str:
        path = tmp_path / f"script{len(list(tmp_path.glob('script*')))}.json"
        path.write_text(json.dumps(entries), encoding="utf-8")
        return str(path)

    return make
