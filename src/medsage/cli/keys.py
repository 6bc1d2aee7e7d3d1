"""``medsage keys``: create, list and revoke API keys for ``medsage serve``."""

from __future__ import annotations

import datetime as dt
import json

import click

from medsage.cli.common import deprecated


def _store(config_path: str | None, database: str | None):  # type: ignore[no-untyped-def]
    from medsage.server.config import load_config
    from medsage.server.store import Store

    return Store(load_config(config_path, database=database).database_url)


_opts = [
    click.option("--config", "config_path", type=click.Path(dir_okay=False),
                 help="TOML config file (default: $MEDSAGE_CONFIG)."),
    deprecated("-c", "config_path", "--config (-c is --concurrency in every verb)", type=click.Path(dir_okay=False)),
    click.option("--database", default=None, help="sqlite:///path or postgresql://…"),
]


def _with_db(f):  # type: ignore[no-untyped-def]
    for opt in reversed(_opts):
        f = opt(f)
    return f


@click.group("keys")
def keys() -> None:
    """Manage API keys (stored scrypt-hashed; the key is shown once at creation)."""


@keys.command("create")
@click.option("--name", required=True, help="Who the key is for (shown in the audit log).")
@click.option("--role", type=click.Choice(["clinician", "admin"]), default="clinician",
              show_default=True)
@click.option("--rate-limit", type=int, default=None,
              help="Requests per minute for this key (default: server setting; 0 = unlimited).")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="The key stops working this many days after creation (default: no expiry).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_with_db
def create(name: str, role: str, rate_limit: int | None, expires_days: float | None, as_json: bool,
           config_path: str | None, database: str | None) -> None:
    """Create a key and print it (it cannot be shown again)."""
    from medsage.server.auth import create_key

    store = _store(config_path, database)
    try:
        key, record = create_key(store, name, role, rate_limit, expires_days=expires_days)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"key": key, **record.public()}))
    else:
        click.echo(key)
        click.echo(f"created key {record.key_id} ({record.role}) for {record.name}; "
                   "store it now — it is not kept", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_with_db
def list_keys(as_json: bool, config_path: str | None, database: str | None) -> None:
    """List keys (ids, names, roles; never the keys)."""
    store = _store(config_path, database)
    try:
        records = store.list_keys()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([r.public() for r in records]))
        return
    for r in records:
        when = dt.datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M")
        status = "revoked" if r.revoked else (
            "expired" if r.expires is not None and r.expires <= dt.datetime.now().timestamp() else "active")
        limit = "default" if r.rate_per_minute is None else f"{r.rate_per_minute}/min"
        click.echo(f"{r.key_id}  {r.role:<9}  {status:<7}  {limit:<8}  {when}  {r.name}")


@keys.command("revoke")
@click.argument("key_id")
@_with_db
def revoke(key_id: str, config_path: str | None, database: str | None) -> None:
    """Revoke KEY_ID (takes effect at once on every replica)."""
    from medsage.errors import SpecError

    store = _store(config_path, database)
    try:
        ok = store.revoke_key(key_id)
    finally:
        store.close()
    if not ok:
        raise SpecError(f"no active key '{key_id}'")
    click.echo(f"revoked {key_id}", err=True)
