from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from medsage.errors import DataError
from medsage.runner import get_task
from medsage.tasks.sources import fetch, hub_url

from .conftest import FIX


@pytest.fixture()
def server():
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(FIX), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_downloads_once_into_cache(server: str, tmp_path: Path) -> None:
    path = fetch(f"{server}/medqa.jsonl", cache_dir=tmp_path)
    assert path.read_bytes() == (FIX / "medqa.jsonl").read_bytes()
    assert fetch(f"{server}/medqa.jsonl", cache_dir=tmp_path) == path


def test_fetch_error_is_clear(server: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot download"):
        fetch(f"{server}/missing.jsonl", cache_dir=tmp_path)


def test_task_uses_hub_only_when_allowed(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    task = get_task("medqa_us")
    monkeypatch.setenv("HF_ENDPOINT", server)
    monkeypatch.setattr(task, "hub", {"repo": "x/y", "file": "medqa.jsonl"})
    assert hub_url("x/y", "medqa.jsonl").startswith(server)
    with pytest.raises(DataError, match="--download"):
        task.load(None)
    # the stub serves files by name, so point the hub URL at the fixture itself
    monkeypatch.setattr("medsage.tasks.sources.hub_url", lambda repo, file: f"{server}/{file}")
    assert len(task.load(None, download=True).samples) == 3


def test_data_root_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDSAGE_DATA_DIR", str(FIX.parent))
    task = get_task("medqa_us")
    monkeypatch.setattr(task, "default_data", "exams/medqa.jsonl")
    assert len(task.load(None).samples) == 3
