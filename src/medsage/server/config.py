"""Service configuration: one TOML file plus ``MEDSAGE_*`` environment variables.

Precedence (highest first): explicit overrides (CLI flags) > environment > file > defaults.

Example ``medsage-serve.toml``::

    [server]
    host = "127.0.0.1"        # bind address; anything else must be asked for
    port = 8000
    cors_origins = []         # CORS stays off unless origins are listed
    max_body_bytes = 1000000
    auth = true               # require API keys (medsage keys create …)

    [models]
    default = "mock/echo"     # the base model pipelines wrap
    base = ["mock/echo"]      # base models exposed by their spec
    pipelines = ["rag", "domain", "consult", "safety", "route", "note"]

    [models.options."local/smollm2"]
    n_ctx = 2048

    [pipelines.rag]           # options passed to get_pipeline("rag", …)
    k = 4

    [pipelines.domain]        # evidence from [kb], solved examples from question banks
    bank = ["exams/medqa_mcmle_dev.jsonl"]

    [kb]
    path = "kb/"              # knowledge base index path

    [safety]
    deid_remote = true        # de-identify before any remote (non-local) model

    [audit]
    database = "sqlite:///var/lib/medsage/server.db"   # or postgresql://user@host/db
    store_raw = false         # keep raw request text in the audit log

    [limits]
    rate_per_minute = 120     # per API key, unless the key sets its own
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from medsage.errors import SpecError

DEFAULT_DB = Path.home() / ".medsage" / "server.db"
LOCAL_PROVIDERS = frozenset({"mock", "local", "hf"})


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``medsage serve`` needs, flattened.

    Attributes:
        host: Bind address (default loopback only).
        port: TCP port.
        cors_origins: Allowed CORS origins; empty means CORS middleware is not installed.
        max_body_bytes: Requests with a larger body get 413.
        auth: Whether API keys are required. When off every caller is ``anonymous``
            with the clinician role (for single-user local use only).
        default_model: Base model spec wrapped by ``medsage-<pipeline>`` model ids.
        base_models: Base model specs exposed by their own id.
        pipelines: Pipeline names exposed as ``medsage-<name>`` (when importable).
        model_options: ``spec -> options`` passed to :func:`medsage.models.get_model`.
        pipeline_options: ``pipeline -> options`` passed to :func:`medsage.pipeline.get_pipeline`.
        kb_path: Knowledge-base path for ``/v1/kb/search`` and the rag pipeline.
        deid_remote: De-identify user text before calling a remote model.
        database: ``sqlite:///path`` or ``postgresql://…`` for keys and audit.
        store_raw: Also store the raw request body in the audit log.
        rate_per_minute: Default per-key request budget per minute (0 = unlimited).
        safety_options: Options passed to the safety checker.
        static_dir: Override of the web workspace directory (tests, custom UIs).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    auth: bool = True
    default_model: str = "mock/echo"
    base_models: tuple[str, ...] = ("mock/echo",)
    pipelines: tuple[str, ...] = ("rag", "domain", "consult", "safety", "route", "note")
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipeline_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    kb_path: str = ""
    deid_remote: bool = True
    database: str = ""
    store_raw: bool = False
    rate_per_minute: int = 120
    safety_options: dict[str, Any] = field(default_factory=dict)
    static_dir: str = ""

    @property
    def database_url(self) -> str:
        """The audit/key database URL, defaulting to SQLite under ``~/.medsage``."""
        return self.database or f"sqlite:///{DEFAULT_DB}"

    def options_for(self, spec: str) -> dict[str, Any]:
        """Model options configured for ``spec`` (a copy)."""
        return dict(self.model_options.get(spec, {}))

    def pipeline_options_for(self, name: str) -> dict[str, Any]:
        """Pipeline options for ``name``, with the KB path filled in for ``rag``."""
        opts = dict(self.pipeline_options.get(name, {}))
        if self.kb_path:
            opts.setdefault("kb", self.kb_path)
        return opts

    def with_overrides(self, **changes: Any) -> ServerConfig:
        """Return a copy with the non-``None`` ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


# TOML "section.key" -> ServerConfig field
_FILE_KEYS: dict[str, str] = {
    "server.host": "host",
    "server.port": "port",
    "server.cors_origins": "cors_origins",
    "server.max_body_bytes": "max_body_bytes",
    "server.auth": "auth",
    "server.static_dir": "static_dir",
    "models.default": "default_model",
    "models.base": "base_models",
    "models.pipelines": "pipelines",
    "models.options": "model_options",
    "pipelines": "pipeline_options",
    "kb.path": "kb_path",
    "safety.deid_remote": "deid_remote",
    "safety.options": "safety_options",
    "audit.database": "database",
    "audit.store_raw": "store_raw",
    "limits.rate_per_minute": "rate_per_minute",
}

# env var -> ServerConfig field
ENV_KEYS: dict[str, str] = {
    "MEDSAGE_HOST": "host",
    "MEDSAGE_PORT": "port",
    "MEDSAGE_CORS_ORIGINS": "cors_origins",
    "MEDSAGE_MAX_BODY_BYTES": "max_body_bytes",
    "MEDSAGE_AUTH": "auth",
    "MEDSAGE_DEFAULT_MODEL": "default_model",
    "MEDSAGE_MODELS": "base_models",
    "MEDSAGE_PIPELINES": "pipelines",
    "MEDSAGE_KB_PATH": "kb_path",
    "MEDSAGE_DEID_REMOTE": "deid_remote",
    "MEDSAGE_DATABASE_URL": "database",
    "MEDSAGE_AUDIT_RAW": "store_raw",
    "MEDSAGE_RATE_PER_MINUTE": "rate_per_minute",
}


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ServerConfig:
    """Build a :class:`ServerConfig` from a TOML file, the environment and overrides.

    Args:
        path: TOML file; defaults to ``$MEDSAGE_CONFIG`` when set, else none.
        env: Environment mapping (defaults to ``os.environ``).
        **overrides: Field values that win over everything (``None`` is ignored).

    Raises:
        SpecError: unreadable file, unknown key or a value of the wrong type.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = path or env.get("MEDSAGE_CONFIG") or None
    if path:
        values.update(_from_file(Path(path)))
    for name, key in ENV_KEYS.items():
        if env.get(name):
            values[key] = env[name]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build(values)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read server config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"server config {path} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for section, table in data.items():
        if section == "pipelines":
            out["pipeline_options"] = table
            continue
        if not isinstance(table, dict):
            raise SpecError(f"server config {path}: '{section}' must be a [table]")
        for key, value in table.items():
            target = _FILE_KEYS.get(f"{section}.{key}")
            if target is None:
                raise SpecError(f"server config {path}: unknown key '{section}.{key}'")
            out[target] = value
    return out


def _build(values: dict[str, Any]) -> ServerConfig:
    types = {f.name: f.type for f in fields(ServerConfig)}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        kind = str(types.get(key, ""))
        try:
            clean[key] = _convert(kind, value)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"server config: bad value for {key}: {value!r} ({exc})") from exc
    return ServerConfig(**clean)


def _convert(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected a boolean")
    if kind == "int":
        if isinstance(value, bool):
            raise TypeError("expected an integer")
        return int(value)
    if kind.startswith("tuple"):
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)
        raise TypeError("expected a list")
    if kind.startswith("dict"):
        if not isinstance(value, dict):
            raise TypeError("expected a table")
        return value
    if isinstance(value, dict | list):
        raise TypeError("expected a string")
    return str(value)


def is_remote(spec: str) -> bool:
    """Whether a model spec sends text off this machine (any provider but mock/local/hf)."""
    provider = spec.partition("/")[0]
    return provider not in LOCAL_PROVIDERS
