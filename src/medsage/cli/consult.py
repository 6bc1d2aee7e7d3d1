"""``medsage consult CASE_FILE``: a multi-agent consultation on one case, with its trace."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from medsage.cli.common import model_option
from medsage.errors import DataError


def read_case_file(path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Read a case and return ``(text, choices, metadata)``.

    The case is plain text, JSON with ``case``/``question`` (+ ``choices``), or an
    AgentClinic ``OSCE_Examination`` record.

    Raises:
        DataError: unreadable or empty file, or JSON without a case.
    """
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read case file {path}: {exc}") from exc
    stripped = raw.strip()
    if not stripped:
        raise DataError(f"case file {path} is empty: no findings to consult on")
    if stripped[0] not in "[{":
        return stripped, {}, {}
    try:
        obj = json.loads(stripped.splitlines()[0] if path.endswith(".jsonl") else stripped)
    except ValueError as exc:
        raise DataError(f"case file {path} is not valid JSON: {exc}") from exc
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if not isinstance(obj, dict):
        raise DataError(f"case file {path}: expected a JSON object")
    if isinstance(obj.get("OSCE_Examination"), dict):
        osce = obj["OSCE_Examination"]
        return str(osce.get("Objective_for_Doctor", "")), {}, {"osce": osce, "language": "en"}
    text = str(obj.get("case") or obj.get("question") or obj.get("description") or "").strip()
    if not text:
        raise DataError(f"case file {path}: no 'case' or 'question' field with text")
    choices = obj.get("choices") or obj.get("options") or {}
    meta = {"language": obj["language"]} if obj.get("language") else {}
    return text, {str(k): str(v) for k, v in dict(choices).items()}, meta


@click.command()
@click.argument("case_file")
@model_option
@click.option("-M", "--model-option", "model_options", multiple=True, help="Model option key=value.")
@click.option("--mode", type=click.Choice(["panel", "mdt", "route"]), default="mdt", show_default=True)
@click.option("--rounds", type=int, default=None, help="Discussion rounds (default: 1 panel, 2 MDT).")
@click.option("--max-specialists", type=int, default=None)
@click.option("--kb", "kb", default=None, help="Knowledge base directory for specialists' evidence.")
@click.option("--turns", type=int, default=None, help="Turn budget for a simulated-patient (OSCE) case.")
@click.option("-P", "--option", "options", multiple=True, help="Any pipeline option key=value.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result (trace included) as JSON.")
def consult(case_file: str, model: str, model_options: tuple[str, ...], mode: str, rounds: int | None,
            max_specialists: int | None, kb: str | None, turns: int | None, options: tuple[str, ...],
            as_json: bool) -> None:
    """Convene a specialist panel / MDT on CASE_FILE ('-' for stdin) and print the trace and plan.

    Progress (model calls so far, their rate, the elapsed time) goes to stderr.
    Decision support for clinicians — not a diagnosis.
    """
    from medsage.models.base import get_model, parse_options
    from medsage.pipeline import get_pipeline
    from medsage.progress import Progress, count_calls
    from medsage.tasks.agentclinic import TASK as AGENTCLINIC
    from medsage.types import DISCLAIMER, CaseState, GenerateConfig, Message, Sample

    text, choices, meta = read_case_file(case_file)
    opts: dict[str, Any] = parse_options(list(options))
    if mode != "route":
        opts["mode"] = mode
    for key, value in (("rounds", rounds), ("max_specialists", max_specialists), ("kb", kb), ("turns", turns)):
        if value is not None:
            opts[key] = value
    base = get_model(model, parse_options(list(model_options)))
    pipeline = get_pipeline("route" if mode == "route" else "consult", base, opts)
    body = text + ("\n" + "\n".join(f"{k}. {v}" for k, v in choices.items()) if choices else "")
    sample = Sample(id=Path(case_file).stem, question=text, choices=choices, metadata=meta)
    state = CaseState(sample, (Message("user", body),), GenerateConfig(max_tokens=512))

    async def go() -> CaseState:
        try:
            if "osce" in meta:  # an AgentClinic record: its task runs the simulated interview
                return await AGENTCLINIC.solve(state, pipeline)
            return await pipeline.run(state)
        finally:
            await pipeline.aclose()

    with Progress(0, f"consult · {mode}", unit="model calls") as progress:
        count_calls(base, progress)  # the pipeline's agents all call this instance
        result = asyncio.run(go())
    out = result.output
    if as_json:
        click.echo(json.dumps({
            "plan": out.text if out else "", "error": out.error if out else "no output",
            "usage": {"prompt_tokens": out.usage.prompt_tokens, "completion_tokens": out.usage.completion_tokens}
            if out else {}, "latency_s": out.latency_s if out else 0.0,
            "findings": [f.__dict__ for f in result.findings], "trace": list(result.trace),
            "safety": out.extras.get("input_safety") if out else None,
            "summary": (out.extras.get("consult") or out.extras.get("osce") or {}) if out else {},
            "disclaimer": DISCLAIMER}, ensure_ascii=False, indent=2, default=str))
    else:
        for entry in result.trace:
            click.echo(format_entry(entry))
        click.echo("\n=== final plan ===")
        click.echo(out.text if out and out.text else f"(none: {out.error if out else 'no output'})")
        if out:
            click.echo(f"\n[{out.usage.total_tokens} tokens, {out.latency_s:.1f} s]  {DISCLAIMER}")
    if out is None or out.error:
        raise DataError(out.error if out and out.error else "the consultation produced no output")


def format_entry(entry: dict[str, Any]) -> str:
    """One trace entry as a line (or a few) of text."""
    head = f"[round {entry.get('round', '-')}] {entry.get('agent', '?')} ({entry.get('role', '')})"
    usage = entry.get("usage")
    if usage:
        head += f"  {usage.get('prompt_tokens', 0)}+{usage.get('completion_tokens', 0)} tok"
    body = str(entry.get("content") or entry.get("reason") or "")
    if entry.get("answer"):
        body = f"[{entry['answer']}] " + body
    lines = [head, "    " + body.replace("\n", "\n    ")] if body else [head]
    for key in ("error", "notes", "caveats", "dissent", "votes"):
        if entry.get(key):
            lines.append(f"    {key}: {entry[key]}")
    return "\n".join(lines)
