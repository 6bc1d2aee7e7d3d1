"""The response cache: answers survive a reopen; a writer that fails says so instead of hanging."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from medsage.cache import ResponseCache
from medsage.errors import MedsageError
from medsage.types import ModelOutput


def test_answers_survive_a_reopen(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", ModelOutput(text="B", model="m", top_logprobs={"B": -0.1}))
    cache.put("bad", ModelOutput(text="", model="m", error="boom"))  # errors are never stored
    assert len(cache) == 1
    cache.close()
    again = ResponseCache(tmp_path / "c.sqlite")
    hit = again.get("k")
    assert hit is not None and hit.cached and hit.text == "B" and hit.top_logprobs == {"B": -0.1}
    assert again.get("bad") is None
    again.close()


def test_a_failed_writer_is_an_error_not_a_hang(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    other = sqlite3.connect(str(tmp_path / "c.sqlite"))
    other.execute("DROP TABLE responses")  # the writer's next INSERT fails
    other.commit()
    other.close()
    cache.put("k", ModelOutput(text="B", model="m"))
    start = time.perf_counter()
    with pytest.raises(MedsageError, match="writer stopped.*1 answers were not saved"):
        cache.flush()
    assert time.perf_counter() - start < 5
    assert cache.get("k") is not None  # still served from memory for this run
    cache.close()
