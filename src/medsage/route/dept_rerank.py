"""LLM in the loop for department triage: rerank the offline router's candidates.

The offline router (:class:`~medsage.route.department.DepartmentRouter`) proposes its top
candidates; the model sees the complaint and those candidates only (never the whole
list, so a small model cannot invent a department) and answers with one or two names.
Fail-safe: an unusable answer (error, timeout, no candidate name) keeps the offline
ranking; a red-flag emergency stays first whatever the model says; a query the router
found non-medical is not sent to the model.
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
_PROMPT_ZH = ("你是医院导诊护士。患者描述：{patient}\n\n候选科室：{candidates}\n\n"
              "请从候选科室中选出最应该挂的一个科室；如果确实需要两个科室，写两个，最合适的在前。"
              "只输出科室名称，用“|”分隔，不要解释。\n科室：")
_PROMPT_EN = ("You are a hospital triage nurse. Patient: {patient}\n\nCandidate departments: {candidates}\n\n"
              "Pick the one department the patient should attend; name two only if both are truly "
              "needed, best first. Answer with the names only, separated by '|', no explanation.\n"
              "Departments:")


async def rerank(result: DepartmentResult, text: str, model: Any, *, timeout: float = 60.0,
                 max_tokens: int = 32) -> DepartmentResult:
    """Let ``model`` pick among the offline candidates of ``result`` (fail-safe).

    Args:
        result: The offline router's result for ``text``.
        text: The complaint.
        model: Any medsage model (``generate(messages, config)``).
        timeout: Seconds to wait for the model.
        max_tokens: Answer length cap.

    Returns:
        A result whose ``source`` is ``offline+model`` when the model's choice was used,
        ``offline (model unusable)`` when it was not.
    """
    if not result.medical or not result.candidates:
        return result
    cands = result.candidates[:N_CANDIDATES]
    names = [c.name for c in cands]
    sep = "、" if result.lang == "zh" else ", "
    prompt = (_PROMPT_ZH if result.lang == "zh" else _PROMPT_EN).format(
        patient=text[:2000], candidates=sep.join(names))
    try:
        out = await asyncio.wait_for(
            model.generate([Message("user", prompt)], GenerateConfig(max_tokens=max_tokens, temperature=0.0)),
            timeout)
        picked = [] if out.error else parse_departments(out.text or "", names)[:2]
    except Exception as exc:  # noqa: BLE001 - a failing model must not break routing
        log.warning("department rerank failed: %s", exc)
        picked = []
    if not picked:
        return replace(result, source="offline (model unusable)")
    by_name = {c.name: c for c in cands}
    chosen: list[DepartmentChoice] = []
    if result.departments and result.departments[0].red_flag:
        chosen.append(result.departments[0])  # a red-flag emergency stays first
    top = cands[0].score
    for rank, name in enumerate(picked):
        if name not in [c.name for c in chosen]:
            c = by_name[name]
            chosen.append(DepartmentChoice(c.name, max(c.score, top * (1.0 - 0.05 * rank)), c.reason))
    return replace(result, departments=chosen, source="offline+model")
