from __future__ import annotations

from pathlib import Path

import pytest

FIX = Path(__file__).parent / "fixtures" / "exams"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MEDSAGE_DATA_DIR", raising=False)
    monkeypatch.delenv("MEDSAGE_MODEL", raising=False)
