"""Issue #23, one vocabulary: every verb's flags mean the same thing, and --model has one default."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from medsage.cli import cli
from medsage.cli.common import DEFAULT_MODEL
from medsage.registry import commands as COMMANDS

# destination names that say the same thing in different verbs (reviewed by hand)
SAME_MEANING = {
    "model_spec": "model", "default_model": "model", "model_options": "model_opts",
    "kb_dir": "kb", "kb_path": "kb", "out_dir": "out", "file_": "file", "languages": "lang",
    "kinds": "sources", "data_path": "data", "options": "pipeline_opts", "config_path": "config",
}


def walk() -> Iterator[tuple[str, click.Command]]:
    """(command path, command) of every verb and sub-command."""
    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        stack = [(name, cmd)]
        while stack:
            path, c = stack.pop()
            yield path, c
            if isinstance(c, click.Group):
                stack += [(f"{path} {sub}", c.commands[sub]) for sub in c.commands]


def flag_meanings() -> dict[str, dict[str, set[str]]]:
    """flag -> meaning -> verbs using the flag with that meaning (hidden deprecated aliases left out)."""
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path, cmd in walk():
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden or p.name is None:
                continue
            meaning = SAME_MEANING.get(p.name, p.name)
            for flag in [*p.opts, *p.secondary_opts]:
                out[flag][meaning].add(path)
    return out


def test_no_flag_has_two_meanings() -> None:
    conflicts = {flag: {m: sorted(v) for m, v in meanings.items()}
                 for flag, meanings in flag_meanings().items() if len(meanings) > 1}
    assert not conflicts, f"flags whose meaning differs between verbs: {conflicts}"


def test_one_short_flag_per_meaning() -> None:
    shorts: dict[str, set[str]] = defaultdict(set)
    for flag, meanings in flag_meanings().items():
        if len(flag) == 2:
            for meaning in meanings:
                shorts[meaning].add(flag)
    assert {m: s for m, s in shorts.items() if len(s) > 1} == {}
    assert flag_meanings()["-c"].keys() == {"concurrency"}


def test_every_help_page_renders() -> None:
    runner = CliRunner()
    for path, _ in walk():
        r = runner.invoke(cli, [*path.split(), "--help"])
        assert r.exit_code == 0, (path, r.output)


OPTIONAL_MODEL = {"route department"}


def test_model_default_is_the_same_for_every_verb_that_calls_a_model() -> None:
    verbs = {}
    for path, cmd in walk():
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden and "--model" in p.opts:
                verbs[path] = p
    assert {"bench", "ask", "consult", "note", "serve"} <= set(verbs)
    for path, p in verbs.items():
        if path in OPTIONAL_MODEL:  # works offline without a model; --model only adds a reranker
            assert "-m" in p.opts and p.default is None and not p.envvar, path
            continue
        assert p.envvar == "MEDSAGE_MODEL" and "-m" in p.opts, path
        assert p.default == (None if path == "serve" else DEFAULT_MODEL), path  # serve: see below


def test_serve_defaults_to_the_same_model_and_mock_only_when_asked(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from medsage.cli.serve import with_cli_default_model
    from medsage.server.config import load_config

    for var in ("MEDSAGE_DEFAULT_MODEL", "MEDSAGE_MODELS", "MEDSAGE_CONFIG", "MEDSAGE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    cfg = with_cli_default_model(load_config(None), None, None)
    assert cfg.default_model == DEFAULT_MODEL and cfg.base_models == (DEFAULT_MODEL,)
    toml = tmp_path / "s.toml"
    toml.write_text('[models]\ndefault = "mock/echo"\n', encoding="utf-8")
    cfg = with_cli_default_model(load_config(str(toml)), str(toml), None)
    assert cfg.default_model == "mock/echo"
    cfg = with_cli_default_model(load_config(None, default_model="mock/fixed"), None, "mock/fixed")
    assert cfg.default_model == "mock/fixed"


@pytest.mark.parametrize(("old", "new"), [(["-c"], ["--patient"]), (["--context"], ["--patient"])])
def test_old_spellings_still_work_with_a_warning(tmp_path, old: list[str], new: list[str]) -> None:  # type: ignore[no-untyped-def]
    ctx = tmp_path / "p.json"
    ctx.write_text('{"age": 70, "egfr": 25}', encoding="utf-8")
    runner = CliRunner()
    a = runner.invoke(cli, ["safety", "check", *new, str(ctx), "metformin 500 mg bid", "--json"])
    b = runner.invoke(cli, ["safety", "check", *old, str(ctx), "metformin 500 mg bid", "--json"])
    assert a.exit_code == b.exit_code and '"renal"' in b.stdout and "deprecated" in b.stderr
    assert "deprecated" not in a.stderr
