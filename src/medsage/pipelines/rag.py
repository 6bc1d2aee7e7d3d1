"""The ``rag`` pipeline: retrieve evidence, answer with numbered citations, verify them.

Two shapes, chosen per case:

* **exam** (the sample has answer choices, or ``-P style=exam``): the task's own
  messages are kept — including its answer-format instructions — and the numbered
  evidence is put before the last user message as quoted data. Nothing else changes,
  so ``bench --pipeline rag`` compares the same model with and without evidence.
* **answer** (free questions, ``medsage ask``): the model is told to answer in the
  question's language, citing evidence as ``[n]``; every cited sentence is then checked
  (:mod:`medsage.pipelines.citations`). When retrieval finds nothing close enough the
  pipeline says the knowledge base does not cover the question instead of asking the model.

Options (``-P key=value``): ``kb`` (folder, required; env ``MEDSAGE_KB``), ``k`` (5),
``mode`` (hybrid|bm25|dense), ``sources`` / ``languages`` (comma lists, filters),
``rerank`` (false; let the model reorder 3·k candidates), ``verify`` (true),
``attribute`` (true: a sentence the model did not cite is attributed to a chunk that
supports it, or flagged unsupported; verbatim-repeated paragraphs are dropped first),
``grader`` (model spec for entailment checks), ``min_margin`` (0.08) and ``min_overlap``
(0.6): a question counts as covered when some hit's dense margin (see
:class:`medsage.kb.types.Hit`) or the share of the question's content words found in the hits reaches
these, ``style`` (auto|exam|answer),
``evidence_chars`` (1200 per chunk).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from medsage.errors import SpecError
from medsage.kb.search import KnowledgeBase, clean_query
from medsage.kb.types import Hit
from medsage.lang import detect_language
from medsage.models.base import Model, get_model, option
from medsage.pipeline import Pipeline
from medsage.pipelines.citations import (
    add_markers,
    drop_repeats,
    lexical_support,
    summarize,
    verify,
)
from medsage.pipelines.evidence import RULES, format_evidence
from medsage.safety.carry import carry
from medsage.types import CaseState, Citation, Message, ModelOutput, Usage

NOT_COVERED = {
    "en": "The knowledge base does not cover this question, so no evidence-based answer can be given.",
    "zh": "知识库中没有涵盖这个问题的资料，因此无法给出有依据的回答。",
}
UNVERIFIED_NOTE = {
    "en": "Note: none of the statements above could be verified against the cited sources.",
    "zh": "注意：以上内容均未能在所引用的资料中得到验证。",
}
ANSWER_PROMPT = {
    "en": (
        "You are a careful medical assistant supporting clinicians. Answer the question using "
        "only the numbered evidence. After each sentence, cite the evidence it rests on as [1], "
        "[2]. Answer in English. If the evidence does not answer the question, say that the "
        "knowledge base does not cover it; do not invent facts."
    ),
    "zh": (
        "你是一名严谨的医学助理，为临床医生提供参考。只根据编号的资料回答问题，每句话后用 [1]、[2] "
        "标注所依据的资料编号。请用中文回答。如果资料不能回答这个问题，就说明知识库没有涵盖该问题，不要编造。"
    ),
}


def _split(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


class RagPipeline(Pipeline):
    """Retrieval-augmented answers with verifiable citations.

    Args:
        model: The base model.
        options: Pipeline options (see the module docstring); ``kb`` is required.

    Raises:
        SpecError: without a ``kb`` option or with a bad option value.
        DataError: when the knowledge base is missing or half-written.
    """

    pipeline_name = "rag"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        kb = option(self.options, "kb", "MEDSAGE_KB")
        if not kb:
            raise SpecError("the rag pipeline needs a knowledge base: -P kb=DIR (or --kb DIR)")
        self.kb = KnowledgeBase(str(kb))
        self.k = int(self.options.get("k", 5))
        self.mode = str(self.options.get("mode", "hybrid"))
        self.sources = _split(self.options.get("sources"))
        self.languages = _split(self.options.get("languages"))
        self.rerank = bool(self.options.get("rerank", False))
        self.verify = bool(self.options.get("verify", True))
        self.attribute = str(self.options.get("attribute", True)).lower() not in ("0", "false", "no")
        self.min_margin = float(self.options.get("min_margin", 0.08))
        self.min_overlap = float(self.options.get("min_overlap", 0.6))
        self.style = str(self.options.get("style", "auto"))
        self.evidence_chars = int(self.options.get("evidence_chars", 1200))
        if self.style not in ("auto", "exam", "answer") or not 1 <= self.k <= 50:
            raise SpecError("rag options: style must be auto|exam|answer and k between 1 and 50")
        # exam prompts keep the model's own answer, so likelihood scoring passes through
        self.supports_logprobs = model.supports_logprobs and self.style != "answer"
        grader = self.options.get("grader")
        self.grader: Model | None = get_model(str(grader)) if grader else None

    def _query(self, state: CaseState) -> str:
        sample = state.sample
        text = sample.question if sample.question and sample.question != "-" else ""
        if not text:
            text = next((m.content for m in reversed(state.messages) if m.role == "user"), "")
        if sample.choices:
            text = text + "\n" + "\n".join(sample.choices.values())
        return text

    async def retrieve(self, query: str) -> tuple[list[Hit], Usage]:
        """Search the knowledge base (and rerank when asked)."""
        text, _ = clean_query(query)
        depth = self.k * 3 if self.rerank else self.k
        hits = await asyncio.to_thread(
            self.kb.search, text, depth, self.mode, self.sources or None, self.languages or None
        )
        usage = Usage()
        if self.rerank:
            from medsage.kb.rerank import llm_rerank

            hits, usage = await llm_rerank(self.model, text, hits)
        return hits[: self.k], usage

    async def run(self, state: CaseState) -> CaseState:
        """Retrieve, answer from the evidence, check the citations and carry the findings."""
        start = time.perf_counter()
        query = self._query(state)
        language = str(state.sample.metadata.get("language") or detect_language(query))
        lang = "zh" if language.startswith("zh") else "en"
        exam = self.style == "exam" or (self.style == "auto" and bool(state.sample.choices))
        hits, usage = await self.retrieve(query)
        trace = {"stage": "retrieve", "mode": self.mode, "k": self.k,
                 "hits": [{"n": n, "chunk_id": h.chunk.chunk_id, "score": round(h.score, 4),
                           "dense": None if h.dense is None else round(h.dense, 4)} for n, h in enumerate(hits, 1)]}
        evidence = {n: h.chunk for n, h in enumerate(hits, 1)}
        if exam:
            messages = self._exam_messages(state.messages, hits, lang)
        else:
            if not covered(query, hits, lang, self.min_margin, self.min_overlap):
                out = ModelOutput(text=NOT_COVERED[lang], model=self.name, usage=usage,
                                  latency_s=time.perf_counter() - start,
                                  extras={"covered": False, "unsupported": [], "citations": []})
                return carry(state.evolve(output=out, trace=state.trace + (trace,)), query)
            messages = self._answer_messages(state.messages, hits, lang)
        output = await self.model.generate(messages, state.config)
        usage = usage + output.usage
        citations = [_citation(n, h) for n, h in enumerate(hits, 1)]
        extras: dict[str, Any] = dict(output.extras) | {"covered": True}
        if not exam:
            extras["evidence"] = [c.__dict__ for c in citations]
        text = output.text
        if not exam and not output.error:
            text, repeats = drop_repeats(text)
            if repeats:
                extras["repeats_removed"] = repeats
            checks = (await verify(text, evidence, self.grader, attribute=self.attribute)
                      if self.verify else [])
            text = add_markers(text, checks)
            cited = sorted({n for c in checks for n in c.cited if n in evidence})
            verdict = summarize(checks)
            if self.verify and not verdict["verified"]:
                text = f"{text.rstrip()}\n\n{UNVERIFIED_NOTE[lang]}"
            citations = [c for c in citations if c.n in cited]
            extras |= {"unsupported": verdict["unsupported"], "checks": [c.to_dict() for c in checks]}
            if self.verify:  # retrieval found material, but "covered" means the answer rests on it
                extras |= {"covered": verdict["verified"], "injection_suspected": verdict["injection_suspected"]}
        extras["citations"] = [c.__dict__ for c in citations]
        out = replace(output, text=text, usage=usage, extras=extras, model=self.name,
                      latency_s=time.perf_counter() - start)
        state = state.evolve(output=out, citations=tuple(citations), trace=state.trace + (trace,))
        return state if exam else carry(state, query)  # the question's red flags and findings, as the CLI

    def _exam_messages(self, messages: tuple[Message, ...], hits: list[Hit], lang: str) -> list[Message]:
        msgs = list(messages)
        if not hits:
            return msgs
        block = format_evidence(hits, self.evidence_chars)
        intro = "参考资料：" if lang == "zh" else "Reference material:"
        last = max((i for i, m in enumerate(msgs) if m.role == "user"), default=None)
        if last is None:
            return msgs
        msgs[last] = Message("user", f"{intro}\n{block}\n\n{msgs[last].content}")
        if msgs and msgs[0].role == "system":
            msgs[0] = Message("system", f"{msgs[0].content}\n\n{RULES[lang]}")
        else:
            msgs.insert(0, Message("system", RULES[lang]))
        return msgs

    def _answer_messages(self, messages: tuple[Message, ...], hits: list[Hit], lang: str) -> list[Message]:
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        block = format_evidence(hits, self.evidence_chars)
        label = ("资料", "问题") if lang == "zh" else ("Evidence", "Question")
        return [
            Message("system", f"{ANSWER_PROMPT[lang]}\n\n{RULES[lang]}"),
            Message("user", f"{label[0]}:\n{block}\n\n{label[1]}: {question}"),
        ]

    async def aclose(self) -> None:
        """Close the wrapped model and the citation grader."""
        await super().aclose()
        if self.grader is not None:
            await self.grader.aclose()


def covered(query: str, hits: list[Hit], language: str, min_margin: float = 0.08, min_overlap: float = 0.6) -> bool:
    """Whether the hits look like they answer ``query`` (the gate before the model).

    Among hits in the question's language: one stands out from the background (dense
    margin ≥ ``min_margin``) or together they hold ``min_overlap`` of the question's
    content words. Hits in other languages cannot be judged (multilingual-e5-small
    margins do not separate on- from off-topic across languages, see
    benchmarks/kb/README.md), so when there are any the gate lets the model answer: the
    model is told to say when the evidence does not cover the question, and its
    citations are verified. The gate therefore declines only same-language misses.
    """
    if not hits:
        return False
    same = [h for h in hits if h.chunk.language == language]
    if any(h.margin is not None and h.margin >= min_margin for h in same):
        return True
    if same and lexical_support(query, "\n".join(h.chunk.index_text for h in same)) >= min_overlap:
        return True
    return len(same) < len(hits)


def _citation(n: int, hit: Hit) -> Citation:
    c = hit.chunk
    return Citation(n=n, doc_id=c.doc_id, title=c.title, url=c.url,
                    snippet=" ".join(c.text.split())[:300], source=c.source, score=round(float(hit.score), 6))
