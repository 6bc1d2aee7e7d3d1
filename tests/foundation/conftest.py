from __future__ import annotations

from pathlib import Path

import pytest

FIX = Path(__file__).parent / "fixtures" / "exams"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MEDSAGE_DATA_DIR", raising=False)
    monkeypatch.delenv("MEDSAGE_MODEL", raising=False)


@pytest.fixture()
def mock_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the mock provider's generate (one entry per call)."""
    from medsage.models.mock import MockModel

    calls: list[int] = []
    real = MockModel.generate

    async def counting(self, messages, config):  # type: ignore[no-untyped-def]
        calls.append(1)
        return await real(self, messages, config)

    monkeypatch.setattr(MockModel, "generate", counting)
    return calls
