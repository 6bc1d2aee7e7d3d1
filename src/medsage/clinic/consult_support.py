"""Helpers shared by the consultation, routing and simulated-patient pipelines.

Case-record sanity checks (no findings, contradictions),
a bounded agent call (timeout, empty reply, loop detection, usage accounting),
knowledge-base evidence and the safety review.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from medsage.models.base import Model
from medsage.types import Finding, GenerateConfig, Message, Usage

log = logging.getLogger(__name__)
PROMPT_LANGUAGES = ("en", "zh")
_FEVER = re.compile(r"(\d{2}(?:\.\d)?)\s*(?:°\s*C|℃)", re.IGNORECASE)
_CONTRA_RULES: list[tuple[re.Pattern[str], re.Pattern[str], str]] = [
    (re.compile(r"\b(?:man|male|boy|gentleman)\b", re.I),
     re.compile(r"\b(?:pregnan\w*|menstrua\w*|uterus|ovar\w*)\b", re.I),
     "male patient with female-specific findings"),
    (re.compile(r"(?:^|[，,。\s])男[，,性]|男性|男孩"), re.compile(r"妊娠|怀孕|月经|子宫|卵巢"),
     "男性患者却有女性特有的表现"),
    (re.compile(r"\b(?:afebrile|no fever)\b", re.I), re.compile(r"\b(?:fever|febrile)\b(?<!no fever)", re.I),
     "fever both denied and reported"),
    (re.compile(r"无发热|不发热|体温正常"), re.compile(r"(?<!无)(?<!不)发热|高热"), "发热既被否认又被报告"),
]


def case_caveats(text: str) -> list[str]:
    """Sanity problems of a case record: missing findings and contradictions.

    Returns human-readable notes (empty when the record looks coherent). These
    are passed to the agents and written to the trace; they never stop a run.
    """
    notes: list[str] = []
    if not text.strip():
        return ["the case record is empty"]
    for a, b, msg in _CONTRA_RULES:
        if a.search(text) and b.search(text):
            notes.append(msg)
    temps = [float(t) for t in _FEVER.findall(text)]
    if temps and re.search(r"\b(?:afebrile|no fever)\b|无发热|体温正常", text, re.I) and max(temps) >= 38.0:
        notes.append(f"afebrile/无发热 stated but temperature {max(temps)} °C recorded")
    return notes


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


def kb_evidence(kb_path: str, query: str, k: int) -> tuple[list[dict[str, Any]], str | None]:
    """Retrieve ``k`` evidence chunks from the knowledge base at ``kb_path``.

    Returns (evidence, problem): evidence dicts with n/doc_id/title/url/snippet/source,
    and a note when the knowledge base is unavailable (the consultation goes on without it).
    """
    from medsage.kb import KnowledgeBase

    try:
        hits = KnowledgeBase(kb_path).search(query[:2000], k=k)
    except Exception as exc:  # any KB failure degrades to "no evidence", recorded in the trace
        return [], f"knowledge base unavailable: {exc}"
    evidence = []
    for n, hit in enumerate(hits, 1):
        c = hit.chunk
        evidence.append({"n": n, "doc_id": c.doc_id, "title": c.title, "url": c.url,
                         "snippet": c.text[:300], "source": c.source, "score": float(hit.score)})
    return evidence, None


def safety_review(text: str, context: str, lang: str) -> tuple[list[Finding], bool, dict[str, Any]]:
    """Run ``medsage.safety.check`` on a final plan, failing closed.

    Returns (findings, blocked, trace entry). When the check itself fails, the plan
    is treated as blocked.
    """
    from medsage.safety import check

    try:
        # the case text is not a structured patient context (age/sex/eGFR …): pass none
        report = check(text, context=None, lang=lang if lang in PROMPT_LANGUAGES else "auto")
    except Exception as exc:  # fail closed: an unchecked plan is not passed silently
        finding = Finding(type="safety_error", severity="high", message=f"safety check failed: {exc}",
                          action="block")
        return [finding], True, {"agent": "safety", "role": "safety", "available": True,
                                 "blocked": True, "error": str(exc), "findings": [asdict(finding)]}
    findings = list(getattr(report, "findings", []) or [])
    blocked = bool(getattr(report, "blocked", False))
    to_dict = getattr(report, "to_dict", None)
    detail = to_dict() if callable(to_dict) else {"findings": [asdict(f) for f in findings]}
    return findings, blocked, {"agent": "safety", "role": "safety", "available": True,
                               "blocked": blocked, "report": detail}
