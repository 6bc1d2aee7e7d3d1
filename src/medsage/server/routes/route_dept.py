"""``POST /v1/route/department``: which of a hospital's departments a complaint belongs to (导诊).

Offline by default (:mod:`medsage.route.department`); with ``model`` the offline
candidates are reranked by that model (:mod:`medsage.route.dept_rerank`). The request
body may carry the hospital's own department list (``departments``, names as strings);
without it the built-in bilingual list is used.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from medsage.errors import DataError
from medsage.server.deps import Caller, service
from medsage.server.errors import APIError
from medsage.types import DISCLAIMER

router = APIRouter(prefix="/v1", tags=["route"])


class DepartmentRequest(BaseModel):
    """The complaint, optionally the hospital's department list and a reranking model."""

    text: str = Field(max_length=4000)
    departments: list[str] | None = Field(default=None, max_length=500)
    lang: Literal["auto", "zh", "en"] = "auto"
    top: int = Field(default=3, ge=1, le=10)
    model: str | None = Field(default=None, max_length=200)


@router.post("/route/department")
async def route_department(body: DepartmentRequest, request: Request, _: Caller) -> dict[str, Any]:
    """Ranked departments (name, score, reason), urgency and whether the text is medical."""
    from medsage.route.department import default_router
    from medsage.route.deptlist import build_list

    if not body.text.strip():
        raise APIError(400, "empty complaint: give the patient's symptoms or question", "empty_input", "text")
    router_ = default_router()
    try:
        dl = None if body.departments is None else await asyncio.to_thread(
            build_list, [n.strip() for n in body.departments], "request", router_.embed)
        result = await asyncio.to_thread(router_.route, body.text, dl, body.lang, body.top)
    except DataError as exc:
        raise APIError(400, str(exc), "invalid_departments" if body.departments is not None
                       else "invalid_input", "departments") from exc
    if body.model:
        from medsage.route.dept_rerank import rerank

        request.state.model = body.model
        model = await service(request).get_model(body.model)
        result = await rerank(result, body.text, model)
    return {**result.to_dict(), "disclaimer": DISCLAIMER}
