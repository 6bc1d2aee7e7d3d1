"""Every benchmark script shares ``benchmarks/_common.py``: flags, provenance, percentile."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.rglob("*.py") if p.name != "_common.py")
# Not benchmarks: modules imported by sibling scripts, stub servers that benchmarks start, and
# table.py, which only prints README tables from result files.
LIBRARIES = {"server/common.py", "consult/cmb_clin_task.py", "foundation/stub_server.py",
             "rubric/stub_grader.py", "foundation/table.py"}
WRITERS = {"provenance", "write_json", "write_jsonl"}


def _names(tree: ast.AST) -> set[str]:
    """Names imported from ``_common`` and every name used."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    imported = {a.asname or a.name for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module == "_common" for a in n.names}
    return imported | {f"used:{u}" for u in used}


def _writes_files(tree: ast.AST) -> bool:
    """Whether the script writes a file (``write_text``, ``open(..., "w")``, ``json.dump``)."""
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in {"write_text", "dump"}:
            return True
        if isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) == "open":
            modes = [a.value for a in n.args[1:2] if isinstance(a, ast.Constant)]
            if any(isinstance(m, str) and "w" in m for m in modes):
                return True
    return False


def test_there_are_benchmark_scripts() -> None:
    assert len(SCRIPTS) >= 40


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(BENCH)))
def test_script_uses_common(path: Path) -> None:
    rel = str(path.relative_to(BENCH))
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, rel)
    names = _names(tree)
    if rel in LIBRARIES:
        return
    assert "common_flags" in names and "used:common_flags" in names, f"{rel}: parse flags with _common.common_flags"
    if _writes_files(tree) or "write_json" in names:
        assert names & WRITERS, f"{rel}: writes files without _common.provenance()/write_json"
        assert {f"used:{w}" for w in WRITERS} & names, f"{rel}: imports but never records provenance"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(BENCH)))
def test_no_private_percentile_or_machine_name(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not defs & {"percentile", "_percentile", "pct", "_pct", "quantile"}, \
        "use medsage.scoring.stats.percentile (re-exported by _common)"
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in {"percentile", "quantile"}:
            assert getattr(n.value, "id", "") not in {"np", "numpy"}, "use _common.percentile"
        if isinstance(n, ast.Dict):
            for k, v in zip(n.keys, n.values, strict=True):
                if isinstance(k, ast.Constant) and k.value == "machine":
                    assert not isinstance(v, ast.Constant), "hard-coded machine; use provenance()"
