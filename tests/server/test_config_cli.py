"""Config loading (TOML + MEDSAGE_* env), the keys CLI and the serve extra check."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from medsage.errors import MissingExtraError, SpecError
from medsage.server.config import ServerConfig, is_remote, load_config


def test_defaults_bind_loopback_and_cors_off() -> None:
    cfg = load_config(env={})
    assert cfg.host == "127.0.0.1" and cfg.cors_origins == () and cfg.auth is True


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "serve.toml"
    f.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[models]\nbase = ["mock/echo", "local/smollm2"]\n'
                 '[pipelines.rag]\nk = 3\n[kb]\npath = "/kb"\n[audit]\nstore_raw = true\n', encoding="utf-8")
    cfg = load_config(f, env={"MEDSAGE_PORT": "9100", "MEDSAGE_AUTH": "off"}, host="127.0.0.1")
    assert cfg.port == 9100 and cfg.auth is False and cfg.host == "127.0.0.1"
    assert cfg.base_models == ("mock/echo", "local/smollm2") and cfg.store_raw is True
    assert cfg.pipeline_options_for("rag") == {"k": 3, "kb": "/kb"}


@pytest.mark.parametrize("text", ['[server]\nbogus = 1\n', '[server]\nport = "x"\n', "not toml ["])
def test_bad_config_is_a_spec_error(tmp_path: Path, text: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError):
        load_config(f, env={})


def test_remote_detection() -> None:
    assert is_remote("openai/gpt-4o") and not is_remote("local/smollm2") and not is_remote("mock/echo")
    assert ServerConfig().deid_remote is True


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    from medsage.cli import cli

    db = f"sqlite:///{tmp_path / 'k.db'}"
    run = CliRunner().invoke
    r = run(cli, ["keys", "create", "--name", "dr a", "--role", "admin", "--json", "--database", db])
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["key"].startswith("msk_") and made["role"] == "admin"
    r = run(cli, ["keys", "list", "--json", "--database", db])
    listed = json.loads(r.stdout)
    assert listed[0]["key_id"] == made["key_id"] and "hash" not in listed[0]
    assert made["key"] not in r.stdout
    assert run(cli, ["keys", "revoke", made["key_id"], "--database", db]).exit_code == 0
    r = run(cli, ["keys", "revoke", made["key_id"], "--database", db])
    assert r.exit_code == 2 and "no active key" in r.output
    r = run(cli, ["keys", "create", "--name", " ", "--database", db])
    assert r.exit_code == 2


def test_serve_names_the_extra_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from medsage.server import require_serve_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fastapi" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"medsage\[serve\]"):
        require_serve_extra()
