"""Option-text likelihood ("cloze") scoring of exam items, for ``-P score=cloze`` in ``domain``.

Instead of the probability of an option's *letter*, each option's *text* is scored as the
continuation of "答案: " / "Answer: " after the question, the options not listed (the prompt is
``exam_messages(sample, "cloze")``) — the cloze
formulation of Brown et al. ("Language Models are Few-Shot Learners", NeurIPS 2020, §2) and
OLMES (Gu et al., "OLMES: A Standard for Language Model Evaluations", 2024, "CF"), where
smaller models often do better than with lettered options. The log-likelihood is divided by
the option's length in UTF-8 bytes, as lm-evaluation-harness's ``acc_norm`` does, so long
options are not penalised for their length. No letter is shown, so there is no letter bias
to average away and no rotations are asked.

llama.cpp's server returns the top-k log-probabilities of the *next* token only, not of
prompt tokens, so an option is scored token by token: the answer so far is prefilled as
the assistant's message, one token is asked for, and the longest alternative that the
option text continues with is taken (its log-probability added). A text whose next piece
is not among the alternatives is charged the smallest listed log-probability (an upper
bound of its own) and advanced by one character; such pieces are counted as ``misses``.
Every call after the first reuses the slot's KV cache, so a piece costs one cached call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from medsage.models.base import Model
from medsage.types import GenerateConfig, Message, ModelOutput

MISS = -30.0  # charged to a piece when the model returned no alternatives at all


@dataclass(frozen=True)
class TextScore:
    """The log-likelihood of one option's text.

    Attributes:
        logprob: Summed log-probability of the scored pieces.
        nbytes: UTF-8 length of the scored text.
        calls: Model calls made for it (the shared first call not counted).
        misses: Pieces not among the model's alternatives.
        error: The model's error, if a call failed.
    """

    logprob: float
    nbytes: int
    calls: int
    misses: int
    error: str | None = None

    @property
    def per_byte(self) -> float:
        """Log-likelihood per UTF-8 byte (``acc_norm``); -inf for an empty or failed text."""
        return self.logprob / self.nbytes if self.nbytes and self.error is None else -math.inf


def next_piece(rest: str, top: dict[str, float]) -> tuple[str, float, bool]:
    """The piece of ``rest`` the model's alternatives continue it with, its log-prob, and a miss flag."""
    matches = [(tok, lp) for tok, lp in top.items() if tok and rest.startswith(tok)]
    if matches:
        tok, lp = max(matches, key=lambda m: (len(m[0]), m[1]))
        return tok, float(lp), False
    return rest[0], (min(top.values()) if top else MISS), True


async def score_text(model: Model, messages: Sequence[Message], lead: str, text: str, config: GenerateConfig,
                     first: ModelOutput, max_pieces: int) -> TextScore:
    """Score ``text`` as the continuation of the assistant's ``lead`` (``first``: the call on ``lead`` alone).

    At most ``max_pieces`` pieces are scored; the length is that of the part scored.
    """
    done, total, calls, misses = "", 0.0, 0, 0
    out = first
    for n in range(1, max_pieces + 1):
        if out.error:
            return TextScore(total, len(done.encode()), calls, misses, out.error)
        piece, lp, missed = next_piece(text[len(done):], out.top_logprobs or {})
        done += piece
        total += lp
        misses += missed
        if len(done) >= len(text) or n == max_pieces:
            break
        out = await model.generate([*messages, Message("assistant", lead + done)], config)
        calls += 1
    return TextScore(total, len(done.strip().encode()), calls, misses)


def option_logprobs(scores: dict[str, TextScore]) -> dict[str, float]:
    """Log-softmax over options of their per-byte log-likelihoods (a ranking score, not calibrated)."""
    per = {k: s.per_byte for k, s in scores.items()}
    finite = [v for v in per.values() if v > -math.inf]
    if not finite:
        return {}
    peak = max(finite)
    z = math.log(sum(math.exp(v - peak) for v in finite)) + peak
    return {k: v - z for k, v in per.items() if v > -math.inf}
