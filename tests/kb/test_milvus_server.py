"""The Milvus backend over ``http://`` against a real gRPC server (Milvus Lite's ``server`` command).

``python -m milvus_lite server`` speaks the Milvus protocol on a port, so these tests run
the ``http://host:port#name`` path (the one a Milvus standalone or cluster takes) end to end:
build, search, stats, add, remove and several processes at once, which a Milvus Lite file
does not allow. The server binds 127.0.0.1 only and is always stopped after the module.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.kb import KnowledgeBase
from medsage.kb.milvus import MilvusKB

from .conftest import FIXTURES
from .test_milvus import assert_same_results

pytest.importorskip("pymilvus", reason="pip install 'medsage[milvus]' for the Milvus backend")
pytest.importorskip("milvus_lite", reason="pip install 'medsage[milvus]' for the Milvus Lite server")

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
CHILD_TIMEOUT_S = 180


def _free_port() -> int:
    """A port free on the loopback interface now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Return once the server accepts connections; fail after :data:`START_TIMEOUT_S` or if it exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Milvus Lite server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"Milvus Lite server not listening on {HOST}:{port} after {START_TIMEOUT_S:.0f} s: "
                f"{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server, then kill it if it has not exited in :data:`STOP_TIMEOUT_S`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a Milvus Lite gRPC server run for this module."""
    root = tmp_path_factory.mktemp("milvus_server")
    port = _free_port()
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(root / "data"),
             "--host", HOST, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_listening(proc, port, log)
        yield f"http://{HOST}:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def server_kb(server: str, built_kb: Path, kb_sources: list[str]) -> str:
    """The fixture corpus built on the server through the CLI (embeddings from the cache)."""
    uri = f"{server}#fixture"
    r = CliRunner().invoke(cli, ["kb", "build", "--out", uri, *kb_sources, "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output[r.output.index("{"):])
    assert report["chunks"] == len(KnowledgeBase(built_kb).chunks) and report["embedded"] == 0
    return uri


def _medsage(*args: str) -> subprocess.Popen[str]:
    """``medsage kb ARGS…`` started in a separate process."""
    return subprocess.Popen([sys.executable, "-m", "medsage", "kb", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> str:
    """The stdout of a ``medsage`` child that succeeded; kills it after :data:`CHILD_TIMEOUT_S`."""
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{proc.args!r} did not finish in {CHILD_TIMEOUT_S} s")
    assert proc.returncode == 0, err
    return out


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_same_results_as_the_embedded_store(server_kb: str, built_kb: Path, mode: str) -> None:
    assert_same_results(server_kb, built_kb, mode)


def test_stats_and_filters(server_kb: str, built_kb: Path) -> None:
    kb, ref = KnowledgeBase(server_kb), KnowledgeBase(built_kb)
    stats, want = kb.stats(), ref.stats()
    for key in ("documents", "chunks", "by_source", "by_language"):
        assert stats[key] == want[key], key
    assert [c.chunk_id for c in kb.chunks] == [c.chunk_id for c in ref.chunks]
    assert {h.chunk.language for h in kb.search("fever", k=10, mode="dense", languages=["zh"])} == {"zh"}
    r = CliRunner().invoke(cli, ["kb", "stats", "--kb", server_kb])
    assert r.exit_code == 0 and "milvus store" in r.output and "fixture_g000001" in r.output, r.output


def test_two_processes_search_while_this_one_holds_it_open(server_kb: str) -> None:
    held = KnowledgeBase(server_kb)  # a Milvus Lite file would refuse the other processes now
    runs = {q: _medsage("search", "--kb", server_kb, q, "--json", "-k", "1")
            for q in ("What is high blood pressure?", "哮喘是什么病？")}
    got = {q: json.loads(_finish(proc))[0]["doc_id"] for q, proc in runs.items()}
    assert got == {q: held.search(q, k=1)[0].chunk.doc_id for q in runs}
    assert got["What is high blood pressure?"] == "MPlusHealthTopics_0000471"


def test_add_and_remove_from_another_process_seen_live(server: str, kb_sources: list[str]) -> None:
    uri = f"{server}#updates"
    runner = CliRunner()
    assert runner.invoke(cli, ["kb", "build", "--out", uri, kb_sources[0]]).exit_code == 0
    # stays open across the other process's changes: it reads their rows (its settings, such as
    # the languages present, are those of when it was opened, as for the embedded store)
    kb = KnowledgeBase(uri)

    def sources() -> set[str]:
        return {h.chunk.source for h in kb.search("流感 发热", k=20, mode="bm25")}

    assert "docs" not in sources()
    out = _finish(_medsage("add", "--kb", uri, kb_sources[1], "--json"))
    n_added = json.loads(out[out.index("{"):])["added"]
    assert n_added > 0 and "docs" in sources()
    again = runner.invoke(cli, ["kb", "add", "--kb", uri, kb_sources[1], "--json"])  # same documents: replaced
    assert again.exit_code == 0, again.output
    replaced = json.loads(again.output[again.output.index("{"):])
    assert replaced["removed"] == n_added and replaced["embedded"] == 0
    stats = KnowledgeBase(uri).stats()
    assert stats["chunks"] == sum(v["chunks"] for v in stats["by_source"].values()) == replaced["chunks"]
    gone = runner.invoke(cli, ["kb", "remove", "--kb", uri, "--source", "docs"])
    assert gone.exit_code == 0, gone.output
    assert "docs" not in sources()
    r = runner.invoke(cli, ["kb", "remove", "--kb", uri, "--doc", "no-such-doc"])
    assert r.exit_code == 2 and "nothing to remove" in r.output


def test_rebuild_moves_the_alias(server: str) -> None:
    uri = f"{server}#rebuilt"
    runner = CliRunner()
    for _ in range(2):
        r = runner.invoke(cli, ["kb", "build", "--out", uri, "--no-dense", f"docs:{FIXTURES / 'docs'}"])
        assert r.exit_code == 0, r.output
    kb = MilvusKB(uri)
    assert kb.collection == "rebuilt_g000002"
    assert not kb.client.has_collection("rebuilt_g000001")
