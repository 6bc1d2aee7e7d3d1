"""Drafting note sections with a model: map over transcript chunks, reduce per section.

Map: each chunk (sized for a small context) becomes a bullet list of facts.
Reduce: for each template section, the facts most relevant to it (by the
section's keywords, within the context budget) are turned into 1–4 sentences.
The number of model calls is bounded (``max_calls``); what had to be skipped
is reported in the warnings, never dropped silently.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from medsage.models.base import Model
from medsage.notes import prompts
from medsage.notes.chunking import chunk_transcript, estimate_tokens
from medsage.notes.extractive import extract_sections
from medsage.notes.templates import Section, Template
from medsage.notes.text import tokens
from medsage.notes.transcript import Transcript
from medsage.progress import StageCallback
from medsage.types import GenerateConfig, Message, Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftConfig:
    """Knobs of the drafting step.

    Attributes:
        strategy: ``mapreduce`` (model) or ``extractive`` (no model, turns selected per section).
        chunk_tokens: Estimated tokens of transcript per map call.
        facts_tokens: Estimated tokens of facts per section call.
        map_tokens: Generation budget per map call.
        section_tokens: Generation budget per section call.
        max_calls: Upper bound on model calls per note.
    """

    strategy: str = "mapreduce"
    chunk_tokens: int = 900
    facts_tokens: int = 700
    map_tokens: int = 200
    section_tokens: int = 160
    max_calls: int = 48


@dataclass
class Draft:
    """Section texts plus what happened while drafting."""

    sections: dict[str, str]
    facts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0

    def stats(self) -> dict[str, Any]:
        """Model calls, tokens, drafting time and number of facts, for the note's ``stats``."""
        return {"model_calls": self.calls, "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens, "draft_seconds": round(self.seconds, 3),
                "facts": len(self.facts)}


async def draft_note(transcript: Transcript, template: Template, model: Model | None,
                     cfg: DraftConfig | None = None, progress: StageCallback | None = None) -> Draft:
    """Draft every template section for ``transcript``.

    ``progress`` gets ``("draft", calls done, calls planned)`` (``total`` 1 for the extractive draft).
    """
    cfg = cfg or DraftConfig()
    start = time.perf_counter()
    report = progress or _no_progress
    if cfg.strategy == "extractive" or model is None:
        report("draft", 0, 1)
        draft = Draft(sections=extract_sections(transcript, template))
        draft.seconds = time.perf_counter() - start
        report("draft", 1, 1)
        return draft
    lang = transcript.lang
    chunks = chunk_transcript(transcript, cfg.chunk_tokens)
    draft = Draft(sections={})
    room = max(1, cfg.max_calls - len(template.sections))
    if len(chunks) > room:
        covered = chunks[room - 1].turns[-1].id
        draft.warnings.append(
            f"transcript too long for the call budget: only the first {room} of {len(chunks)} sections "
            f"(up to turn {covered}) were summarised; raise max_calls to cover the rest")
        chunks = chunks[:room]
    planned = len(chunks) + len(template.sections)
    report("draft", 0, planned)
    for chunk in chunks:
        text = await _call(model, prompts.map_prompt(chunk.text, lang), lang, cfg.map_tokens, draft)
        report("draft", draft.calls, planned)
        draft.facts.extend(parse_facts(text))
    if not draft.facts:
        draft.warnings.append("the model extracted no facts from the transcript")
    for section in template.sections:
        facts = select_facts(draft.facts, section, cfg.facts_tokens)
        if len(facts) < len(draft.facts) and estimate_tokens(" ".join(draft.facts)) > cfg.facts_tokens:
            log.debug("section %s: %d of %d facts fit", section.id, len(facts), len(draft.facts))
        text = await _call(model, prompts.section_prompt(section, facts, lang), lang, cfg.section_tokens, draft)
        report("draft", draft.calls, planned)
        draft.sections[section.id] = clean_section(text, section, lang)
    draft.seconds = time.perf_counter() - start
    return draft


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


async def _call(model: Model, prompt: str, lang: str, max_tokens: int, draft: Draft) -> str:
    messages = [Message("system", prompts.SYSTEM["zh" if lang == "zh" else "en"]), Message("user", prompt)]
    out = await model.generate(messages, GenerateConfig(max_tokens=max_tokens, temperature=0.0))
    draft.calls += 1
    draft.usage = draft.usage + out.usage
    if out.error:
        draft.warnings.append(f"model call {draft.calls} failed: {out.error}")
        return ""
    return out.text


_FACT_PREFIX = re.compile(r"^\s*(?:[-*•·]|\d+[.)、])\s*")


def parse_facts(text: str) -> list[str]:
    """Bullet lines of a map answer (deduplicated, prompt echoes dropped)."""
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        fact = _FACT_PREFIX.sub("", line).strip()
        key = fact.lower()
        if len(fact) < 4 or key in seen or key.startswith(("conversation excerpt", "list the medical")):
            continue
        seen.add(key)
        out.append(fact)
    return out


def select_facts(facts: list[str], section: Section, budget: int) -> list[str]:
    """The facts most relevant to ``section`` that fit ``budget`` tokens, in original order."""
    if estimate_tokens(" ".join(facts)) <= budget:
        return list(facts)
    keys = set(section.keywords) | set(tokens(section.title, stop=True))

    def rel(f: str) -> float:
        low = f.lower()
        return sum(1.0 for k in keys if k and k in low)

    ranked = sorted(range(len(facts)), key=lambda i: (-rel(facts[i]), i))
    keep: list[int] = []
    used = 0
    for i in ranked:
        n = estimate_tokens(facts[i])
        if used + n > budget:
            continue
        keep.append(i)
        used += n
    return [facts[i] for i in sorted(keep)]


def clean_section(text: str, section: Section, lang: str) -> str:
    """Strip an echoed heading and 'Not documented' answers from a section draft."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    names = {n.lower().strip(" :：") for n in section.names()}
    while lines and lines[0].lower().strip("#*: ：") in names:
        lines = lines[1:]
    body = "\n".join(lines).strip()
    for prefix in (f"{section.title}:", f"{section.title}：", f"{section.title.upper()}:"):
        if body.lower().startswith(prefix.lower()):
            body = body[len(prefix):].strip()
    low = body.lower()
    if not body or any(low.startswith(e) for e in prompts.EMPTY["zh" if lang == "zh" else "en"]):
        return ""
    return dedupe_sentences(body, section)


_META = re.compile(r"^(here is|here's|here are|sure|below is|以下是|好的)|\bsection\b|clinic note|病历的", re.I)


def dedupe_sentences(body: str, section: Section) -> str:
    """Drop repeated sentences (small models loop) and meta talk about the note itself."""
    from medsage.notes.text import split_sentences

    seen: set[str] = set()
    keep = []
    for sent in split_sentences(body):
        key = re.sub(r"\W+", " ", sent.lower()).strip()
        if not key or key in seen or _META.search(sent) or section.title.lower() in sent.lower():
            continue
        seen.add(key)
        keep.append(sent)
    return "\n".join(keep)
