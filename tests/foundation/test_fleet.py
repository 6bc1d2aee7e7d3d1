"""The ``openai/`` provider over several endpoints: spreading, health checks, fail-over."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from medsage.errors import ModelError, SpecError
from medsage.models import get_model
from medsage.models.fleet import parse_base_urls
from medsage.tasks.exams.sample import QUICK_PER_LANGUAGE
from medsage.types import GenerateConfig, Message

from .stub_openai import Stub

STUB = Path(__file__).with_name("fleet_stub.py")
MSGS = [Message("user", "Q?\nA. a\nB. b")]
DEAD = "http://127.0.0.1:9/v1"  # the discard port: connection refused


class Proc:
    """A stub server in its own process."""

    def __init__(self, name: str, delay: float = 0.0, port: int = 0) -> None:
        self.proc = subprocess.Popen([sys.executable, str(STUB), "--name", name, "--delay", str(delay),
                                      "--port", str(port)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture()
def stubs() -> Iterator[list[Proc]]:
    procs = [Proc(n, delay=0.05) for n in "abc"]
    yield procs
    for p in procs:
        p.kill()


def fleet_model(urls: list[str], **opts: object):
    return get_model("openai/m", {"base_url": ",".join(urls), "backoff_base": 0.01, **opts})


async def _many(model, n: int, concurrency: int, on_done=None) -> list:  # type: ignore[no-untyped-def]
    sem = asyncio.Semaphore(concurrency)
    done = 0

    async def one():  # type: ignore[no-untyped-def]
        nonlocal done
        async with sem:
            out = await model.generate(MSGS, GenerateConfig())
        done += 1
        if on_done:
            on_done(done)
        return out

    try:
        return await asyncio.gather(*(one() for _ in range(n)))
    finally:
        await model.aclose()


def _by_stub(outs: list) -> Counter:  # type: ignore[type-arg]
    return Counter(o.text.rsplit(" ", 1)[-1].rstrip("]") for o in outs)


def test_parse_base_urls(tmp_path: Path) -> None:
    assert parse_base_urls("http://a/v1, http://b/v1/,http://a/v1") == ["http://a/v1", "http://b/v1"]
    f = tmp_path / "fleet.txt"
    f.write_text("# our servers\nhttp://a/v1\n\nhttps://b/v1  # gpu 2\n", encoding="utf-8")
    assert parse_base_urls(f"@{f}") == ["http://a/v1", "https://b/v1"]
    with pytest.raises(SpecError, match="not an http"):
        parse_base_urls("http://a/v1,ftp://b")
    with pytest.raises(SpecError, match="no endpoint"):
        parse_base_urls(" , ")
    with pytest.raises(SpecError, match="base_url file"):
        parse_base_urls(f"@{tmp_path / 'missing.txt'}")


def test_requests_are_spread_over_all_endpoints(stubs: list[Proc]) -> None:
    outs = asyncio.run(_many(fleet_model([p.url for p in stubs]), 60, 12))
    assert all(o.error is None for o in outs)
    counts = _by_stub(outs)
    assert set(counts) == {"a", "b", "c"} and min(counts.values()) >= 10, counts


def test_per_endpoint_concurrency_is_respected(stubs: list[Proc]) -> None:
    model = fleet_model([p.url for p in stubs[:2]], max_connections=2)
    peak = 0

    def watch(_: int) -> None:
        nonlocal peak
        peak = max(peak, *(ep.in_flight for ep in model.fleet.endpoints))

    outs = asyncio.run(_many(model, 24, 16, watch))
    assert all(o.error is None for o in outs) and peak <= 2


def test_dead_endpoint_is_skipped_with_a_warning(stubs: list[Proc], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="medsage.models.fleet"):
        outs = asyncio.run(_many(fleet_model([DEAD, stubs[0].url]), 10, 4))
    assert all(o.error is None for o in outs)
    assert [r for r in caplog.records if DEAD in r.getMessage() and "skipped" in r.getMessage()]


def test_killing_an_endpoint_mid_run_loses_no_sample(stubs: list[Proc], caplog: pytest.LogCaptureFixture) -> None:
    def kill_b(done: int) -> None:
        if done == 20:
            stubs[1].kill()

    with caplog.at_level(logging.WARNING, logger="medsage.models.fleet"):
        outs = asyncio.run(_many(fleet_model([p.url for p in stubs]), 120, 12, kill_b))
    assert len(outs) == 120 and all(o.error is None and o.text for o in outs)
    counts = _by_stub(outs)
    assert counts["b"] >= 1 and counts["a"] + counts["c"] >= 80, counts
    assert any(stubs[1].url in r.getMessage() for r in caplog.records)


def test_no_endpoint_reachable_is_one_clear_error() -> None:
    with pytest.raises(ModelError, match="cannot reach any endpoint"):
        asyncio.run(fleet_model([DEAD, "http://127.0.0.1:7/v1"]).generate(MSGS, GenerateConfig()))


def test_retries_over_a_failing_fleet_are_bounded() -> None:
    a, b = Stub(script=[500] * 50), Stub(script=[500] * 50)
    try:
        out = asyncio.run(fleet_model([a.url, b.url], max_retries=2).generate(MSGS, GenerateConfig()))
    finally:
        a.close()
        b.close()
    assert out.error and a.calls + b.calls <= 2 + 2 and a.calls >= 1 and b.calls >= 1


def test_endpoint_comes_back_after_the_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    import medsage.models.fleet as fleet_mod

    monkeypatch.setattr(fleet_mod, "COOLDOWN_S", 0.2)
    good, flaky = Proc("good"), Proc("flaky")
    port = flaky.port
    flaky.kill()
    procs = [good]

    async def scenario() -> tuple[bool, bool, set[str]]:
        model = fleet_model([good.url, f"http://127.0.0.1:{port}/v1"])
        try:
            await model.generate(MSGS, GenerateConfig())
            ep = model.fleet.endpoints[1]
            was_down = ep.down
            procs.append(Proc("flaky", port=port))
            for _ in range(50):
                if not ep.down:
                    break
                await asyncio.sleep(0.1)
            outs = [await model.generate(MSGS, GenerateConfig()) for _ in range(6)]
            return was_down, not ep.down, set(_by_stub(outs))
        finally:
            await model.aclose()

    try:
        was_down, back_up, names = asyncio.run(scenario())
    finally:
        for p in procs:
            p.kill()
    assert was_down and back_up and names == {"good", "flaky"}


def test_bench_run_over_a_fleet_with_a_kill_keeps_every_sample(stubs: list[Proc], tmp_path: Path) -> None:
    """The whole harness: the main job's exam items over 3 endpoints, one SIGKILLed mid-run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "medsage.cli", "bench", "exam-sample", "--model", "openai/stub",
           "-M", "base_url=" + ",".join(p.url for p in stubs), "-c", "8", "--out", str(out),
           "--cache-path", str(tmp_path / "c.sqlite")]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "MEDSAGE_CACHE_DIR": str(tmp_path / "cache")})
    samples = out / "samples.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if samples.is_file() and len(samples.read_text(encoding="utf-8").splitlines()) >= 15:
            break
        time.sleep(0.05)
    stubs[2].kill()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    quick = 2 * QUICK_PER_LANGUAGE  # the main job's quick sample
    assert len(rows) == quick and len({r["id"] for r in rows}) == quick
    assert not [r for r in rows if r.get("error")], [r.get("error") for r in rows if r.get("error")][:3]


def test_every_endpoint_gone_mid_run_is_bounded() -> None:
    """When the whole fleet dies, requests wait at most fleet_wait, then carry an error."""
    only = Proc("only", delay=0.05)

    def kill(done: int) -> None:
        if done == 5:
            only.kill()

    t0 = time.monotonic()
    try:
        outs = asyncio.run(_many(fleet_model([DEAD, only.url], fleet_wait=1.0), 30, 4, kill))
    finally:
        only.kill()
    assert time.monotonic() - t0 < 60  # bounded: fleet_wait is 1 s; 60 s leaves room for a loaded CI machine
    assert sum(o.error is None for o in outs) >= 5
    failed = [o for o in outs if o.error]
    assert failed and all("every endpoint is down" in o.error for o in failed)
