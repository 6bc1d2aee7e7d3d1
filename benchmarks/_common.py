"""Shared benchmark helpers: common flags, the provenance block of every result file, one percentile.

Every script under ``benchmarks/`` imports this module (``tests/foundation/test_benchmarks_common.py``
checks it) the same way::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _common import common_flags, provenance, write_json  # noqa: E402
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsage.scoring.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("data_root", "model", "limit", "seed", "out", "threads")
__all__ = ["FLAGS", "ROOT", "common_flags", "deprecated_alias", "percentile", "provenance", "write_json",
           "write_jsonl"]


def common_flags(ap: argparse.ArgumentParser, *names: str, **defaults: Any) -> argparse.ArgumentParser:
    """Add the flags every benchmark script shares, spelt and meaning the same everywhere.

    Args:
        ap: The script's parser.
        *names: Which of :data:`FLAGS` the script takes (``"data_root"``, ``"model"``, ``"limit"``,
            ``"seed"``, ``"out"``, ``"threads"``); all of them when none is named.
        **defaults: The script's own default for any of them (``out="benchmarks/x/results.json"``).

    Returns:
        The same parser.

    Raises:
        ValueError: A name or default that is not one of :data:`FLAGS`.
    """
    unknown = sorted({*names, *defaults} - set(FLAGS))
    if unknown:
        raise ValueError(f"not a shared benchmark flag: {', '.join(unknown)} (shared: {', '.join(FLAGS)})")
    chosen = names or FLAGS
    if "data_root" in chosen:
        ap.add_argument("--data-root", default=os.environ.get("MEDSAGE_DATA_DIR", "../shared/data"),
                        help="folder holding exams/, knowledge/, notes/, safety/ "
                             "(default $MEDSAGE_DATA_DIR or ../shared/data)")
    if "model" in chosen:
        ap.add_argument("--model", default=os.environ.get("MEDSAGE_MODEL", "local/smollm2"), help="model spec")
    if "limit" in chosen:
        ap.add_argument("--limit", type=int, default=None, help="items per task (default: all)")
    if "seed" in chosen:
        ap.add_argument("--seed", type=int, default=0, help="random seed")
    if "out" in chosen:
        ap.add_argument("--out", default=None, help="result folder or file")
    if "threads" in chosen:
        ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (-M threads=N)")
    if defaults:
        ap.set_defaults(**defaults)
    return ap


class _Deprecated(argparse.Action):
    """Store like the new flag, and warn that the old spelling is going away."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str = "", **kw: Any) -> None:
        super().__init__(option_strings, dest, **kw)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        sys.stderr.write(f"warning: {option_string} is deprecated; use {self.new}\n")
        setattr(namespace, self.dest, values)


def deprecated_alias(ap: argparse.ArgumentParser, old: str, new: str, **kw: Any) -> None:
    """Accept ``old`` (hidden from ``--help``) as a spelling of the already added flag ``new``.

    Args:
        ap: The script's parser.
        old: The old option string, such as ``"--n-medqa"``.
        new: The current option string, such as ``"--medqa-n"``.
        **kw: ``type`` or ``nargs`` of the current flag.
    """
    dest = new.lstrip("-").replace("-", "_")
    ap.add_argument(old, dest=dest, action=_Deprecated, new=new, default=argparse.SUPPRESS,
                    help=argparse.SUPPRESS, **kw)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict[str, Any]:
    """Command line, commit, machine, date and load, for every result file."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", False
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": commit + ("+dirty" if dirty else ""),
        "machine": f"{_cpu()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def write_json(path: str | Path, result: dict[str, Any], **dump: Any) -> Path:
    """Write ``result`` as JSON with :func:`provenance` as its first key; returns the path.

    Args:
        path: The result file (its folder is created).
        result: The result; a ``provenance`` key already in it is replaced.
        **dump: Keyword arguments of :func:`json.dumps` (default ``indent=1, ensure_ascii=False``).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {"provenance": provenance(), **{k: v for k, v in result.items() if k != "provenance"}}
    opts: dict[str, Any] = {"indent": 1, "ensure_ascii": False, **dump}
    out.write_text(json.dumps(body, **opts) + "\n", encoding="utf-8")
    return out


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> Path:
    """Write ``rows`` as JSON lines, and the provenance beside them in ``<path>.provenance.json``.

    Generated data files keep one record per line for their readers, so the command, commit and
    machine that made them go into the sidecar file.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    sidecar = out.with_name(out.name + ".provenance.json")
    sidecar.write_text(json.dumps(provenance(), indent=1) + "\n", encoding="utf-8")
    return out
