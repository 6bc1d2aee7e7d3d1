"""``medsage deid`` — de-identify (or re-identify) clinical text files."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from medsage.errors import DataError


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--mode", type=click.Choice(["pseudonymise", "pseudonymize", "redact"]), default="pseudonymise",
              show_default=True, help="pseudonymise: reversible tokens + date shift (needs --key); redact: irreversible.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False),
              help="Key file (created if missing, mode 0600). It holds the original identifiers: keep it inside the firewall.")
@click.option("--reidentify", is_flag=True, help="Restore pseudonymised FILES with --key.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write results to this folder (default: stdout).")
@click.option("--lang", type=click.Choice(["auto", "en", "zh"]), default="auto", show_default=True)
@click.option("--dates", "date_mode", type=click.Choice(["shift", "redact"]), default="shift", show_default=True,
              help="Shift dates by a consistent offset, or replace them with [DATE].")
@click.option("--entities", "entities_out", is_flag=True,
              help="Also write FILE.entities.json (types and spans, without the original values).")
def deid(files: tuple[str, ...], mode: str, key_path: str | None, reidentify: bool, out_dir: str | None, lang: str,
         date_mode: str, entities_out: bool) -> None:
    """De-identify FILES (or stdin with '-' or no FILES).

    \b
    Detected: names, phone numbers, Chinese resident IDs (checksum validated), medical
    record / inpatient / insurance / SSN numbers, addresses, dates, emails, IPs, URLs.
    \b
    Examples:
      medsage deid note.txt --key ward.key --out deid/        # reversible
      medsage deid note.txt --mode redact                     # irreversible
      medsage deid deid/note.txt --reidentify --key ward.key  # restore inside the firewall
    """  # noqa: D301 - click reads "\b" (backspace) as "do not rewrap"
    from medsage.safety.deid import KeyStore, deidentify
    from medsage.safety.deid import reidentify as reid

    if mode == "pseudonymize":
        mode = "pseudonymise"
    if reidentify and not key_path:
        raise click.UsageError("--reidentify needs --key")
    if mode == "pseudonymise" and not key_path and not reidentify:
        raise click.UsageError("pseudonymise mode needs --key KEYFILE (it is created if missing); "
                               "use --mode redact for irreversible de-identification")
    store = KeyStore.load(key_path, create=not reidentify) if key_path else None
    inputs = list(files) or ["-"]
    out_path = Path(out_dir) if out_dir else None
    if out_path:
        out_path.mkdir(parents=True, exist_ok=True)
    total_entities = 0
    for name in inputs:
        text = _read(name)
        if reidentify:
            assert store is not None
            result = reid(text, store, lang=lang)
        else:
            result = deidentify(text, mode=mode, key=store, lang=lang, date_mode=date_mode)
        total_entities += len(result.entities)
        if out_path is None:
            click.echo(result.text, nl=not result.text.endswith("\n"))
        else:
            stem = "stdin.txt" if name == "-" else Path(name).name
            target = out_path / stem
            target.write_text(result.text, encoding="utf-8")
            if entities_out:
                (out_path / f"{stem}.entities.json").write_text(
                    json.dumps(result.to_dict(include_originals=False)["entities"], ensure_ascii=False, indent=1),
                    encoding="utf-8")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts().items())) or "none"
        click.echo(f"{name}: {'restored' if reidentify else 'replaced'} {len(result.entities)} ({counts})", err=True)
    if store is not None:
        store.save()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _read(name: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {name}: {exc}") from exc
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        text = raw.decode("utf-8", errors="replace")
    sample = text[:50000]
    if b"\x00" in raw[:50000] or (sample and len(_CONTROL.findall(sample)) / len(sample) > 0.02):
        # never echo binary input: it cannot be de-identified reliably
        raise DataError(f"{name} looks like binary data, not text: nothing was de-identified or written")
    return text
