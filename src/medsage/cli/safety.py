"""``medsage safety`` — run the clinical safety checks from the command line.

Exit codes of ``medsage safety check``: 0 = no blocking finding, 1 = at least one
blocking finding (the text must not be used as is), 2 = usage or input error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from medsage.cli.common import deprecated
from medsage.errors import DataError


@click.group()
def safety() -> None:
    """Clinical safety checks: interactions, doses, allergies, pregnancy/renal, triage, policy."""


@safety.command("check")
@click.argument("text", required=False)
@click.option("--file", "-f", "file_", type=click.Path(dir_okay=False), help="Read the text from a file ('-' = stdin).")
@click.option("--patient", "context", type=click.Path(dir_okay=False),
              help="Patient context JSON (age, sex, weight_kg, pregnant, lactating, egfr/crcl, hepatic, allergies, medications).")
@deprecated("--context/-c", "context", "--patient (-c is --concurrency in every verb)", type=click.Path(dir_okay=False))
@click.option("--meds", multiple=True, metavar="TEXT",
              help="A medication (\"warfarin 5 mg daily\"); repeatable, or one comma/semicolon-separated list.")
@click.option("--ddinter", type=click.Path(exists=True), help="Local DDInter CSV file or folder (CC BY-NC-SA, not shipped).")
@click.option("--lang", type=click.Choice(["auto", "en", "zh"]), default="auto", show_default=True,
              help="Language of the messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--no-triage", is_flag=True, help="Skip red-flag triage.")
@click.option("--no-policy", is_flag=True, help="Skip the harmful-request policy.")
def check_cmd(text: str | None, file_: str | None, context: str | None, meds: tuple[str, ...], ddinter: str | None,
              lang: str, as_json: bool, no_triage: bool, no_policy: bool) -> None:
    """Check TEXT (or --file, or stdin) and/or a patient context.

    \b
    Examples:
      medsage safety check "simvastatin 40 mg qhs + clarithromycin 500 mg bid"
      medsage safety check -f note.txt --patient patient.json --json
      echo "华法林 3mg qd，布洛芬 0.3g tid" | medsage safety check
      medsage safety check --meds "warfarin 5 mg daily; ibuprofen 400 mg tid" --patient patient.json

    Exit status: 0 no blocking finding, 1 blocking finding(s), 2 usage/input error.
    """  # noqa: D301 - click reads "\b" (backspace) as "do not rewrap"
    from medsage.cli.common import echo_json
    from medsage.safety import PatientContext, check

    body = _read_text(text, file_)
    ctx = PatientContext.from_json_file(context) if context else None
    med_list: list[str] = []
    for item in meds:
        med_list.extend(p.strip() for p in item.replace("；", ";").replace(";", ",").split(",") if p.strip())
    report = check(body, ctx, lang=lang, meds=med_list, ddinter=ddinter,
                   run_triage=not no_triage, run_policy=not no_policy)
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report)
    sys.exit(1 if report.blocked else 0)


def _read_text(text: str | None, file_: str | None) -> str:
    if text is not None and file_ is not None:
        raise click.UsageError("give the text either as an argument or with --file, not both")
    if file_ is not None:
        if file_ == "-":
            return _decode(sys.stdin.buffer.read())
        try:
            return _decode(Path(file_).read_bytes())
        except OSError as exc:
            raise DataError(f"cannot read {file_}: {exc}") from exc
    if text is not None:
        return text
    if not sys.stdin.isatty():
        return _decode(sys.stdin.buffer.read())
    return ""


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


_COLOURS = {"block": "red", "warn": "yellow", "annotate": "cyan"}


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    click.secho(report.summary(), fg="red" if report.blocked else ("yellow" if report.findings else "green"), bold=True)
    if report.medications:
        meds = []
        for m in report.medications:
            dose = ""
            if m.dose is not None and m.dose.raw:
                dose = f" {m.dose.raw}" + (f" {m.dose.frequency_text}" if m.dose.frequency_text else "")
            meds.append(f"{m.name}{dose}" + (" (negated)" if m.negated else "") + (f" [{m.source}]" if m.source != "text" else ""))
        click.echo(("药物: " if report.lang == "zh" else "Medications: ") + "; ".join(meds))
    if report.urgency:
        click.echo(("分诊: " if report.lang == "zh" else "Triage: ") + report.urgency)
    for f in report.findings:
        where = f" @{f.span[0]}-{f.span[1]}" if f.span else ""
        click.secho(f"[{f.action.upper():8}] {f.severity:8} {f.type}{where}", fg=_COLOURS.get(f.action), nl=False)
        click.echo(f"  {f.message}")
        if f.evidence:
            click.echo(f"             source: {f.evidence}")
    if report.triage is not None and report.triage.guidance:
        click.echo()
        click.secho(report.triage.guidance, fg="red", bold=True)
    if report.policy is not None and report.policy.refused:
        click.echo()
        click.echo(report.policy.response)
