"""LLM in the loop for department triage: combine the model's pick with the offline router.

The offline router (:class:`~medsage.route.department.DepartmentRouter`) proposes its top
candidates; the model sees the complaint and those candidates only (never the whole
list, so a small model cannot invent a department). How its answer changes the offline
department set is a named *strategy* (:data:`STRATEGIES`):

``replace``
    The model names one or two candidates; they replace the offline set.
``pick1-confirm``
    The model names exactly one. If the offline set has two or more departments and the
    pick is one of them, keep the pick plus the other offline departments scoring at least
    ``keep_ratio`` x the top score; if the pick is a candidate outside the offline set, the
    set becomes the pick then the offline top-1; otherwise (one offline department, or the
    pick is the red-flag emergency the router paired with a specialty) the offline set stands.
``pick1-add``
    The offline set, plus the model's pick appended when it is not already there.
``pick1-only``
    Just the model's pick.

All ``pick1-*`` strategies send byte-identical prompts (:func:`prompt_for`), so one model
answer (or one response cache) serves all of them; :func:`combine` is a pure function of
(offline result, answer). Fail-safe in every strategy: an unusable answer (error, timeout,
no candidate name) keeps the offline result (source ``offline (model unusable)``); a
red-flag emergency stays first whatever the model says; a query the router found
non-medical is not sent to the model.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from medsage.route.department import DepartmentChoice, DepartmentResult
from medsage.route.deptlist import parse_departments
from medsage.types import GenerateConfig, Message

log = logging.getLogger(__name__)
N_CANDIDATES = 6
STRATEGIES = ("replace", "pick1-confirm", "pick1-add", "pick1-only")
DEFAULT_STRATEGY = "pick1-confirm"
"""The best model strategy on the dev split (5-fold CV, benchmarks/route/README.md); `replace` is the first try."""
KEEP_RATIO = 0.9
USED, UNUSABLE = "offline+model", "offline (model unusable)"
_PROMPT_ZH = ("你是医院导诊护士。患者描述：{patient}\n\n候选科室：{candidates}\n\n"
              "请从候选科室中选出最应该挂的一个科室；如果确实需要两个科室，写两个，最合适的在前。"
              "只输出科室名称，用“|”分隔，不要解释。\n科室：")
_PROMPT_EN = ("You are a hospital triage nurse. Patient: {patient}\n\nCandidate departments: {candidates}\n\n"
              "Pick the one department the patient should attend; name two only if both are truly "
              "needed, best first. Answer with the names only, separated by '|', no explanation.\n"
              "Departments:")
_PICK1_ZH = ("你是医院导诊护士。患者描述：{patient}\n\n候选科室：{candidates}\n\n"
             "请从候选科室中选出最应该挂的一个科室。只输出这一个科室名称，不要解释。\n科室：")
_PICK1_EN = ("You are a hospital triage nurse. Patient: {patient}\n\nCandidate departments: {candidates}\n\n"
             "Pick the one department the patient should attend. Answer with that one name only, "
             "no explanation.\nDepartment:")


def _check(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown rerank strategy '{strategy}' (known: {', '.join(STRATEGIES)})")


def _names(result: DepartmentResult) -> list[str]:
    return [c.name for c in result.candidates[:N_CANDIDATES]]


def prompt_for(result: DepartmentResult, text: str, strategy: str = DEFAULT_STRATEGY) -> str | None:
    """The prompt sent to the model for ``strategy``, or None when the model is not asked.

    Args:
        result: The offline router's result for ``text``.
        text: The complaint.
        strategy: One of :data:`STRATEGIES`; all ``pick1-*`` give the same prompt.

    Returns:
        The prompt, or None for a non-medical query or one without candidates.

    Raises:
        ValueError: An unknown strategy.
    """
    _check(strategy)
    if not result.medical or not result.candidates:
        return None
    zh = result.lang == "zh"
    if strategy == "replace":
        template = _PROMPT_ZH if zh else _PROMPT_EN
    else:
        template = _PICK1_ZH if zh else _PICK1_EN
    return template.format(patient=text[:2000], candidates=("、" if zh else ", ").join(_names(result)))


async def ask(model: Any, prompt: str, *, timeout: float = 60.0, max_tokens: int = 32) -> str | None:
    """The model's raw answer to ``prompt``, or None on an error or timeout (never raises)."""
    try:
        out = await asyncio.wait_for(
            model.generate([Message("user", prompt)], GenerateConfig(max_tokens=max_tokens, temperature=0.0)),
            timeout)
    except Exception as exc:  # noqa: BLE001 - a failing model must not break routing
        log.warning("department rerank failed: %s", exc)
        return None
    return None if out.error else (out.text or "")


def _first(c: DepartmentChoice, top: float) -> DepartmentChoice:
    """``c`` promoted to the head of a list (score at least ``top``)."""
    return DepartmentChoice(c.name, max(c.score, top), c.reason, c.red_flag)


def _pick1(result: DepartmentResult, pick: DepartmentChoice, strategy: str,
           keep_ratio: float) -> list[DepartmentChoice]:
    offline = list(result.departments)
    top = max((d.score for d in offline), default=pick.score)
    in_set = pick.name in [d.name for d in offline]
    if strategy == "pick1-only":
        return [_first(pick, top)]
    if strategy == "pick1-add":
        return offline if in_set else [*offline, pick]
    if not offline:
        return offline
    if offline[0].red_flag and pick.name == offline[0].name:
        return offline  # confirming the triage emergency says nothing about the specialty kept with it
    if in_set and len(offline) >= 2:  # pick1-confirm: the model confirms one offline department
        return [_first(pick, top)] + [d for d in offline if d.name != pick.name and d.score >= keep_ratio * top]
    if not in_set:
        return [_first(pick, top), offline[0]]
    return offline


def combine(result: DepartmentResult, answer: str | None, strategy: str = DEFAULT_STRATEGY, *,
            keep_ratio: float = KEEP_RATIO) -> DepartmentResult:
    """The final result for the model's ``answer`` under ``strategy`` (pure, no model call).

    Args:
        result: The offline router's result.
        answer: The model's raw answer (None: error or timeout).
        strategy: One of :data:`STRATEGIES`.
        keep_ratio: ``pick1-confirm`` keeps other offline departments scoring at least this
            share of the top score.

    Returns:
        ``result`` itself for a non-medical query (the model is not asked); ``result`` with
        source ``offline (model unusable)`` when the answer names no candidate; otherwise the
        combined departments with source ``offline+model``, a red-flag emergency first.

    Raises:
        ValueError: An unknown strategy.
    """
    _check(strategy)
    if not result.medical or not result.candidates:
        return result
    cands = result.candidates[:N_CANDIDATES]
    picked = parse_departments(answer, [c.name for c in cands])[:2 if strategy == "replace" else 1] \
        if answer else []
    if not picked:
        return replace(result, source=UNUSABLE)
    by_name = {c.name: c for c in cands}
    top = cands[0].score
    if strategy == "replace":
        chosen = [DepartmentChoice(n, max(by_name[n].score, top * (1.0 - 0.05 * rank)), by_name[n].reason,
                                   by_name[n].red_flag) for rank, n in enumerate(picked)]
    else:
        chosen = _pick1(result, by_name[picked[0]], strategy, keep_ratio)
    if result.departments and result.departments[0].red_flag:  # a red-flag emergency stays first
        flag = result.departments[0]
        chosen = [flag] + [c for c in chosen if c.name != flag.name]
    return replace(result, departments=chosen, source=USED)


async def rerank(result: DepartmentResult, text: str, model: Any, *, timeout: float = 60.0,
                 max_tokens: int = 32, strategy: str = DEFAULT_STRATEGY,
                 keep_ratio: float = KEEP_RATIO) -> DepartmentResult:
    """Ask ``model`` about the offline candidates of ``result`` and combine (fail-safe).

    Args:
        result: The offline router's result for ``text``.
        text: The complaint.
        model: Any medsage model (``generate(messages, config)``).
        timeout: Seconds to wait for the model.
        max_tokens: Answer length cap.
        strategy: How the answer changes the offline set (:data:`STRATEGIES`).
        keep_ratio: See :func:`combine`.

    Returns:
        A result whose ``source`` is ``offline+model`` when the model's choice was used,
        ``offline (model unusable)`` when it was not.

    Raises:
        ValueError: An unknown strategy.
    """
    prompt = prompt_for(result, text, strategy)
    if prompt is None:
        return result
    answer = await ask(model, prompt, timeout=timeout, max_tokens=max_tokens)
    return combine(result, answer, strategy, keep_ratio=keep_ratio)
