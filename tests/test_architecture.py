"""Issue #21, architecture: the medsage import graph has no cycle, imports by name happen only
in the registry, and lower layers never import higher ones.

The graph is built from the source with :mod:`ast`, so it counts every import: module level,
inside functions, and under ``TYPE_CHECKING`` (a type-only cycle is still a design cycle).
Two graphs are checked: modules (no two modules need each other) and top-level packages
folded from it (no package cycle, and every import goes to the package's own layer or a lower
one, as listed in ARCHITECTURE.md and :data:`LAYERS`).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
STRING_IMPORTS = {"import_module", "__import__"}  # never outside the registry
CORE = {"medsage.types": set(), "medsage.errors": set(), "medsage.registry": {"medsage.errors"}}


def modules(src: Path = SRC) -> dict[str, tuple[Path, bool]]:
    """``dotted name -> (path, is_package)`` of every medsage module under ``src``."""
    out = {}
    for path in sorted((src / "medsage").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _owner(name: str, known: dict[str, tuple[Path, bool]]) -> str | None:
    """The longest known module that ``name`` is or lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """``module -> medsage modules it imports`` (``from pkg import sub`` counts ``pkg.sub``)."""
    known = modules(src)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in known.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {_owner(a.name, known) for a in node.names if a.name.startswith("medsage")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name if is_pkg else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                if base.split(".")[0] == "medsage":
                    targets |= {_owner(f"{base}.{a.name}", known) for a in node.names}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def string_imports(src: Path = SRC) -> list[str]:
    """``module:line call`` of every import by name outside the registry.

    ``importlib.import_module`` and ``__import__`` are not allowed at all; ``find_spec`` only
    for third-party packages (an optional extra), never for ``medsage.*``.
    """
    found = []
    for name, (path, _) in modules(src).items():
        if name == "medsage.registry":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            medsage_name = (isinstance(first, ast.Constant) and isinstance(first.value, str)
                            and first.value.split(".")[0] == "medsage")
            if called in STRING_IMPORTS or (called == "find_spec" and medsage_name):
                found.append(f"{name}:{node.lineno} {called}")
    return found


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def forbidden(module: str, target: str) -> bool:
    """Whether ``module`` may not import ``target``.

    Nothing imports the CLI but ``__main__``; only the CLI imports the server (and so no
    lower layer imports either); the core modules import only each other.
    """
    pkg, tpkg = _package(module), _package(target)
    if tpkg == "medsage.cli":
        return pkg not in ("medsage.cli", "medsage.__main__")
    if tpkg == "medsage.server":
        return pkg not in ("medsage.server", "medsage.cli")
    return module in CORE and target not in CORE[module]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a lower layer into a higher one, and core modules importing beyond the core."""
    return sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets if forbidden(m, t))


def test_the_graph_sees_function_level_and_type_only_imports() -> None:
    graph = import_graph()
    assert "medsage.registry" in graph["medsage.models.base"]  # imported inside get_model()
    assert "medsage.kb.milvus_build" in graph["medsage.kb.build"]  # imported inside build()
    assert len(graph) > 150


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_string_import_of_medsage_outside_the_registry() -> None:
    assert string_imports() == []


def test_lower_layers_never_import_higher_ones() -> None:
    graph = import_graph()
    for lower in ("medsage.types", "medsage.errors", "medsage.registry", "medsage.models.base",
                  "medsage.scoring.extract", "medsage.tasks.base", "medsage.runner"):
        assert forbidden(lower, "medsage.server.app") and forbidden(lower, "medsage.cli.bench")
    assert forbidden("medsage.registry", "medsage.models.base") and not forbidden("medsage.cli.serve", "medsage.server")
    assert layer_violations(graph) == []


# The layers of ARCHITECTURE.md, lowest first: a package may import its own layer (without a
# package-level cycle) and the layers below it, never a higher one.
LAYERS: list[set[str]] = [
    {"medsage", "medsage.types", "medsage.errors", "medsage.registry"},
    {"medsage.lang", "medsage.progress", "medsage.resume", "medsage.scoring", "medsage.models",
     "medsage.cache", "medsage.embed", "medsage.e5torch"},
    {"medsage.safety", "medsage.rubric", "medsage.kb", "medsage.notes", "medsage.route"},
    {"medsage.tasks", "medsage.pipeline"},
    {"medsage.report", "medsage.runner"},
    {"medsage.train"},
    {"medsage.pipelines"},
    {"medsage.server", "medsage.cli", "medsage.__main__"},
]


def layer_of(package: str) -> int:
    """Index of ``package`` in :data:`LAYERS` (a package missing from the table fails the test)."""
    for i, members in enumerate(LAYERS):
        if package in members:
            return i
    raise KeyError(package)


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto top-level packages (``medsage.kb``, ``medsage.runner`` …)."""
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        out.setdefault(_package(module), set()).update(_package(t) for t in targets if _package(t) != _package(module))
    return out


def test_every_package_has_a_layer() -> None:
    missing = []
    for package in package_graph(import_graph()):
        try:
            layer_of(package)
        except KeyError:
            missing.append(package)
    assert missing == []


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph(import_graph())) == []


def test_packages_import_only_their_layer_and_below() -> None:
    upward = sorted(f"{p} -> {t}" for p, targets in package_graph(import_graph()).items()
                    for t in targets if layer_of(t) > layer_of(p))
    assert upward == []


def test_layer_check_catches_an_upward_import() -> None:
    fake = {"medsage.kb.search": {"medsage.runner"}, "medsage.runner": {"medsage.kb.search"}}
    graph = package_graph(fake)
    assert cycles(graph) == [["medsage.kb", "medsage.runner"]]
    assert [t for t in graph["medsage.kb"] if layer_of(t) > layer_of("medsage.kb")] == ["medsage.runner"]
