"""Option parsing shared by the CLI verbs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click

from medsage.models.base import parse_options

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_MODEL = "local/smollm2"
model_option = click.option("--model", "-m", "model", envvar="MEDSAGE_MODEL", default=DEFAULT_MODEL,
                            show_default=True, help="Model spec provider/model (env MEDSAGE_MODEL).")


def deprecated(flags: str, dest: str, instead: str, **kw: Any) -> Callable[[F], F]:
    """A hidden old spelling of an option (same ``dest``) that still works, with a warning.

    ``@deprecated("-c", "config_path", "--config")`` keeps ``serve -c FILE`` working while
    ``-c`` means ``--concurrency`` in every verb's help.
    """
    def warn(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value not in (None, (), False):
            click.echo(f"medsage: warning: {flags} is deprecated for `{ctx.command_path}`; use {instead}", err=True)
            ctx.params[dest] = value
        return value

    return click.option(*flags.split("/"), f"deprecated_{dest}", hidden=True, default=None, callback=warn,
                        expose_value=False, **kw)
model_opts_option = click.option("-M", "model_opts", multiple=True, metavar="KEY=VALUE", help="Model option (repeatable).")


def options(pairs: tuple[str, ...], repeatable: bool = False) -> dict[str, Any]:
    """``-M key=value`` pairs to a dict.

    With ``repeatable`` a key given more than once (``-P bank=a -P bank=b``) keeps every
    value, as a list; otherwise the last one wins.
    """
    if not repeatable:
        return parse_options(list(pairs))
    out: dict[str, Any] = {}
    for pair in pairs:
        for key, value in parse_options([pair]).items():
            if key in out:
                prev = out[key]
                out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
            else:
                out[key] = value
    return out


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
    """Print ``obj`` as indented JSON, non-ASCII text kept as is (other objects via ``str``)."""
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A short plain-text view of a run summary."""
    from medsage.progress import fmt_duration

    lines = []
    for name, t in summary.get("tasks", {}).items():
        lines.append(f"{name}: {t['metric']} {t['accuracy']:.3f} (95% CI {t['ci95'][0]:.3f}-{t['ci95'][1]:.3f}, "
                     f"n={t['n']}, unparsed {t['unparsed']}, errors {t['errors']}, skipped {t['skipped']})")
        if t.get("selection"):
            lines.append(f"  {t['selection']}")
        if t.get("chance") is not None:
            lines.append(f"  chance (guessing among each item's options): {t['chance']:.3f}")
        for group in ("language", "tier", "discipline"):
            cells = t.get("by", {}).get(group)
            if cells and len(cells) > 1:
                shown = ", ".join(f"{k} {v['accuracy']:.2f} (n={v['n']})" for k, v in list(cells.items())[:12])
                more = f", … {len(cells) - 12} more" if len(cells) > 12 else ""
                cov = (t.get("coverage") or {}).get(group)
                known = f" [{group} known for {cov['known']} of {cov['of']}]" if cov and cov["known"] < cov["of"] else ""
                lines.append(f"  by {group}: {shown}{more}{known}")
        if t.get("verdicts", {}).get("text"):
            lines.append(f"  {t['verdicts']['text']}")
        lat, queue, tok = t.get("latency_s") or {}, t.get("queue_s") or {}, t.get("tokens") or {}
        if lat.get("p50"):
            lines.append(f"  latency per sample: model p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s; "
                         f"queue p50 {queue.get('p50', 0.0):.2f} s, p95 {queue.get('p95', 0.0):.2f} s")
        if tok.get("prompt") or tok.get("completion"):
            lines.append(f"  tokens: prompt {tok['prompt']:,} ({tok.get('prompt_per_sample', 0)}/sample), "
                         f"completion {tok['completion']:,} ({tok.get('completion_per_sample', 0)}/sample)")
    if summary.get("wall_s") is not None:
        parts = summary.get("parts") or []
        rate = summary.get("samples_per_s")
        head = (f"{summary.get('n')} samples in {fmt_duration(float(summary['wall_s']))}"
                + (f" ({rate:.2f}/s)" if rate else ""))
        if len(parts) > 1:
            head += f" over {len(parts)} parts: " + "; ".join(
                f"part {p['part']} {p['samples']} in {fmt_duration(float(p['wall_s']))} ({p['ended']})" for p in parts)
        lines.append(head)
    return lines
