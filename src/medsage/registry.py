"""Plugin registries for providers, tasks and pipelines.

Built-ins register exactly like third-party plugins: through the
``medsage.providers``, ``medsage.tasks`` and ``medsage.pipelines`` entry-point
groups (see ``pyproject.toml``), or at run time with :meth:`Registry.register`.
Entries are loaded lazily, so a heavy provider is only imported when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from medsage.errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object registry backed by an entry-point group.

    Args:
        group: The entry-point group name, e.g. ``medsage.providers``.
        kind: A word for messages, e.g. ``provider``.
        builtins: ``name -> "module:attr"`` for built-ins, used when the package's
            entry points are not installed (running from a source tree).
    """

    def __init__(self, group: str, kind: str, builtins: dict[str, str] | None = None) -> None:
        self.group = group
        self.kind = kind
        self._paths: dict[str, str] = dict(builtins or {})
        self._loaded: dict[str, T] = {}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for ep in entry_points(group=self.group):
            self._paths.setdefault(ep.name, ep.value)

    def register(self, name: str, obj: T | None = None, *, path: str | None = None) -> Any:
        """Register ``obj`` (or a lazy ``"module:attr"`` path) under ``name``.

        Usable as a decorator: ``@registry.register("name")``.
        """
        if path is not None:
            self._paths[name] = path
            self._loaded.pop(name, None)
            return None
        if obj is None:

            def deco(o: T) -> T:
                self._loaded[name] = o
                return o

            return deco
        self._loaded[name] = obj
        return obj

    def names(self) -> list[str]:
        self._scan()
        return sorted(set(self._paths) | set(self._loaded))

    def get(self, name: str) -> T:
        """Return the entry for ``name``, importing it on first use."""
        if name in self._loaded:
            return self._loaded[name]
        self._scan()
        path = self._paths.get(name)
        if path is None:
            known = ", ".join(self.names()) or "none"
            raise SpecError(f"unknown {self.kind} '{name}' (known: {known})")
        module, _, attr = path.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            if part:
                obj = getattr(obj, part)
        self._loaded[name] = obj
        return obj  # type: ignore[no-any-return]


providers: Registry[Callable[..., Any]] = Registry(
    "medsage.providers",
    "provider",
    {
        "mock": "medsage.models.mock:MockModel",
        "openai": "medsage.models.openai_api:OpenAIModel",
        "local": "medsage.models.local:LocalModel",
        "hf": "medsage.models.hf:HFModel",
    },
)
_EXAMS = "medsage.tasks.exams"
tasks: Registry[Any] = Registry(
    "medsage.tasks",
    "task",
    {
        "exam-sample": f"{_EXAMS}.sample:TASK",
        "medqa_us": f"{_EXAMS}.medqa:MEDQA_US",
        "medqa_mcmle": f"{_EXAMS}.medqa:MEDQA_MCMLE",
        "medqa_mainland_published": f"{_EXAMS}.published:TASK",
        "medmcqa": f"{_EXAMS}.medmcqa:TASK",
        "pubmedqa": f"{_EXAMS}.pubmedqa:TASK",
        "mmlu_medical": f"{_EXAMS}.mmlu:TASK",
        "cmmlu_medical": f"{_EXAMS}.cmmlu:TASK",
        "cmexam": f"{_EXAMS}.cmexam:TASK",
        "cmb_exam": f"{_EXAMS}.cmb:TASK",
        "cnmleqa": f"{_EXAMS}.cnmleqa:TASK",
        "healthbench": "medsage.tasks.healthbench:TASK",
        "dual_track": "medsage.tasks.dual_track:TASK",
        "notes_aci": "medsage.tasks.notes:NOTES_ACI",
        "notes_mts": "medsage.tasks.notes:NOTES_MTS",
        "notes_primock57": "medsage.tasks.notes:NOTES_PRIMOCK57",
        "mie_zh": "medsage.tasks.notes:MIE_ZH",
        "agentclinic": "medsage.tasks.agentclinic:TASK",
        "department_triage": "medsage.tasks.department_triage:TASK",
    },
)
pipelines: Registry[Callable[..., Any]] = Registry(
    "medsage.pipelines",
    "pipeline",
    {
        "rag": "medsage.clinic.rag:RagPipeline",
        "domain": "medsage.clinic.domain:DomainPipeline",
        "consult": "medsage.clinic.consult:ConsultPipeline",
        "route": "medsage.clinic.route:RoutePipeline",
        "safety": "medsage.clinic.safe:SafetyPipeline",
        "note": "medsage.clinic.note:NotePipeline",
    },
)
