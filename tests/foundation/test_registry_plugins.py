"""Issue #21, one registry: built-ins and a throw-away plugin package come through the same
entry points (the way llm's plugin tests install a plugin into a temporary path)."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage import registry
from medsage.errors import SpecError
from medsage.models.base import get_model
from medsage.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
REGISTRIES = [registry.providers, registry.tasks, registry.pipelines, registry.kb_adapters,
              registry.kb_backends, registry.data_builders, registry.embedders, registry.commands]

PLUGIN = '''
import click

from medsage.models.mock import MockModel


class ShoutModel(MockModel):
    """A provider from outside medsage."""


@click.command()
def hello() -> None:
    """Say hello from a plugin."""
    click.echo("hello from fakeplug")
'''
ENTRY_POINTS = """\
[medsage.providers]
shout = fakeplug:ShoutModel

[medsage.commands]
hello = fakeplug:hello
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A plugin package with its dist-info on ``sys.path``, as pip would install it."""
    (tmp_path / "fakeplug").mkdir()
    (tmp_path / "fakeplug" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    info = tmp_path / "fakeplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for reg in REGISTRIES:
        reg.refresh()
    yield tmp_path
    monkeypatch.undo()
    sys.modules.pop("fakeplug", None)
    for reg in REGISTRIES:
        reg.refresh()


def test_plugin_provider_comes_through_the_same_entry_points_as_builtins(plugin: Path) -> None:
    shout, mock = registry.providers.entry_point("shout"), registry.providers.entry_point("mock")
    assert shout is not None and mock is not None
    assert (shout.dist.name if shout.dist else None) == "fakeplug"
    assert (mock.dist.name if mock.dist else None) == "medsage"  # a built-in is an entry point too
    assert type(shout) is type(mock)
    model = get_model("shout/echo")
    assert type(model).__name__ == "ShoutModel" and type(model).__module__ == "fakeplug"


def test_plugin_command_is_a_medsage_verb(plugin: Path) -> None:
    from medsage.cli import cli

    assert "hello" in registry.commands.names() and "bench" in registry.commands.names()
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0 and "hello from fakeplug" in result.output


def test_plugin_is_gone_once_uninstalled(plugin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(plugin)])
    registry.providers.refresh()
    with pytest.raises(SpecError, match="unknown provider 'shout'"):
        registry.providers.get("shout")


def test_every_builtin_is_declared_and_installed() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert {r.group for r in REGISTRIES} == set(declared)
    for reg in REGISTRIES:
        for name, value in declared[reg.group].items():
            ep = reg.entry_point(name)
            assert ep is not None, f"{reg.group}:{name} not installed: run pip install -e ."
            assert ep.value == value, f"{reg.group}:{name} is stale: run pip install -e ."
            assert reg.get(name) is not None


def test_runtime_registration_and_unknown_names() -> None:
    reg: Registry[object] = Registry("medsage.test_nothing", "widget")
    with pytest.raises(SpecError, match="unknown widget 'x' .*pip install -e"):
        reg.get("x")
    marker = object()
    reg.register("x", marker)
    reg.register("y", path="medsage.errors:SpecError")
    assert reg.get("x") is marker and reg.get("y") is SpecError and reg.names() == ["x", "y"]
    reg.refresh()
    assert reg.get("y") is SpecError  # run-time registrations survive a refresh
