"""Multi-agent consultation: a specialist panel or a full MDT around one base model.

Registered as pipeline ``consult``. Options (``-P key=value``):

* ``mode``: ``panel`` (default; 3 specialists, 1 discussion round) or ``mdt``
  (5 specialists, 2 discussion rounds).
* ``rounds``: discussion rounds after the first opinions (0 = independent
  opinions only); bounded, never open-ended.
* ``max_specialists``: panel size; departments are recruited from the case text
  by keyword rules in English and Chinese (:mod:`medsage.route.departments`).
* ``moderator``: ``vote`` (default; majority vote, ties to the most relevant
  specialist) or ``llm`` (ties resolved by a moderator call) for multiple-choice
  items; open questions always get a moderator synthesis with recorded dissent.
* ``kb``: path of a knowledge base (``medsage kb``) for specialists' evidence;
  ``kb_k`` hits each (default 3).
* ``max_tokens`` (per agent call, default 256), ``agent_timeout`` (seconds,
  default 300), ``concurrency`` (agent calls at once, default 1), ``safety``
  (``auto``/``off``).

Every call is recorded in ``CaseState.trace`` (and ``ModelOutput.extras["trace"]``):
who said what, with which evidence, in which round, and its token cost; usage
is summed over all calls into ``ModelOutput.usage``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from medsage.errors import SpecError
from medsage.lang import identify_language
from medsage.models.agent import AgentReply, call_agent
from medsage.models.base import Model
from medsage.pipeline import Pipeline, Procedure
from medsage.pipelines.consult_prompts import prompt
from medsage.pipelines.consult_support import (
    PROMPT_LANGUAGES,
    case_caveats,
    kb_evidence,
    safety_review,
)
from medsage.route.departments import DepartmentMatch, recruit
from medsage.safety.carry import carry
from medsage.scoring.extract import extract_choice
from medsage.types import (
    DISCLAIMER,
    CaseState,
    Finding,
    GenerateConfig,
    Message,
    ModelOutput,
    Usage,
)

MODES: dict[str, dict[str, int]] = {
    "panel": {"rounds": 1, "max_specialists": 3},
    "mdt": {"rounds": 2, "max_specialists": 5},
}
_CHOICE_LINE = re.compile(r"^\s*\(?([A-J])[\.\)）:：、]\s*(\S.*)$", re.MULTILINE)


@dataclass
class Specialist:
    """A recruited panel member and its latest opinion."""

    match: DepartmentMatch
    lang: str
    history: list[Message] = field(default_factory=list)
    answer: str | None = None
    text: str = ""

    @property
    def key(self) -> str:
        """The department key of this specialist."""
        return self.match.key

    @property
    def role(self) -> str:
        """The department's name in the case language (the specialist's role)."""
        d = self.match.department
        return d.zh if self.lang == "zh" else d.en


@dataclass
class Case:
    """What the agents see: the task prompt, options and language."""

    prompt: str
    question: str
    choices: dict[str, str]
    lang: str
    prompt_lang: str
    caveats: list[str]


def read_case(state: CaseState) -> Case:
    """Extract the case from a state (task prompt, options, language, caveats)."""
    user = next((m.content for m in reversed(state.messages) if m.role == "user"), "")
    question = state.sample.question if state.sample.question not in ("", "-") else user
    choices = dict(state.sample.choices) or {m.group(1): m.group(2).strip()
                                              for m in _CHOICE_LINE.finditer(user)}
    if len(choices) < 2:
        choices = {}
    text = user or question
    lang = state.sample.metadata.get("language") or identify_language(question or text)
    lang = str(lang)
    prompt_lang = lang if lang in PROMPT_LANGUAGES else "en"
    return Case(text, question or text, choices, lang, prompt_lang, case_caveats(question or text))


class ConsultPipeline(Pipeline):
    """A multi-agent consultation: specialists, bounded discussion, a moderator, a safety check.

    Specialists recruited from the case draft opinions and discuss in bounded rounds, a
    moderator synthesises the consensus (recording dissent), and the safety layer checks the
    final plan.

    Args:
        model: The base model every agent runs on.
        options: See the module docstring.

    Raises:
        SpecError: for an unknown mode or a negative round/specialist count.
    """

    pipeline_name = "consult"

    def __init__(self, model: Model, options: dict[str, Any] | None = None) -> None:
        super().__init__(model, options)
        self.mode = str(self.options.get("mode", "panel")).lower()
        if self.mode not in MODES:
            raise SpecError(f"consult mode must be panel or mdt, got '{self.mode}'")
        defaults = MODES[self.mode]
        self.rounds = _int_option(self.options, "rounds", defaults["rounds"], minimum=0)
        self.max_specialists = _int_option(self.options, "max_specialists", defaults["max_specialists"], minimum=1)
        self.moderator = str(self.options.get("moderator", "vote"))
        if self.moderator not in ("vote", "llm"):
            raise SpecError(f"consult moderator must be vote or llm, got '{self.moderator}'")
        self.kb = self.options.get("kb")
        self.kb_k = _int_option(self.options, "kb_k", 3, minimum=1)
        self.max_tokens = _int_option(self.options, "max_tokens", 256, minimum=1)
        self.agent_timeout = float(self.options.get("agent_timeout", 300))
        self.concurrency = _int_option(self.options, "concurrency", 1, minimum=1)
        self.safety = str(self.options.get("safety", "auto"))
        self.name = f"consult-{self.mode}:{model.name}"

    async def run(self, state: CaseState) -> CaseState:
        """Hold the consultation (:meth:`consult`) with no earlier trace."""
        return await self.consult(state)

    async def encounter(self, state: CaseState, procedure: Procedure) -> CaseState:
        """Run a task's procedure with this team and the base model as the doctor."""
        return await procedure(state, self, self.model, self.options)

    async def consult(self, state: CaseState, trace: list[dict[str, Any]] | None = None) -> CaseState:
        """Run the consultation on ``state`` and return it with output, trace and findings."""
        start = time.perf_counter()
        trace = list(trace or [])
        case = read_case(state)
        if not case.prompt.strip():
            trace.append({"agent": "moderator", "role": "intake", "error": "empty case"})
            out = ModelOutput(model=self.name, error="case has no findings: nothing to consult on",
                              extras={"trace": trace})
            return state.evolve(output=out, trace=tuple(trace))
        team = [Specialist(m, case.prompt_lang) for m in
                recruit(case.question + "\n" + "\n".join(case.choices.values()), self.max_specialists,
                        minimum=2 if self.mode == "panel" else 3)]
        trace.append(self._intake_entry(case, team))
        config = GenerateConfig(max_tokens=min(state.config.max_tokens, self.max_tokens),
                                temperature=state.config.temperature, seed=state.config.seed)
        evidence = self._evidence(case, trace)
        usage = Usage()
        calls = 0
        rounds_run = 0
        for rnd in range(self.rounds + 1):
            replies = await self._round(team, case, rnd, config, evidence)
            rounds_run = rnd
            for sp, rep in zip(team, replies, strict=True):
                usage, calls = usage + rep.usage, calls + 1
                trace.append(self._record(sp, rep, case, evidence))
            if case.choices and self._agreed(team):
                if rnd < self.rounds:
                    trace.append({"round": rnd, "agent": "moderator", "role": "moderator",
                                  "content": "consensus reached; discussion closed early"})
                break
        text, summary, mod_usage, mod_calls = await self._synthesise(team, case, config, trace)
        usage, calls = usage + mod_usage, calls + mod_calls
        findings: list[Finding] = []
        blocked = False
        safety_entry: dict[str, Any] = {"agent": "safety", "role": "safety", "available": None,
                                        "content": "safety check off"}
        if self.safety != "off":
            checked = text
            if case.choices and summary.get("answer") in case.choices:
                # an option letter says nothing; check the chosen option and its rationale
                answer = summary["answer"]
                backers = [sp.text for sp in team if sp.answer == answer]
                checked = f"{case.choices[answer]}\n{backers[0] if backers else ''}"
            findings, blocked, safety_entry = safety_review(checked, case.question, case.lang)
        trace.append({"round": rounds_run, **safety_entry})
        if blocked and not case.choices:
            text = f"[withheld by the safety check: see findings]\n\n{DISCLAIMER}"
        summary.update({"mode": self.mode, "rounds_run": rounds_run, "calls": calls,
                        "specialists": [sp.key for sp in team], "safety_blocked": blocked})
        out = ModelOutput(text=text, model=self.name, usage=usage, latency_s=time.perf_counter() - start,
                          extras={"trace": trace, "consult": summary})
        state = state.evolve(output=out, trace=tuple(trace), findings=state.findings + tuple(findings))
        # the case's own red flags and findings (the plan check above sees only the plan)
        return state if case.choices or self.safety == "off" else carry(state)

    def _intake_entry(self, case: Case, team: list[Specialist]) -> dict[str, Any]:
        notes = list(case.caveats)
        if case.lang not in PROMPT_LANGUAGES:
            notes.append(f"case language '{case.lang}' has no specialist prompts; English prompts used "
                         "and agents answer as they can")
        return {"round": 0, "agent": "moderator", "role": "recruitment", "mode": self.mode,
                "rounds": self.rounds, "language": case.lang, "caveats": notes,
                "content": ", ".join(sp.key for sp in team),
                "specialists": [{"department": sp.key, "hits": list(sp.match.hits)} for sp in team]}

    def _evidence(self, case: Case, trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.kb:
            return []
        evidence, problem = kb_evidence(str(self.kb), case.question, self.kb_k)
        trace.append({"round": 0, "agent": "kb", "role": "evidence", "content": problem or f"{len(evidence)} hits",
                      "evidence": evidence})
        return evidence

    async def _round(self, team: list[Specialist], case: Case, rnd: int, config: GenerateConfig,
                     evidence: list[dict[str, Any]]) -> list[AgentReply]:
        sem = asyncio.Semaphore(self.concurrency)
        opinions = _opinions(team)

        async def one(sp: Specialist) -> AgentReply:
            if rnd == 0:
                sp.history = self._opening(sp, case, evidence)
            else:
                tail = prompt(sp.lang, "discussion", opinions=opinions)
                if case.choices:
                    tail += "\n" + prompt(sp.lang, "mcq_discussion_tail")
                sp.history = [*sp.history, Message("assistant", sp.text or "-"), Message("user", tail)]
            async with sem:
                return await call_agent(self.model, sp.key, "specialist", rnd, sp.history, config,
                                        self.agent_timeout)

        replies = list(await asyncio.gather(*(one(sp) for sp in team)))
        for sp, rep in zip(team, replies, strict=True):
            if rep.error:
                continue  # keep the previous opinion (if any); the trace shows the failure
            sp.text = rep.text
            if case.choices:
                sp.answer = extract_choice(rep.text, case.choices) or sp.answer
        return replies

    def _opening(self, sp: Specialist, case: Case, evidence: list[dict[str, Any]]) -> list[Message]:
        key = "mcq_task" if case.choices else "open_task"
        parts = [prompt(sp.lang, key, question=case.prompt, role=sp.role)]
        if sp.match.hits:
            parts.append(prompt(sp.lang, "focus", hits=", ".join(sp.match.hits[:8])))
        if evidence:
            parts.append(prompt(sp.lang, "evidence", evidence="\n".join(
                f"[{e['n']}] {e['title']}: {e['snippet']}" for e in evidence)))
        if case.caveats:
            parts.append(prompt(sp.lang, "caveats", caveats="; ".join(case.caveats)))
        return [Message("system", prompt(sp.lang, "specialist_system", role=sp.role)),
                Message("user", "\n\n".join(parts))]

    def _record(self, sp: Specialist, rep: AgentReply, case: Case, evidence: list[dict[str, Any]]) -> dict[str, Any]:
        extra: dict[str, Any] = {"department": sp.key,
                                 "evidence": {"case_findings": list(sp.match.hits),
                                              "kb": [e["n"] for e in evidence]}}
        if case.choices:
            extra["answer"] = extract_choice(rep.text, case.choices) if rep.text else None
        return rep.trace(**extra)

    def _agreed(self, team: list[Specialist]) -> bool:
        answers = {sp.answer for sp in team}
        return len(answers) == 1 and None not in answers

    async def _synthesise(self, team: list[Specialist], case: Case, config: GenerateConfig,
                          trace: list[dict[str, Any]]) -> tuple[str, dict[str, Any], Usage, int]:
        if case.choices:
            return await self._vote(team, case, config, trace)
        return await self._moderate_open(team, case, config, trace)

    async def _vote(self, team: list[Specialist], case: Case, config: GenerateConfig,
                    trace: list[dict[str, Any]]) -> tuple[str, dict[str, Any], Usage, int]:
        votes = Counter(sp.answer for sp in team if sp.answer)
        usage, calls = Usage(), 0
        lang = case.prompt_lang
        if not votes:
            text = prompt(lang, "no_answer")
            trace.append({"agent": "moderator", "role": "moderator", "content": text, "votes": {},
                          "method": "vote", "answer": None})
            return text, {"answer": None, "votes": {}, "confidence": 0.0, "dissent": []}, usage, calls
        top = max(votes.values())
        tied = [a for a in votes if votes[a] == top]
        method = "majority vote"
        if len(tied) == 1:
            answer = tied[0]
        else:
            # ties: the most relevant specialist (recruited first) among the tied answers
            answer = next(sp.answer for sp in team if sp.answer in tied)
            method = "tie -> most relevant specialist"
            if self.moderator == "llm":
                rep = await call_agent(self.model, "moderator", "moderator", self.rounds, [
                    Message("system", prompt(lang, "moderator_system")),
                    Message("user", prompt(lang, "moderator_mcq", question=case.prompt,
                                           opinions=_opinions(team), tied=", ".join(sorted(tied))))],
                    config, self.agent_timeout)
                usage, calls = rep.usage, 1
                picked = extract_choice(rep.text, case.choices) if rep.text else None
                trace.append(rep.trace(answer=picked))
                if picked in tied:
                    answer, method = picked, "tie -> moderator"
        confidence = votes[answer] / sum(votes.values())
        dissent = [{"department": sp.key, "answer": sp.answer, "rationale": sp.text[:300]}
                   for sp in team if sp.answer != answer]
        text = prompt(lang, "answer", letter=answer)
        trace.append({"agent": "moderator", "role": "moderator", "content": text, "answer": answer,
                      "votes": dict(votes), "confidence": round(confidence, 3), "method": method,
                      "dissent": dissent})
        return text, {"answer": answer, "votes": dict(votes), "confidence": confidence,
                      "dissent": dissent}, usage, calls

    async def _moderate_open(self, team: list[Specialist], case: Case, config: GenerateConfig,
                             trace: list[dict[str, Any]]) -> tuple[str, dict[str, Any], Usage, int]:
        lang = case.prompt_lang
        opinions = _opinions(team)
        if not any(sp.text for sp in team):
            text = prompt(lang, "no_answer")
            trace.append({"agent": "moderator", "role": "moderator", "content": text, "error": "no opinions"})
            return text, {"answer": None, "dissent": []}, Usage(), 0
        rep = await call_agent(self.model, "moderator", "moderator", self.rounds, [
            Message("system", prompt(lang, "moderator_system")),
            Message("user", prompt(lang, "moderator_open", question=case.prompt, opinions=opinions))],
            GenerateConfig(max_tokens=max(config.max_tokens, 384), temperature=config.temperature,
                           seed=config.seed), self.agent_timeout)
        body = rep.text
        if rep.error:  # fall back to the opinions themselves, clearly labelled
            body = ("Moderator unavailable (" + rep.error + "); specialists' opinions:\n" + opinions)
        consensus, dissent = split_dissent(body)
        trace.append(rep.trace(dissent=dissent))
        text = f"{consensus}\n\n{DISCLAIMER}"
        return text, {"answer": consensus, "dissent": dissent}, rep.usage, 1


def split_dissent(text: str) -> tuple[str, list[str]]:
    """Split a moderator reply into (consensus, dissent lines)."""
    m = re.search(r"^\s*(?:\*\*)?(?:Dissent|分歧)(?:\*\*)?\s*[:：]", text, re.MULTILINE | re.IGNORECASE)
    if not m:
        return text.strip(), []
    rest = text[m.end():].strip()
    none = re.fullmatch(r"(?i:none\.?|无。?|没有。?)", rest)
    return text[: m.start()].strip() or text.strip(), ([] if none or not rest else [rest])


def _opinions(team: list[Specialist]) -> str:
    lines = []
    for sp in team:
        if sp.text:
            head = f"{sp.role} ({sp.answer})" if sp.answer else sp.role
            lines.append(f"- {head}: {sp.text[:400]}")
    return "\n".join(lines) or "-"


def _int_option(options: dict[str, Any], key: str, default: int, minimum: int) -> int:
    raw = options.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"consult option {key} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SpecError(f"consult option {key} must be ≥ {minimum}, got {value}")
    return value
