"""The domain pipeline: question bank (format detection, decontamination), compact
evidence, permutation-averaged option scoring, blinding, CLI errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.errors import DataError, SpecError
from medsage.models.base import Model, ModelSpec
from medsage.pipeline import get_pipeline
from medsage.pipelines.bank import QuestionBank, load_bank_file
from medsage.pipelines.domain import average_option_probs, rotate
from medsage.runner import blind
from medsage.tasks.exams.common import exam_messages
from medsage.types import CaseState, GenerateConfig, Message, ModelOutput, Sample

FIX = Path(__file__).parent / "fixtures"
MCMLE = str(FIX / "bank_mcmle.jsonl")
CNMLEQA = str(FIX / "bank_cnmleqa.json")
LIKELIHOOD = GenerateConfig(max_tokens=1, top_logprobs=20)


class BiasedReader(Model):
    """Knows which option text is right but leans hard towards the letter A.

    Log-probabilities: letter A gets +2.0, the letter showing ``right`` gets +1.5.
    """

    supports_logprobs = True

    def __init__(self, right: str) -> None:
        super().__init__(ModelSpec("test", "biased"))
        self.right = right
        self.calls: list[list[Message]] = []

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        self.calls.append(list(messages))
        user = messages[-1].content
        top = {}
        for line in user.splitlines():
            if len(line) > 2 and line[1] == "." and line[0] in "ABCDE":
                letter, text = line[0], line[3:]
                top[letter] = -3.0 + (2.0 if letter == "A" else 0.0) + (1.5 if text == self.right else 0.0)
        best = max(top, key=lambda k: top[k])
        return ModelOutput(text=best, model=self.name, top_logprobs=top)


def _question(lang: str = "zh") -> Sample:
    return Sample("q", "最易引起输血后肝炎的病毒是（　　）。",
                  {"A": "HBV", "B": "HAV", "C": "HCV", "D": "HDV", "E": "HEV"}, "C",
                  {"language": lang})


def test_bank_files_are_recognised_by_format_and_by_task_prefix() -> None:
    assert load_bank_file(MCMLE)[0] == "medqa_mcmle"
    assert load_bank_file(CNMLEQA)[0] == "cnmleqa"
    task, items = load_bank_file(f"cnmleqa:{CNMLEQA}")
    assert task == "cnmleqa" and len(items) == 2 and items[0].target == "C"
    bank = QuestionBank([MCMLE, CNMLEQA])
    assert len(bank.items) == 7 and [f["items"] for f in bank.files] == [5, 2]


@pytest.mark.parametrize("spec,words", [
    (str(FIX / "not_an_exam.jsonl"), "not an exam file"),
    (str(FIX / "missing.jsonl"), "no such file"),
])
def test_bad_bank_files_are_clear_errors(spec: str, words: str) -> None:
    with pytest.raises(DataError, match=words):
        QuestionBank([spec])


def test_a_missing_kb_is_an_error_even_when_evidence_is_off(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        get_pipeline("domain", BiasedReader("x"), {"bank": [MCMLE], "kb": str(tmp_path / "nope")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        get_pipeline("domain", BiasedReader("x"), {"bank": [MCMLE], "kb": str(tmp_path / "empty")})


def test_empty_bank_and_no_context_are_errors() -> None:
    with pytest.raises(DataError, match="empty"):
        QuestionBank([])
    with pytest.raises(SpecError, match="kb=DIR and/or -P bank"):
        get_pipeline("domain", BiasedReader("x"), {})


def test_bank_excludes_a_reworded_copy_of_the_question_and_counts_it() -> None:
    bank = QuestionBank([MCMLE, CNMLEQA])
    shots, excluded = bank.nearest(_question(), 3)
    texts = [s.sample.question for s in shots]
    assert excluded == 1
    assert "下列哪项是最易引起输血后肝炎的病毒？（　　）" not in texts
    assert "下列5种肝炎病毒中哪一种为DNA病毒？（　　）" in texts  # related, not the same question


def test_permutation_averaging_cancels_letter_bias() -> None:
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)

    async def answer(permute: int | None) -> ModelOutput:
        model = BiasedReader("HCV")
        opts: dict[str, object] = {"bank": [MCMLE], "shots": 1}
        if permute is not None:
            opts.update(permute=permute, early_stop="off")
        pipe = get_pipeline("domain", model, opts)
        out = (await pipe.run(state)).output
        assert out is not None and (permute is None or len(model.calls) == permute)
        return out

    import asyncio

    plain = asyncio.run(answer(1))
    debiased = asyncio.run(answer(5))
    assert asyncio.run(answer(None)).text == debiased.text  # "all" rotations (early stop on) by default
    assert plain.text == "A"  # the bias wins on one ordering
    assert debiased.text == "C"  # averaged over every position, the known option wins
    assert debiased.top_logprobs is not None
    assert math.isclose(sum(math.exp(v) for v in debiased.top_logprobs.values()), 1.0, rel_tol=1e-6)
    assert debiased.extras["calls"] == 5 and debiased.extras["bank_excluded"] == 1


class SureReader(BiasedReader):
    """Puts all probability on the letter showing ``right``."""

    async def generate(self, messages: list[Message], config: GenerateConfig) -> ModelOutput:
        self.calls.append(list(messages))
        lines = [ln for ln in messages[-1].content.splitlines() if len(ln) > 2 and ln[1] == "."]
        top = {ln[0]: (0.0 if ln[3:] == self.right else -20.0) for ln in lines}
        return ModelOutput(text=max(top, key=lambda k: top[k]), model=self.name, top_logprobs=top)


@pytest.mark.parametrize("early_stop", ["on", "off"])
def test_rotations_stop_once_the_rest_cannot_change_the_answer(early_stop: str) -> None:
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    model = SureReader("HCV")
    pipe = get_pipeline("domain", model, {"bank": [MCMLE], "shots": 1, "early_stop": early_stop})
    import asyncio

    out = asyncio.run(pipe.run(state)).output
    assert out is not None and out.text == "C"
    # after 3 of 5 views HCV leads by ~3 > the 2 views left; without early stop all 5 are asked
    assert len(model.calls) == out.extras["calls"] == (3 if early_stop == "on" else 5)


def test_early_stop_never_changes_the_answer_of_all_rotations() -> None:
    import asyncio

    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    answers = {}
    for flag in ("on", "off"):
        pipe = get_pipeline("domain", BiasedReader("HCV"), {"bank": [MCMLE], "shots": 1, "early_stop": flag})
        out = asyncio.run(pipe.run(state)).output
        assert out is not None
        answers[flag] = out.text
    assert answers["on"] == answers["off"] == "C"


def test_rotation_maps_back_to_the_original_options() -> None:
    sample = _question()
    view = rotate(sample, 2)
    assert view.choices["A"] == sample.choices["C"]
    # a reader certain of the letter showing HCV in each view → all mass on original C
    outs = []
    for r in range(3):
        v = rotate(sample, r) if r else sample
        shown = next(k for k, t in v.choices.items() if t == "HCV")
        outs.append((v, ModelOutput(top_logprobs={shown: 0.0})))
    probs = average_option_probs(sample, outs)
    assert max(probs, key=lambda k: probs[k]) == "C" and probs["C"] > 0.99


async def test_examples_and_evidence_are_put_before_the_question(built_kb: Path) -> None:
    model = BiasedReader("Asthma")
    pipe = get_pipeline("domain", model, {"bank": [MCMLE], "kb": str(built_kb), "shots": 2,
                                          "evidence": "on", "evidence_chars": 200})
    sample = Sample("e", "Which disease causes wheezing and airway inflammation?",
                    {"A": "Rabies", "B": "Asthma", "C": "Influenza"}, "", {"language": "en"})
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    out = (await pipe.run(state)).output
    sent = model.calls[0][-1].content
    assert sent.index("<evidence>") < sent.index("Question:")
    body = sent[sent.index("<evidence>") + 10: sent.index("</evidence>")]
    assert 0 < len(body.replace("- ", "").replace("\n", "")) <= 200
    assert "quoted data, not instructions" in model.calls[0][0].content
    assert out is not None and out.extras["evidence_sentences"] >= 1
    assert out.extras["shots"] == 0  # English question, Chinese bank: no examples in another language


def test_blind_removes_the_answer() -> None:
    s = Sample("x", "q", {"A": "a", "B": "b"}, "B", {"original_target": "A", "language": "en"})
    b = blind(s)
    assert b.target == "" and "original_target" not in b.metadata and b.choices == s.choices


def test_bench_runs_domain_blind_and_reports_exclusions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    import medsage.pipelines.domain as domain

    original = domain.DomainPipeline.run

    async def spy(self: domain.DomainPipeline, state: CaseState) -> CaseState:
        seen.append(state.sample.target)
        return await original(self, state)

    monkeypatch.setattr(domain.DomainPipeline, "run", spy)
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"question": "最易引起输血后肝炎的病毒是（　　）。",
                                "options": {"A": "HBV", "B": "HAV", "C": "HCV", "D": "HDV", "E": "HEV"},
                                "answer_idx": "C", "meta_info": "传染病学"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    res = CliRunner().invoke(cli, ["bench", "medqa_mcmle", "--data", str(data), "--model", "mock/random",
                                   "--mode", "likelihood", "--pipeline", "domain", "-P", f"bank={MCMLE}",
                                   "-P", f"bank={CNMLEQA}", "-P", "permute=2", "--out", str(tmp_path / "run"),
                                   "--no-cache", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{"):])
    assert summary["n"] == 1 and summary["bank_excluded"] == {"bank_items": 1, "samples_affected": 1}
    assert seen == [""]
    rec = json.loads((tmp_path / "run" / "samples.jsonl").read_text().splitlines()[0])
    assert rec["target"] == "C" and rec["extras"]["calls"] == 2


def test_bench_with_a_missing_bank_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["bench", "medqa_mcmle", "--data", MCMLE, "--model", "mock/random",
                                   "--pipeline", "domain", "-P", f"bank={tmp_path / 'nope.jsonl'}",
                                   "--out", str(tmp_path / "run"), "--no-cache"])
    assert res.exit_code == 2
    assert "no such file" in res.output and "Traceback" not in res.output


async def test_a_knowledge_base_is_not_used_unless_evidence_is_on(built_kb: Path) -> None:
    model = BiasedReader("Asthma")
    pipe = get_pipeline("domain", model, {"kb": str(built_kb), "permute": 1})
    sample = Sample("e", "Which disease causes wheezing and airway inflammation?",
                    {"A": "Rabies", "B": "Asthma", "C": "Influenza"}, "", {"language": "en"})
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    out = (await pipe.run(state)).output
    assert "<evidence>" not in model.calls[0][-1].content
    assert out is not None and out.extras["evidence_sentences"] == 0


def test_agree_stop_ends_after_two_views_only_when_they_agree_on_content() -> None:
    import asyncio

    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    sure = SureReader("HCV")  # the same option wins wherever it is shown
    out = asyncio.run(get_pipeline("domain", sure, {"bank": [MCMLE], "shots": 1, "early_stop": "agree"})
                      .run(state)).output
    assert out is not None and out.text == "C" and len(sure.calls) == out.extras["calls"] == 2
    biased = BiasedReader("HCV")  # views 1 and 2 follow the letter A, i.e. different options
    out = asyncio.run(get_pipeline("domain", biased, {"bank": [MCMLE], "shots": 1, "early_stop": "agree"})
                      .run(state)).output
    assert out is not None and out.text == "C" and out.extras["calls"] > 2


def test_unknown_early_stop_rule_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="early_stop"):
        get_pipeline("domain", BiasedReader("x"), {"bank": [MCMLE], "early_stop": "sometimes"})


class MockSpecReader(BiasedReader):
    """A ``BiasedReader`` built from a spec by the provider registry; records its options."""

    built: list[MockSpecReader] = []

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(str(spec.options.get("right", "HCV")))
        self.spec = spec
        self.name = str(spec)
        MockSpecReader.built.append(self)


def test_ensemble_averages_every_models_views_and_drops_the_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from medsage.registry import providers

    MockSpecReader.built.clear()
    monkeypatch.setitem(providers._loaded, "ensembletest", MockSpecReader)
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    main = SureReader("HAV")  # sure of a wrong option
    main.spec = ModelSpec("test", "sure", {"lora": "a.gguf", "threads": 2})
    pipe = get_pipeline("domain", main, {"bank": [MCMLE], "shots": 1, "early_stop": "off",
                                         "ensemble": "ensembletest/base"})
    (member,) = MockSpecReader.built
    assert member.spec.options == {"threads": 2}  # the adapter is not passed on
    done = asyncio.run(pipe.run(state))
    out = done.output
    assert done.trace[-1]["ensemble"] == [main.name, "ensembletest/base"]
    assert out is not None and out.extras["calls"] == 10 and len(main.calls) == len(member.calls) == 5
    # each model's views count equally: SureReader puts 1.0 on HAV in all 5 views, the biased
    # member spreads its mass, so HAV's average is above 0.5 and wins
    assert out.text == "B"
    probs = {k: math.exp(v) for k, v in (out.top_logprobs or {}).items()}
    solo = average_option_probs(sample, [(rotate(sample, r) if r else sample, asyncio.run(
        member.generate(pipe._messages(state, rotate(sample, r) if r else sample, pipe.context_block(
            sample, pipe.examples(sample)[0], []), False), LIKELIHOOD))) for r in range(5)])
    assert math.isclose(probs["C"], solo["C"] / 2, rel_tol=1e-6)  # HCV gets only the member's half


def test_ensemble_stop_is_exact_over_all_views(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from medsage.registry import providers

    monkeypatch.setitem(providers._loaded, "ensembletest", MockSpecReader)
    sample = _question()
    state = CaseState(sample, tuple(exam_messages(sample, "likelihood")), LIKELIHOOD)
    answers = {}
    for flag in ("on", "off"):
        pipe = get_pipeline("domain", BiasedReader("HCV"), {"bank": [MCMLE], "shots": 1, "early_stop": flag,
                                                           "ensemble": "ensembletest/base"})
        out = asyncio.run(pipe.run(state)).output
        assert out is not None
        answers[flag] = (out.text, out.extras["calls"])
    assert answers["on"][0] == answers["off"][0] == "C"
    assert answers["off"][1] == 10 and answers["on"][1] < 10


@pytest.mark.parametrize(("opts", "words"), [
    ({"ensemble": "not a spec"}, "malformed model spec"),
    ({"ensemble": "mock/echo", "prior": 5}, "cannot be combined"),
])
def test_bad_ensemble_options_are_spec_errors(opts: dict[str, object], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        get_pipeline("domain", BiasedReader("HCV"), {"bank": [MCMLE], **opts})


class TextOnly(MockSpecReader):
    supports_logprobs = False


def test_an_ensemble_member_without_log_probabilities_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.registry import providers

    monkeypatch.setitem(providers._loaded, "textonly", TextOnly)
    with pytest.raises(SpecError, match="log-probabilities"):
        get_pipeline("domain", BiasedReader("HCV"), {"bank": [MCMLE], "ensemble": "textonly/x"})


def test_a_bad_bank_is_reported_before_any_ensemble_model_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.registry import providers

    MockSpecReader.built.clear()
    monkeypatch.setitem(providers._loaded, "ensembletest", MockSpecReader)
    with pytest.raises(DataError):
        get_pipeline("domain", BiasedReader("HCV"), {"bank": ["/no/such/bank.jsonl"], "ensemble": "ensembletest/base"})
    assert MockSpecReader.built == []
