"""Per-process service state: config, store, auth, limits and the model cache."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from medsage.errors import MedsageError
from medsage.models.base import Model
from medsage.server.auth import Authenticator, RateLimiter, SharedRateLimiter
from medsage.server.config import ServerConfig
from medsage.server.errors import APIError
from medsage.server.store import Store

log = logging.getLogger("medsage.server")
PIPELINE_PREFIX = "medsage-"
# pipelines that cannot run without one of these options (a knowledge base, a question bank)
NEEDS = {"rag": ("kb",), "domain": ("kb", "bank")}


class ServiceState:
    """What the routes share inside one process (replicas share only the store).

    Args:
        config: The service configuration.
        store: The key/audit store (opened from ``config.database_url`` if omitted).
    """

    def __init__(self, config: ServerConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store(config.database_url)
        self.auth = Authenticator(self.store)
        # on PostgreSQL (the replicated deployment) rate limits are global, not per process
        self.limiter: RateLimiter | SharedRateLimiter = (
            SharedRateLimiter(self.store, config.rate_per_minute) if self.store.kind == "postgres"
            else RateLimiter(config.rate_per_minute))
        self._models: dict[str, Model] = {}
        self._lock = asyncio.Lock()

    # -- pipelines -------------------------------------------------------------
    def pipeline_factory(self, name: str) -> Any | None:
        """The registered factory for pipeline ``name``, or ``None`` if it is not importable yet."""
        from medsage.registry import pipelines

        if name not in pipelines.names():
            return None
        try:
            return pipelines.get(name)
        except (ImportError, AttributeError, MedsageError) as exc:
            log.debug("pipeline %s unavailable: %s", name, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - a half-written module must not break /v1/models
            log.warning("pipeline %s failed to import: %s", name, exc)
            return None

    def available_pipelines(self) -> list[str]:
        """Configured pipelines whose code exists."""
        return [p for p in self.config.pipelines if self.pipeline_ready(p)]

    def pipeline_ready(self, name: str) -> bool:
        """Whether pipeline ``name`` exists and has what it needs (a KB for ``rag``)."""
        opts = self.config.pipeline_options_for(name)
        have = {k for k in ("kb", "bank") if opts.get(k)} | ({"kb"} if os.environ.get("MEDSAGE_KB") else set())
        if name in NEEDS and not have & set(NEEDS[name]):
            return False
        return self.pipeline_factory(name) is not None

    def model_ids(self) -> list[tuple[str, str]]:
        """``(id, owned_by)`` for every model this service answers to."""
        ids = [(spec, spec.partition("/")[0]) for spec in self.config.base_models]
        ids += [(PIPELINE_PREFIX + p, "medsage") for p in self.available_pipelines()]
        return ids

    # -- models ------------------------------------------------------------------
    def resolve(self, model_id: str) -> tuple[str, str | None]:
        """``(base spec, pipeline name or None)`` for ``model_id``.

        Raises:
            APIError: 404 for unknown ids, 501 for a configured pipeline whose code is missing.
        """
        if model_id in self.config.base_models:
            return model_id, None
        if model_id.startswith(PIPELINE_PREFIX):
            name = model_id[len(PIPELINE_PREFIX):]
            if name in self.config.pipelines:
                if self.pipeline_factory(name) is None:
                    raise APIError(501, f"pipeline '{name}' is not available in this build",
                                   "pipeline_unavailable", "model")
                return self.config.default_model, name
        raise APIError(404, f"the model '{model_id}' does not exist on this server "
                            "(see GET /v1/models)", "model_not_found", "model")

    async def get_model(self, model_id: str) -> Model:
        """The (cached) model or pipeline for ``model_id``."""
        spec, pipeline = self.resolve(model_id)
        async with self._lock:
            cached = self._models.get(model_id)
            if cached is not None:
                return cached
            try:
                model = await self._build(spec, pipeline)
            except MedsageError as exc:
                raise APIError(503, f"model '{model_id}' cannot be loaded: {exc}",
                               "model_unavailable", "model") from exc
            self._models[model_id] = model
            return model

    async def _build(self, spec: str, pipeline: str | None) -> Model:
        from medsage.models import get_model
        from medsage.pipeline import get_pipeline

        base = self._models.get(spec)
        if base is None:
            base = await asyncio.to_thread(get_model, spec, self.config.options_for(spec))
            if spec in self.config.base_models:
                self._models[spec] = base
        if pipeline is None:
            return base
        return await asyncio.to_thread(get_pipeline, pipeline, base,
                                       self.config.pipeline_options_for(pipeline))

    async def aclose(self) -> None:
        """Close models and the store."""
        closed: set[int] = set()
        for model in list(self._models.values()):
            if id(model) not in closed:
                closed.add(id(model))
                try:
                    await model.aclose()
                except Exception:  # noqa: BLE001
                    log.exception("closing %s failed", model.name)
        self._models.clear()
        self.store.close()
