"""``medsage serve``: run the OpenAI-compatible API and the clinician workspace."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from medsage.cli.common import DEFAULT_MODEL, deprecated

if TYPE_CHECKING:
    from medsage.server.config import ServerConfig

log = logging.getLogger("medsage.serve")


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config file (default: $MEDSAGE_CONFIG).")
@deprecated("-c", "config_path", "--config (-c is --concurrency in every verb)", type=click.Path(dir_okay=False))
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--model", "-m", "default_model", envvar="MEDSAGE_MODEL", default=None,
              help=f"Model spec the pipelines wrap (env MEDSAGE_MODEL; else the config file's [models] default; "
                   f"else {DEFAULT_MODEL}, as in every verb).")
@click.option("--database", default=None, help="sqlite:///path or postgresql://… for keys + audit.")
@click.option("--kb", "kb_path", default=None, help="Knowledge-base path.")
@click.option("--no-auth", is_flag=True, help="Do not require API keys (single-user local use).")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes (each is an independent replica sharing the database).")
def serve(config_path: str | None, host: str | None, port: int | None, default_model: str | None,
          database: str | None, kb_path: str | None, no_auth: bool, workers: int) -> None:
    """Serve medsage over an OpenAI-compatible API with a web workspace at /ui/.

    Binds to 127.0.0.1 unless --host says otherwise. Outputs are decision
    support for clinicians, not diagnoses.
    """
    from medsage.server import require_serve_extra
    from medsage.server.config import load_config

    require_serve_extra()
    config = load_config(config_path, host=host, port=port, default_model=default_model,
                         database=database, kb_path=kb_path, auth=False if no_auth else None)
    config = with_cli_default_model(config, config_path, default_model)
    if default_model and default_model not in config.base_models:
        config = config.with_overrides(base_models=(default_model, *config.base_models))
    import uvicorn

    from medsage.server.store import Store

    store = Store(config.database_url)
    has_keys = store.count_keys() > 0
    store.close()
    if config.auth and not has_keys:
        click.echo("medsage: no API keys yet — create one with: medsage keys create --name NAME"
                   f" --database {config.database_url}", err=True)
    if config.host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"medsage: listening on {config.host} — reachable from other machines", err=True)
    click.echo(f"medsage: serving on http://{config.host}:{config.port}/ui/  "
               f"(API /v1, docs /docs, audit {config.database_url.split('@')[-1]})", err=True)
    if workers > 1:
        import os

        # each worker rebuilds the app from the same environment
        os.environ.update(_env_for(config))
        if config_path:
            os.environ["MEDSAGE_CONFIG"] = config_path
        uvicorn.run("medsage.server.app_env:app", host=config.host, port=config.port,
                    workers=workers, log_level="warning", factory=False)
        return
    from medsage.server import create_app

    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning",
                timeout_graceful_shutdown=10)


def with_cli_default_model(config: ServerConfig, config_path: str | None, flag: str | None) -> ServerConfig:
    """``config`` with the CLI's model default (``local/smollm2``) where nothing chose one.

    The library default of :class:`ServerConfig` stays ``mock/echo`` (tests, embedding); a
    server started from the command line answers with a real model unless ``--model``,
    ``MEDSAGE_MODEL``/``MEDSAGE_DEFAULT_MODEL`` or the config file's ``[models] default``
    asks for another (``mock/`` only when asked).
    """
    import os
    import tomllib
    from pathlib import Path

    path = config_path or os.environ.get("MEDSAGE_CONFIG")
    models: dict[str, object] = {}
    if path:
        try:
            models = dict(tomllib.loads(Path(path).read_text(encoding="utf-8")).get("models") or {})
        except (OSError, tomllib.TOMLDecodeError):
            models = {}
    if flag or os.environ.get("MEDSAGE_DEFAULT_MODEL") or "default" in models:
        return config
    base = config.base_models if (os.environ.get("MEDSAGE_MODELS") or "base" in models) else ()
    return config.with_overrides(default_model=DEFAULT_MODEL,
                                 base_models=(DEFAULT_MODEL, *[b for b in base if b != DEFAULT_MODEL]))


def _env_for(config: ServerConfig) -> dict[str, str]:
    from medsage.server.config import ENV_KEYS

    out: dict[str, str] = {}
    for name, key in ENV_KEYS.items():
        value = getattr(config, key)
        if key == "database":
            value = config.database_url
        if isinstance(value, tuple):
            value = ",".join(value)
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
