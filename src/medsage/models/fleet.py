"""Several OpenAI-compatible endpoints serving one model: choice, health checks, fail-over.

``openai/<model>`` with ``-M base_url=http://a/v1,http://b/v1`` (or ``-M base_url=@FILE``,
one URL per line, ``#`` comments) sends each request to the least busy endpoint that is
up and has a free slot (``max_connections`` slots per endpoint; ties go round-robin).

Health: before the first request every endpoint is probed (``GET /models``; any HTTP
answer, even 404, counts as alive, only a refused connection or a timeout as dead).
An endpoint that refuses a connection, mid-run or at the start, is marked down with one
warning and skipped; a background probe brings it back after a cooldown (5 s, doubling
to 60 s). A request that failed on it is retried at once on another endpoint; the
number of tries per request is bounded by the caller (see
:meth:`medsage.models.openai_api.OpenAIModel._call`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import SpecError

log = logging.getLogger(__name__)

COOLDOWN_S = 5.0
MAX_COOLDOWN_S = 60.0


def parse_base_urls(value: str | None) -> list[str]:
    """The endpoint list of a ``base_url`` option: ``a,b,c``, ``@FILE`` or one URL.

    Raises:
        SpecError: for an unreadable file, an empty list or a URL that is not http(s).
    """
    if not value:
        return []
    text = str(value).strip()
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"base_url file {path}: {exc.strerror or exc}") from exc
        parts = [line.split("#", 1)[0].strip() for line in raw.splitlines()]
        where = f"base_url file {path}"
    else:
        parts = [p.strip() for p in text.split(",")]
        where = "base_url"
    urls: list[str] = []
    for url in parts:
        if not url:
            continue
        if not url.startswith(("http://", "https://")):
            raise SpecError(f"{where}: '{url}' is not an http(s) URL")
        url = url.rstrip("/")
        if url not in urls:
            urls.append(url)
    if not urls:
        raise SpecError(f"{where}: no endpoint URL given")
    return urls


@dataclass
class Endpoint:
    """One server of the fleet and what the fleet knows about it."""

    url: str
    client: Any
    capacity: int
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    reached: bool = False
    down_until: float = 0.0
    down: bool = False
    cooldown: float = COOLDOWN_S
    probing: bool = field(default=False, repr=False)


class FleetDown(Exception):
    """No endpoint was up within the wait the caller allowed."""


class Fleet:
    """Endpoints of one model with per-endpoint slots and health state.

    Args:
        endpoints: The servers, in the order given.
        probe_timeout: Seconds a health probe may take.
        name: The model spec, for log messages.
    """

    def __init__(self, endpoints: list[Endpoint], probe_timeout: float = 3.0, name: str = "openai") -> None:
        self.endpoints = endpoints
        self.probe_timeout = probe_timeout
        self.name = name
        self._cond: asyncio.Condition | None = None
        self._rr = 0
        self._check: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self.endpoints)

    @property
    def any_reached(self) -> bool:
        """Whether any endpoint has answered at least once."""
        return any(ep.reached for ep in self.endpoints)

    def stats(self) -> list[dict[str, Any]]:
        """Per endpoint: URL, requests served, failures, whether it is down now."""
        return [{"url": ep.url, "served": ep.served, "failures": ep.failures, "down": ep.down}
                for ep in self.endpoints]

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def probe(self, ep: Endpoint) -> bool:
        """Whether ``ep`` answers HTTP at all (``GET /models``; any status counts)."""
        try:
            await ep.client.with_options(timeout=self.probe_timeout, max_retries=0).get("/models", cast_to=str)
        except Exception as exc:  # noqa: BLE001 - the SDK's status errors mean "alive"
            return getattr(exc, "status_code", None) is not None
        return True

    async def check_all(self) -> None:
        """Probe every endpoint once (before the first request); mark the dead ones down.

        Concurrent callers all wait for the same probe.
        """
        if self._check is None:
            self._check = asyncio.get_running_loop().create_task(self._check_all())
        await self._check

    async def _check_all(self) -> None:
        alive = await asyncio.gather(*(self.probe(ep) for ep in self.endpoints))
        for ep, ok in zip(self.endpoints, alive, strict=True):
            if ok:
                ep.reached = True
            else:
                self.mark_down(ep, "does not answer the health check")

    def _pick(self, avoid: set[str]) -> Endpoint | None:
        free = [ep for ep in self.endpoints if not ep.down and ep.in_flight < ep.capacity]
        if not free:
            return None
        fresh = [ep for ep in free if ep.url not in avoid] or free
        n = len(self.endpoints)
        order = {ep.url: (i - self._rr) % n for i, ep in enumerate(self.endpoints)}
        best = min(fresh, key=lambda ep: (ep.in_flight / ep.capacity, order[ep.url]))
        self._rr = (self.endpoints.index(best) + 1) % n
        return best

    async def acquire(self, avoid: set[str] | None = None, wait_s: float = 30.0) -> Endpoint:
        """A slot on the least busy endpoint that is up (preferring ones not in ``avoid``).

        Waits for a free slot; when every endpoint is down, waits up to ``wait_s`` for
        one to come back.

        Raises:
            FleetDown: when no endpoint came back within ``wait_s``.
        """
        cond = self._condition()
        deadline = time.monotonic() + wait_s
        async with cond:
            while True:
                ep = self._pick(avoid or set())
                if ep is not None:
                    ep.in_flight += 1
                    return ep
                wait = 1.0  # re-check at least every second (an endpoint may go down meanwhile)
                if all(e.down for e in self.endpoints):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise FleetDown(", ".join(e.url for e in self.endpoints))
                    wait = min(left, wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cond.wait(), timeout=wait)

    async def release(self, ep: Endpoint, ok: bool) -> None:
        """Give back the slot taken by :meth:`acquire`; ``ok`` if the request succeeded."""
        async with self._condition():
            ep.in_flight -= 1
            if ok:
                ep.served += 1
                ep.reached = True
                ep.failures = 0
            self._condition().notify(1)  # one freed slot: wake one waiter (any may take any endpoint)

    def mark_down(self, ep: Endpoint, reason: str) -> None:
        """Take ``ep`` out of rotation (one warning) and start probing it in the background."""
        ep.failures += 1
        if ep.down:
            return
        ep.down = True
        ep.down_until = time.monotonic() + ep.cooldown
        up = sum(not e.down for e in self.endpoints)
        log.warning("%s: endpoint %s %s: skipped (%d of %d endpoints left); probing it again in %.0fs",
                    self.name, ep.url, reason, up, len(self.endpoints), ep.cooldown)
        try:
            task = asyncio.get_running_loop().create_task(self._revive(ep))
        except RuntimeError:  # no loop: the next acquire will not pick it until revived by hand
            return
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _revive(self, ep: Endpoint) -> None:
        while ep.down:
            await asyncio.sleep(max(0.0, ep.down_until - time.monotonic()))
            if await self.probe(ep):
                async with self._condition():
                    ep.down = False
                    ep.cooldown = COOLDOWN_S
                    self._condition().notify_all()
                log.warning("%s: endpoint %s answers again: back in rotation", self.name, ep.url)
                return
            ep.cooldown = min(MAX_COOLDOWN_S, ep.cooldown * 2)
            ep.down_until = time.monotonic() + ep.cooldown

    async def aclose(self) -> None:
        """Stop the background probes and close every client."""
        for task in list(self._probes):
            task.cancel()
        for ep in self.endpoints:
            with contextlib.suppress(Exception):
                await ep.client.close()
