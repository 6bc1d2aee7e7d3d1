"""FastAPI dependencies: the service state, the caller and their rights."""

from __future__ import annotations

import math
from typing import Annotated

import anyio
from fastapi import Depends, Request

from medsage.server.auth import ANONYMOUS, Principal, Throttled
from medsage.server.errors import APIError
from medsage.server.state import ServiceState
from medsage.server.store import StoreUnavailable


def service(request: Request) -> ServiceState:
    """The process's :class:`ServiceState`."""
    state: ServiceState = request.app.state.medsage
    return state


async def principal(request: Request) -> Principal:
    """Authenticate the bearer key and apply its rate limit.

    Raises:
        APIError: 401 missing/invalid/revoked key, 429 over the rate limit.
    """
    svc = service(request)
    if not svc.config.auth:
        who = ANONYMOUS
    else:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise APIError(401, "missing API key: send 'Authorization: Bearer <key>'",
                           "missing_api_key", headers={"WWW-Authenticate": "Bearer"})
        client = request.client.host if request.client else None
        try:
            # throttled and known-bad keys are answered here, without a worker thread
            found = (await anyio.to_thread.run_sync(svc.auth.verify, key, client)
                     if svc.auth.precheck(key, client) else None)
        except StoreUnavailable as exc:
            raise APIError(503, "the key/audit database is unavailable; retry shortly", "database_unavailable",
                           headers={"Retry-After": "2"}) from exc
        except Throttled as exc:
            raise APIError(429, str(exc), "auth_throttled",
                           headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))}) from exc
        if found is None:
            raise APIError(401, "invalid or revoked API key", "invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        who = found
    request.state.principal = who
    try:
        wait = (await anyio.to_thread.run_sync(svc.limiter.check, who) if getattr(svc.limiter, "shared", False)
                else svc.limiter.check(who))
    except StoreUnavailable as exc:
        raise APIError(503, "the key/audit database is unavailable; retry shortly", "database_unavailable",
                       headers={"Retry-After": "2"}) from exc
    if wait > 0:
        raise APIError(429, f"rate limit exceeded; retry in {wait:.1f}s", "rate_limit_exceeded",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return who


async def admin(request: Request) -> Principal:
    """Like :func:`principal` but requires the ``admin`` role (403 otherwise)."""
    who = await principal(request)
    if who.role != "admin":
        raise APIError(403, "this endpoint needs an admin key", "forbidden")
    return who


Caller = Annotated[Principal, Depends(principal)]
"""A route parameter type: the authenticated, rate-limited caller."""
Admin = Annotated[Principal, Depends(admin)]
"""A route parameter type: an authenticated admin."""
