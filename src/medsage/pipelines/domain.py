"""The ``domain`` pipeline: what a domain medical system adds around a general model on exams.

Each part is a ``-P`` switch, measured alone and together in ``benchmarks/lift/``:

* **Solved examples** (``bank=FILE``, repeatable; ``shots``): the most similar solved
  items of a question bank shown before the question as question → answer text
  (nearest-neighbour few-shot, :mod:`medsage.pipelines.bank`). Items that contain the
  question are excluded by the decontamination rule; the count is in each sample's
  extras (``bank_excluded``) and the run summary.
* **Evidence** (``kb=DIR``; ``evidence_chars``, ``evidence_k``): the sentences of the
  top BM25 chunks that share most words with the question and options, capped at
  ``evidence_chars`` characters — a compact passage, not whole chunks.
* **Permutation-averaged option scoring** (``permute=N``): in likelihood mode the
  question is asked with its options cyclically rotated ``N`` times and each option's
  answer-letter probability is averaged over its positions, cancelling the model's
  letter-position bias (Zheng et al., "Large Language Models Are Not Robust Multiple
  Choice Selectors", ICLR 2024, §4 — permutation-based debiasing). The rotated prompts
  share the examples, evidence and stem, so llama.cpp reuses their KV cache. Rotations stop
  early when the remaining ones cannot change the answer (``early_stop=exact``: the leading
  option's summed probability leads the runner-up by more than the number of rotations left,
  each of which adds at most 1 to any option), so the answer is exactly that of all rotations.
  ``early_stop=agree`` also stops after two or more views that all rank the same original
  option first although it was shown at different letters — the answer is then taken to be
  about content, not position (the stopping idea of Adaptive-Consistency, Aggarwal et al.,
  EMNLP 2023, "Let's Sample Step by Step": stop drawing once the votes agree). It can
  differ from all rotations; it was chosen on development items only (benchmarks/lift/README.md).
* **Letter prior** (``prior=K``): PriDe (Zheng et al., ICLR 2024, §5) — the model's prior over
  the answer letters is estimated once on ``K`` bank items asked in every rotation
  (:mod:`medsage.pipelines.prior`), and every view's letter probabilities are divided by it,
  so fewer rotations (``permute``) are needed per item.
* **Model ensemble** (``ensemble=SPEC[,SPEC]``): every rotation is also asked of each SPEC model
  (given the pipeline model's ``-M`` options minus its adapter) and the option probabilities
  are averaged over all views, each model weighing equally — e.g. a LoRA-adapted model with
  the model it was trained from, the output-space ensemble of WiSE-FT (Wortsman et al.,
  "Robust fine-tuning of zero-shot models", CVPR 2022). Likelihood mode only.
* **Option-text scoring** (``score=cloze``; ``cloze_pieces``): in likelihood mode each option's
  text is scored as the continuation of "答案:" after the question, the options not listed,
  by length-normalised log-likelihood (:mod:`medsage.pipelines.cloze`) — no letters, so no
  rotations. Needs a model that continues a prefilled assistant message (``local/``).

In ``--mode likelihood`` the pipeline returns the averaged letter log-probabilities as
``top_logprobs`` (scored like a bare model's); in generate/cot it makes one call with
the examples and evidence. The pipeline never sees the target: the runner blinds it.
Calls for one item are made back to back on the model (``slots``, default the model's
parallel slots) so shared prefixes stay in the slot's KV cache, and every call goes
through the response cache, so a killed run resumes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from medsage.cache import CachedModel
from medsage.errors import DataError, SpecError
from medsage.kb.search import KnowledgeBase, clean_query
from medsage.kb.text import tokenize
from medsage.models.base import Model, get_model, option, parse_spec
from medsage.pipeline import Pipeline
from medsage.pipelines.bank import QuestionBank, Shot
from medsage.pipelines.citations import split_sentences
from medsage.pipelines.cloze import TextScore, option_logprobs, score_text
from medsage.pipelines.evidence import RULES, defuse
from medsage.pipelines.prior import debias, estimate, prior_items
from medsage.safety.carry import carry
from medsage.tasks.exams.common import LETTERS, PROMPTS, exam_messages
from medsage.types import CaseState, Message, ModelOutput, Sample, Usage

log = logging.getLogger(__name__)

LABELS = {
    "zh": {"evidence": "参考资料（节选自教材）：", "examples": "题库中相似的已解答例题：", "example": "例",
           "answer": "答案"},
    "en": {"evidence": "Reference material (textbook excerpts):",
           "examples": "Solved questions from a question bank that resemble this one:",
           "example": "Example", "answer": "Answer"},
}
ADAPTER_OPTIONS = ("lora", "lora_scale", "adapter")  # not passed on to ensemble members
FLOOR = -30.0  # log-probability given to a letter missing from the top-k alternatives
# The default combination, chosen on MedQA-MCMLE dev items only (benchmarks/lift/README.md).
DEFAULTS: dict[str, Any] = {"shots": 3, "permute": "all", "evidence": False, "early_stop": "exact", "prior": 0,
                            "score": "letter"}


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _list(value: Any) -> list[str]:
    if value in (None, "", False):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


class DomainPipeline(Pipeline):
    """Solved examples, compact evidence and debiased option scoring around a model.

    Args:
        model: The base model.
        options: ``bank`` (file or list), ``shots`` (3), ``shot_chars`` (160: longer example
            stems are cut in the middle), ``kb`` (folder), ``evidence_k`` (3),
            ``evidence_chars`` (240), ``permute`` (rotations in likelihood mode, 1 = off),
            ``early_stop`` (``exact`` or ``on``: skip rotations that cannot change the answer;
            ``agree``: also stop once two or more views agree; ``off``), ``prior`` (bank
            items the letter prior is estimated on, 0 = off),
            ``ensemble`` (other model specs whose views are averaged in, likelihood mode),
            ``slots`` (items answered at once).

    Raises:
        SpecError: neither a bank nor a knowledge base, or a bad option value.
        DataError: an empty, missing or unreadable bank or knowledge base.
    """

    pipeline_name = "domain"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        banks = _list(self.options.get("bank"))
        kb = option(self.options, "kb", "MEDSAGE_KB")
        if not banks and not kb:
            raise SpecError("the domain pipeline needs -P kb=DIR and/or -P bank=FILE")
        self.shots = self._int("shots", DEFAULTS["shots"])
        self.evidence_k = self._int("evidence_k", 3)
        self.evidence_chars = self._int("evidence_chars", 240)
        permute = self.options.get("permute", DEFAULTS["permute"])
        self.permute = len(LETTERS) if str(permute) == "all" else self._int("permute", permute)
        self.use_evidence = _flag(self.options.get("evidence", DEFAULTS["evidence"]))
        self.shot_chars = self._int("shot_chars", 160)
        self.early_stop = _stop_rule(self.options.get("early_stop", DEFAULTS["early_stop"]))
        self.prior_k = self._int("prior", DEFAULTS["prior"])
        self.score = str(self.options.get("score", DEFAULTS["score"])).strip().lower()
        self.cloze_pieces = self._int("cloze_pieces", 24)
        if self.score not in ("letter", "cloze"):
            raise SpecError(f"domain option score={self.score!r}: use letter or cloze")
        if self.score == "cloze" and not model.supports_prefill:
            raise SpecError(f"domain option score=cloze scores option texts after a prefilled answer; "
                            f"{model.name} cannot continue an assistant message (use a local/ model)")
        if not (0 <= self.shots <= 10 and 1 <= self.evidence_k <= 20 and 0 <= self.evidence_chars <= 4000
                and 1 <= self.permute <= len(LETTERS) and 0 <= self.prior_k <= 200):
            raise SpecError("domain options: shots 0-10, evidence_k 1-20, evidence_chars 0-4000, permute 1-10, "
                            "prior 0-200")
        if self.prior_k and not banks:
            raise SpecError("the domain option prior=K estimates the letter prior on bank items: give -P bank=FILE")
        ensemble = _list(self.options.get("ensemble"))
        if self.score == "cloze" and (ensemble or self.prior_k):
            raise SpecError("the domain option score=cloze cannot be combined with ensemble or prior")
        if ensemble and self.prior_k:
            raise SpecError("the domain options ensemble and prior cannot be combined: the prior is the "
                            "pipeline model's alone")
        self.bank = QuestionBank(banks) if banks and (self.shots or self.prior_k) else None
        self.kb = KnowledgeBase(str(kb)) if kb and self.evidence_chars and self.use_evidence else None
        if kb and self.kb is None:
            where = Path(str(kb)).expanduser()
            if not where.exists():
                raise DataError(f"knowledge base {kb}: no such folder or file")
            if where.is_dir() and not any(where.iterdir()):
                raise DataError(f"knowledge base {kb}: the folder is empty")
        self.members = [self._member(spec) for spec in ensemble]  # loaded once the data is known good
        if kb and self.kb is None:
            log.warning("domain: knowledge base %s given but evidence is off (the default chosen on the "
                        "development set, where it did not lift); -P evidence=on uses it", kb)
        inner = getattr(model, "model", model)
        self._slots = asyncio.Semaphore(self._int("slots", getattr(inner, "parallel", 1)))
        self._priors: dict[tuple[str, int], tuple[list[float] | None, int]] = {}
        self._prior_lock = asyncio.Lock()
        self.supports_logprobs = model.supports_logprobs

    def _int(self, key: str, default: Any) -> int:
        """The whole-number option ``key``; a value that is not one is a :class:`SpecError`."""
        value = self.options.get(key, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SpecError(f"domain option {key}={value!r}: expected a whole number") from None

    def _member(self, spec: str) -> Model:
        """The ensemble model ``spec``, with this model's options minus its adapter, cached alike."""
        opts = {k: v for k, v in self.model.spec.options.items() if k not in ADAPTER_OPTIONS}
        member = get_model(parse_spec(spec, opts))
        if not member.supports_logprobs:
            raise SpecError(f"domain option ensemble={spec}: that model does not expose log-probabilities")
        if isinstance(self.model, CachedModel) and self.model.cache is not None:
            member = CachedModel(member, self.model.cache)
        return member

    # -- context -------------------------------------------------------------------------

    def examples(self, sample: Sample) -> tuple[list[Shot], int]:
        """Solved bank items for ``sample`` and the number excluded as overlapping it."""
        if self.bank is None or not self.shots or not sample.choices:
            return [], 0
        return self.bank.nearest(sample, self.shots)

    def evidence(self, sample: Sample) -> list[tuple[str, str]]:
        """``(title, excerpt)`` pairs: the best-matching sentences of the top chunks."""
        if self.kb is None:
            return []
        query, _ = clean_query(" ".join([sample.question, *sample.choices.values()]))
        hits = self.kb.search(query, self.evidence_k, "bm25")
        words = {w for w in tokenize(query) if len(w) > 1}
        scored: list[tuple[float, int, str, str]] = []
        for rank, hit in enumerate(hits):
            for sent in split_sentences(hit.chunk.text):
                overlap = len(words & set(tokenize(sent)))
                if overlap:
                    scored.append((overlap - 0.1 * rank, -rank, hit.chunk.title, sent))
        scored.sort(reverse=True)
        out: list[tuple[str, str]] = []
        used = 0
        for _, _, title, sent in scored:
            if used + len(sent) > self.evidence_chars:
                continue
            out.append((title, sent))
            used += len(sent)
        return out

    def context_block(self, sample: Sample, shots: list[Shot], evidence: list[tuple[str, str]]) -> str:
        """The text put before the question: evidence, then worked examples (nearest last)."""
        lab = LABELS["zh" if sample.language == "zh" else "en"]
        parts: list[str] = []
        if evidence:
            body = "\n".join(f"- {defuse(s)}" for _, s in evidence)
            parts.append(f"{lab['evidence']}\n<evidence>\n{body}\n</evidence>")
        if shots:
            lines = [lab["examples"]]
            for n, shot in enumerate(reversed(shots), 1):
                s = shot.sample
                lines.append(f"{lab['example']}{n}: {_clip(' '.join(s.question.split()), self.shot_chars)}\n"
                             f"{lab['answer']}: {s.choices[s.target]}")
            parts.append("\n".join(lines))
        return "\n\n".join(parts)

    # -- answering -----------------------------------------------------------------------

    def _messages(self, state: CaseState, sample: Sample, block: str, evidence: bool) -> list[Message]:
        lang = "zh" if sample.language == "zh" else "en"
        msgs = list(state.messages)
        if not msgs or msgs[-1].role != "user":
            return msgs
        user = msgs[-1].content
        if sample.choices and sample is not state.sample:
            user = _with_choices(user, state.sample, sample, lang)
        if block:
            user = f"{block}\n\n{user}"
        msgs[-1] = Message("user", user)
        if evidence:
            if msgs[0].role == "system":
                msgs[0] = Message("system", f"{msgs[0].content}\n\n{RULES[lang]}")
            else:
                msgs.insert(0, Message("system", RULES[lang]))
        return msgs

    async def run(self, state: CaseState) -> CaseState:
        """Answer with solved examples and evidence; log-prob exam items average rotations."""
        start = time.perf_counter()
        sample = state.sample
        shots, excluded = await asyncio.to_thread(self.examples, sample)
        evidence = await asyncio.to_thread(self.evidence, sample)
        block = self.context_block(sample, shots, evidence)
        trace = {"stage": "domain", "shots": [s.sample.id for s in shots], "bank_excluded": excluded,
                 "evidence": [t for t, _ in evidence], "permute": self.permute}
        likelihood = bool(state.config.top_logprobs) and self.supports_logprobs and bool(sample.choices)
        if likelihood and self.score == "cloze":
            return await self._cloze(state, block, trace, excluded, len(shots), len(evidence), start)
        rotations = min(self.permute, len(sample.choices)) if likelihood else 1
        models = [self.model, *self.members] if likelihood else [self.model]
        if len(models) > 1:
            trace["ensemble"] = [m.name for m in models]
        prior, prior_used = (await self.letter_prior(sample, state)) if likelihood and self.prior_k else (None, 0)
        outputs: list[tuple[Sample, ModelOutput]] = []
        views = [(r, m) for r in range(rotations) for m in models]
        async with self._slots:
            for done, (r, model) in enumerate(views, 1):
                view = rotate(sample, r) if r else sample
                msgs = self._messages(state, view, block, bool(evidence))
                outputs.append((view, await model.generate(msgs, state.config)))
                if self.early_stop and decided(sample, outputs, len(views) - done, self.early_stop, prior):
                    break
        usage = sum((o.usage for _, o in outputs), Usage())
        first = outputs[0][1]
        extras: dict[str, Any] = dict(first.extras) | {"bank_excluded": excluded, "shots": len(shots),
                                                       "evidence_sentences": len(evidence),
                                                       "calls": len(outputs)}
        if self.prior_k:
            extras["prior_items"] = prior_used
            extras["prior"] = [round(p, 4) for p in prior] if prior else None
        error = next((o.error for _, o in outputs if o.error), None)
        if likelihood and error is None:
            probs = average_option_probs(sample, outputs, prior)
            best = max(probs, key=lambda k: probs[k])
            top = {k: (math.log(p) if p > 0 else FLOOR) for k, p in probs.items()}
            out = ModelOutput(text=best, model=self.name, usage=usage, top_logprobs=top, extras=extras,
                              latency_s=time.perf_counter() - start)
        else:
            out = replace(first, model=self.name, usage=usage, extras=extras, error=error,
                          latency_s=time.perf_counter() - start)
        state = state.evolve(output=out, trace=state.trace + (trace,))
        if sample.choices:  # exam items: scoring path unchanged
            return state
        return carry(state)  # chat questions: the input's red flags and findings, as `medsage safety check`

    async def _cloze(self, state: CaseState, block: str, trace: dict[str, Any], excluded: int, shots: int,
                     evidence: int, start: float) -> CaseState:
        """Answer by each option text's length-normalised likelihood after "答案:" (options not shown)."""
        sample = state.sample
        cloze = CaseState(sample, tuple(exam_messages(sample, "cloze")), state.config)
        msgs = self._messages(cloze, sample, block, bool(evidence))
        lead = f"{LABELS['zh' if sample.language == 'zh' else 'en']['answer']}:"
        async with self._slots:
            first = await self.model.generate([*msgs, Message("assistant", lead)], state.config)
            scores: dict[str, TextScore] = {}
            for letter, text in sample.choices.items():
                scores[letter] = await score_text(self.model, msgs, lead, " " + " ".join(text.split()),
                                                  state.config, first, self.cloze_pieces)
        error = first.error or next((s.error for s in scores.values() if s.error), None)
        calls = 1 + sum(s.calls for s in scores.values())
        usage = first.usage  # later calls repeat the cached prompt: counted as calls, not new tokens
        extras: dict[str, Any] = {"bank_excluded": excluded, "shots": shots, "evidence_sentences": evidence,
                                  "calls": calls, "cloze_misses": sum(s.misses for s in scores.values()),
                                  "cloze_per_byte": {k: round(s.per_byte, 4) for k, s in scores.items()}}
        top = option_logprobs(scores) if error is None else {}
        best = max(top, key=lambda k: top[k]) if top else ""
        out = ModelOutput(text=best, model=self.name, usage=usage, top_logprobs=top or None, extras=extras,
                          error=error, latency_s=time.perf_counter() - start)
        return state.evolve(output=out, trace=state.trace + ({**trace, "score": "cloze"},))

    async def aclose(self) -> None:
        """Close the pipeline model and every ensemble member."""
        await self.model.aclose()
        for member in self.members:
            await member.aclose()

    async def letter_prior(self, sample: Sample, state: CaseState) -> tuple[list[float] | None, int]:
        """The letter prior for items of ``sample``'s language and option count, and its item count.

        Estimated once per (language, option count) on ``prior`` bank items; None when the
        bank has none of that kind or every estimation call failed (then nothing is divided).
        """
        key = (sample.language, len(sample.choices))
        async with self._prior_lock:
            if key not in self._priors:
                bank = self.bank.items if self.bank is not None else []
                items = prior_items(bank, key[0], key[1], self.prior_k)
                self._priors[key] = await estimate(items, lambda item: self._all_views(item, state))
                if self._priors[key][0] is None:
                    log.warning("domain: no letter prior for %s items with %d options (no bank items or "
                                "failed calls); their letter probabilities are not divided", *key)
        return self._priors[key]

    async def _all_views(self, item: Sample, state: CaseState) -> list[list[float]] | None:
        """``item`` (a blinded bank item) asked in every rotation, as the pipeline asks its items."""
        shots, _ = self.examples(item)
        evidence = self.evidence(item)
        block = self.context_block(item, shots, evidence)
        base = CaseState(item, tuple(exam_messages(item, "likelihood")), state.config)
        n = len(item.choices)
        views: list[list[float]] = []
        async with self._slots:
            for r in range(n):
                view = rotate(item, r) if r else item
                out = await self.model.generate(self._messages(base, view, block, bool(evidence)), state.config)
                if out.error:
                    return None
                views.append(view_probs(out, n))
        return views


def rotate(sample: Sample, r: int) -> Sample:
    """``sample`` with its option texts shifted ``r`` places (option ``i`` shows text ``i + r``)."""
    letters = list(sample.choices)
    texts = [sample.choices[k] for k in letters]
    n = len(texts)
    return replace(sample, choices={LETTERS[i]: texts[(i + r) % n] for i in range(n)},
                   metadata=dict(sample.metadata, rotation=r, original_letters="".join(letters)))


def view_probs(out: ModelOutput, n: int) -> list[float]:
    """The probabilities of letters A.. (``n``) in one answer, renormalised over those letters."""
    logps = letter_logprobs(out.top_logprobs or {}, n)
    peak = max(logps)
    exp = [math.exp(lp - peak) for lp in logps]
    z = sum(exp)
    return [e / z for e in exp]


def average_option_probs(sample: Sample, outputs: list[tuple[Sample, ModelOutput]],
                         prior: list[float] | None = None) -> dict[str, float]:
    """Each original option's letter probability, averaged over views (each divided by ``prior``)."""
    letters = list(sample.choices)
    n = len(letters)
    total = dict.fromkeys(letters, 0.0)
    for view, out in outputs:
        r = int(view.metadata.get("rotation", 0)) if view is not sample else 0
        for i, p in enumerate(debias(view_probs(out, n), prior)):  # letter i shows option (i + r) % n
            total[letters[(i + r) % n]] += p
    return {k: v / len(outputs) for k, v in total.items()}


def _stop_rule(value: Any) -> str:
    """``exact``, ``agree`` or ``""`` (off) from an ``early_stop`` option value."""
    text = str(value).strip().lower()
    if text in ("agree", "exact"):
        return text
    if text in ("1", "true", "yes", "on"):
        return "exact"
    if text in ("0", "false", "no", "off", ""):
        return ""
    raise SpecError(f"domain option early_stop={value!r}: use exact (on), agree or off")


def view_leader(sample: Sample, view: Sample, out: ModelOutput) -> str:
    """The original option that ``view``'s letter probabilities rank first."""
    probs = average_option_probs(sample, [(view, out)])
    return max(probs, key=lambda k: probs[k])


def decided(sample: Sample, outputs: list[tuple[Sample, ModelOutput]], remaining: int, rule: str = "exact",
            prior: list[float] | None = None) -> bool:
    """Whether to ask no more rotations.

    ``exact``: ``remaining`` more rotations can no longer change the averaged answer — each
    view adds a probability vector summing to 1, so it raises an option's total by at most
    1, and a lead over the runner-up larger than ``remaining`` is final. ``agree``: that, or
    two or more views rank the same original option first.
    """
    if remaining <= 0 or any(o.error for _, o in outputs):
        return False
    if rule == "agree" and len(outputs) >= 2 and len({view_leader(sample, v, o) for v, o in outputs}) == 1:
        return True
    totals = sorted((p * len(outputs) for p in average_option_probs(sample, outputs, prior).values()), reverse=True)
    return len(totals) > 1 and totals[0] - totals[1] > remaining


def letter_logprobs(top: dict[str, float], n: int) -> list[float]:
    """Log-probabilities of the letters A.. (n of them) among first-token alternatives."""
    from medsage.scoring.extract import normalise

    best = [FLOOR] * n
    for token, lp in top.items():
        t = normalise(token).strip("()（） .").upper()
        if len(t) == 1 and t in LETTERS[:n]:
            i = LETTERS.index(t)
            best[i] = max(best[i], float(lp))
    return best


def _with_choices(user: str, original: Sample, view: Sample, lang: str) -> str:
    """The task's user message with the original option lines replaced by ``view``'s."""
    old = "\n".join(f"{k}. {v}" for k, v in original.choices.items())
    new = "\n".join(f"{k}. {v}" for k, v in view.choices.items())
    if old in user:
        return user.replace(old, new)
    p = PROMPTS[lang]
    return f"{p['likelihood']}\n\n{p['question']}: {view.question.strip()}\n\n{new}"


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters in the middle, keeping the question at its end."""
    if limit <= 0 or len(text) <= limit:
        return text
    tail = min(60, limit // 2)
    return f"{text[: limit - tail - 1]}…{text[-tail:]}"
