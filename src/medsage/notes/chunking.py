"""Token estimates and splitting a transcript into sections that fit a small context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from medsage.notes.transcript import Transcript, Turn, role_label

_CJK_RE = re.compile(r"[\u3400-\u9fff]")


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for small-vocabulary models (no tokenizer needed).

    English: ~1.4 tokens per word; Chinese: ~1.5 tokens per character (byte-level
    BPE vocabularies such as SmolLM2's split most CJK characters).
    """
    cjk = len(_CJK_RE.findall(text))
    words = len(re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9\u3400-\u9fff]", text))
    return int(words * 1.4 + cjk * 1.5) + 1


@dataclass(frozen=True)
class Chunk:
    """Consecutive turns rendered for a prompt."""

    index: int
    turns: tuple[Turn, ...]
    text: str

    @property
    def turn_ids(self) -> list[str]:
        """The ids of the turns in this chunk, in order."""
        return [t.id for t in self.turns]


def render_turn(turn: Turn, lang: str) -> str:
    """``turn`` as one prompt line, ``<role label>: <text>`` in ``lang``."""
    return f"{role_label(turn.role, lang, turn.speaker)}: {turn.text}"


def chunk_transcript(transcript: Transcript, budget: int = 900) -> list[Chunk]:
    """Group consecutive turns into chunks of at most ``budget`` estimated tokens.

    A single turn longer than the budget is cut into pieces at sentence or
    character boundaries so that no chunk overflows.
    """
    chunks: list[Chunk] = []
    cur: list[Turn] = []
    cur_tokens = 0

    def flush() -> None:
        nonlocal cur, cur_tokens
        if cur:
            text = "\n".join(render_turn(t, transcript.lang) for t in cur)
            chunks.append(Chunk(len(chunks), tuple(cur), text))
        cur, cur_tokens = [], 0

    for turn in transcript.turns:
        for piece in _pieces(turn, budget):
            n = estimate_tokens(render_turn(piece, transcript.lang))
            if cur and cur_tokens + n > budget:
                flush()
            cur.append(piece)
            cur_tokens += n
    flush()
    return chunks


def _pieces(turn: Turn, budget: int) -> list[Turn]:
    if estimate_tokens(turn.text) <= budget:
        return [turn]
    parts = re.split(r"(?<=[.!?。！？])\s*", turn.text)
    out: list[str] = []
    buf = ""
    for part in parts:
        while estimate_tokens(part) > budget:  # no sentence breaks: cut by length
            cut = max(1, len(part) * budget // (2 * estimate_tokens(part)))
            if buf:
                out.append(buf)
                buf = ""
            out.append(part[:cut])
            part = part[cut:]
        if buf and estimate_tokens(buf + " " + part) > budget:
            out.append(buf)
            buf = part
        else:
            buf = f"{buf} {part}".strip()
    if buf:
        out.append(buf)
    return [Turn(turn.id, turn.role, p, turn.speaker, turn.start, turn.end) for p in out if p.strip()]
