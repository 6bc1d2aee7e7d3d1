"""Option parsing shared by the CLI verbs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from medsage.models.base import parse_options

T = TypeVar("T")

model_option = click.option("--model", "-m", "model", envvar="MEDSAGE_MODEL", default="local/smollm2",
                            show_default=True, help="Model spec provider/model (env MEDSAGE_MODEL).")
model_opts_option = click.option("-M", "model_opts", multiple=True, metavar="KEY=VALUE", help="Model option (repeatable).")


def options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``-M key=value`` pairs to a dict."""
    return parse_options(list(pairs))


def data_map(values: tuple[str, ...]) -> dict[str, str]:
    """``--data PATH`` (all tasks) or ``--data task=PATH`` (one task)."""
    out: dict[str, str] = {}
    for v in values:
        key, sep, path = v.partition("=")
        if sep and key and "/" not in key and "\\" not in key:
            out[key] = path
        else:
            out[""] = v
    return out


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a synchronous CLI command."""
    return asyncio.run(coro)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A short plain-text view of a run summary."""
    lines = []
    for name, t in summary.get("tasks", {}).items():
        lines.append(f"{name}: {t['metric']} {t['accuracy']:.3f} (95% CI {t['ci95'][0]:.3f}-{t['ci95'][1]:.3f}, "
                     f"n={t['n']}, unparsed {t['unparsed']}, errors {t['errors']}, skipped {t['skipped']})")
        for group in ("language", "tier", "discipline"):
            cells = t.get("by", {}).get(group)
            if cells and len(cells) > 1:
                shown = ", ".join(f"{k} {v['accuracy']:.2f} (n={v['n']})" for k, v in list(cells.items())[:12])
                more = f", … {len(cells) - 12} more" if len(cells) > 12 else ""
                lines.append(f"  by {group}: {shown}{more}")
        if t.get("verdicts", {}).get("text"):
            lines.append(f"  {t['verdicts']['text']}")
    return lines
