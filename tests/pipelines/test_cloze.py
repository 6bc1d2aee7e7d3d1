"""Option-text ("cloze") scoring in ``domain``: piece matching, length normalisation, prompts, errors."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from medsage.errors import SpecError
from medsage.models.base import Model, ModelSpec
from medsage.pipeline import get_pipeline
from medsage.pipelines.cloze import TextScore, next_piece, option_logprobs, score_text
from medsage.tasks.exams.common import exam_messages
from medsage.types import CaseState, GenerateConfig, Message, ModelOutput, Sample

FIX = Path(__file__).parent / "fixtures"
MCMLE = str(FIX / "bank_mcmle.jsonl")
LIKELIHOOD = GenerateConfig(max_tokens=1, top_logprobs=20)


class Continuer(Model):
    """A prefill-capable model that expects the answer ``right`` after "答案:".

    Its next-token alternatives after the prefilled answer: the next two characters of
    ``right`` (-0.1) and its next character (-0.5) while the answer so far is a prefix of
    ``right``; otherwise four unrelated characters at -2.0 … -5.0.
    """

    supports_logprobs = True
    supports_prefill = True

    def __init__(self, right: str) -> None:
        super().__init__(ModelSpec("test", "continuer"))
        self.right = " " + right
        self.calls: list[list[Message]] = []

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        self.calls.append(list(messages))
        assert messages[-1].role == "assistant" and messages[-1].content.startswith("答案:")
        done = messages[-1].content[len("答案:"):]
        if self.right.startswith(done) and len(done) < len(self.right):
            rest = self.right[len(done):]
            top = {rest[:2]: -0.1, rest[0]: -0.5} if len(rest) > 1 else {rest: -0.1}
        else:
            top = {"甲": -2.0, "乙": -3.0, "丙": -4.0, "丁": -5.0}
        return ModelOutput(text=next(iter(top)), model=self.name, top_logprobs=top)


def _question() -> Sample:
    return Sample("q", "最易引起输血后肝炎的病毒是（　　）。",
                  {"A": "甲型肝炎病毒", "B": "丙型肝炎病毒", "C": "戊型肝炎病毒"}, "B", {"language": "zh"})


def test_the_longest_listed_piece_is_taken_and_a_missing_one_is_a_miss() -> None:
    assert next_piece("肺活量", {"肺": -1.0, "肺活": -2.0, "X": -0.1}) == ("肺活", -2.0, False)
    assert next_piece("残气量", {"肺": -1.0, "X": -4.0}) == ("残", -4.0, True)  # charged the lowest listed
    assert next_piece("残", {})[2] is True


def test_a_text_is_scored_piece_by_piece_on_the_prefilled_answer() -> None:
    model = Continuer("丙型肝炎病毒")
    msgs = [Message("user", "题目")]

    async def score(text: str) -> TextScore:
        first = await model.generate([*msgs, Message("assistant", "答案:")], LIKELIHOOD)
        return await score_text(model, msgs, "答案:", " " + text, LIKELIHOOD, first, 24)

    right = asyncio.run(score("丙型肝炎病毒"))
    assert right.misses == 0 and math.isclose(right.logprob, -0.4)  # " 丙", "型肝", "炎病", "毒"
    assert right.nbytes == len("丙型肝炎病毒".encode()) and right.calls == 3
    wrong = asyncio.run(score("甲型肝炎病毒"))
    assert wrong.misses > 0 and wrong.per_byte < right.per_byte
    capped = asyncio.run(_capped(model, msgs))
    assert capped.calls == 1 and capped.nbytes == len("丙型肝".encode())  # two pieces: " 丙", "型肝"


async def _capped(model: Continuer, msgs: list[Message]) -> TextScore:
    first = await model.generate([*msgs, Message("assistant", "答案:")], LIKELIHOOD)
    return await score_text(model, msgs, "答案:", " 丙型肝炎病毒", LIKELIHOOD, first, 2)


def test_length_normalisation_does_not_punish_long_options() -> None:
    short = TextScore(-3.0, 3, 1, 0)
    long = TextScore(-6.0, 12, 4, 0)
    top = option_logprobs({"A": short, "B": long, "C": TextScore(0.0, 0, 0, 0, "boom")})
    assert set(top) == {"A", "B"} and top["B"] > top["A"]
    assert math.isclose(sum(math.exp(v) for v in top.values()), 1.0)


def test_domain_cloze_picks_the_option_text_without_listing_the_options() -> None:
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    model = Continuer("丙型肝炎病毒")
    pipe = get_pipeline("domain", model, {"bank": [MCMLE], "shots": 1, "score": "cloze"})
    out = asyncio.run(pipe.run(state)).output
    assert out is not None and out.text == "B" and out.error is None
    assert out.top_logprobs is not None and max(out.top_logprobs, key=lambda k: out.top_logprobs[k]) == "B"
    user = model.calls[0][-2].content
    assert "A. " not in user and "戊型肝炎病毒" not in user  # options are never listed
    assert "最易引起输血后肝炎的病毒是" in user and "答案:" in user  # the question and the example's answer
    assert out.extras["calls"] == len(model.calls) and out.extras["cloze_misses"] > 0


class NoPrefill(Continuer):
    supports_prefill = False


@pytest.mark.parametrize("model,opts,words", [
    (NoPrefill("x"), {"score": "cloze"}, "cannot continue an assistant message"),
    (Continuer("x"), {"score": "text"}, "use letter or cloze"),
    (Continuer("x"), {"score": "cloze", "prior": 5}, "cannot be combined"),
])
def test_bad_cloze_options_are_spec_errors(model: Model, opts: dict[str, object], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        get_pipeline("domain", model, {"bank": [MCMLE], **opts})


def test_cloze_in_generate_mode_makes_the_usual_single_call() -> None:
    sample = _question()

    class Echo(Continuer):
        async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
            self.calls.append(list(messages))
            return ModelOutput(text="答案：B", model=self.name)

    model = Echo("x")
    state = CaseState(sample, tuple(exam_messages(sample, "generate")), GenerateConfig(max_tokens=8))
    out = asyncio.run(get_pipeline("domain", model, {"bank": [MCMLE], "score": "cloze"}).run(state)).output
    assert out is not None and out.text == "答案：B" and len(model.calls) == 1
