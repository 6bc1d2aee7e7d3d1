"""One bounded call of a model acting as an agent (consultation specialists, simulated patients).

A timeout, an empty or failed reply and a degenerate loop are flagged on the reply instead of
raised, so a multi-agent run records what each agent did and carries on.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from medsage.models.base import Model
from medsage.types import GenerateConfig, Message, Usage


def looping(text: str) -> int | None:
    """Where a degenerate repetition starts in ``text`` (an agent stuck in a loop), else None.

    Flags a chunk of ≥12 characters repeated ≥4 times back to back, or the same
    line ≥4 times. Returns the offset at which to cut the text.
    """
    m = re.search(r"(.{12,200}?)\1{3,}", text, re.DOTALL)
    if m:
        return m.start() + len(m.group(1))
    seen: dict[str, int] = {}
    pos = 0
    for line in text.splitlines(keepends=True):
        key = line.strip()
        if key:
            seen[key] = seen.get(key, 0) + 1
            if seen[key] >= 4:
                return pos
        pos += len(line)
    return None


@dataclass
class AgentReply:
    """One agent call's outcome, ready for the trace."""

    agent: str
    role: str
    round: int
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def trace(self, **extra: Any) -> dict[str, Any]:
        """A trace entry for this reply."""
        entry: dict[str, Any] = {
            "round": self.round, "agent": self.agent, "role": self.role, "content": self.text,
            "usage": asdict(self.usage), "latency_s": round(self.latency_s, 3),
        }
        if self.error:
            entry["error"] = self.error
        if self.notes:
            entry["notes"] = list(self.notes)
        entry.update(extra)
        return entry


async def call_agent(model: Model, agent: str, role: str, rnd: int, messages: list[Message],
                     config: GenerateConfig, timeout_s: float) -> AgentReply:
    """Call ``model`` once, bounded by ``timeout_s``; empty, failed and looping replies are flagged."""
    reply = AgentReply(agent, role, rnd)
    start = time.perf_counter()
    try:
        out = await asyncio.wait_for(model.generate(messages, config), timeout=timeout_s)
    except TimeoutError:
        reply.error = f"no reply within {timeout_s:g} s"
        reply.latency_s = time.perf_counter() - start
        return reply
    reply.latency_s = time.perf_counter() - start
    reply.usage = out.usage
    if out.error:
        reply.error = out.error
        return reply
    text = (out.text or "").strip()
    cut = looping(text)
    if cut is not None:
        reply.notes.append(f"loop detected: reply cut at character {cut} of {len(text)}")
        text = text[:cut].strip()
    if not text:
        reply.error = "empty reply"
    reply.text = text
    return reply
