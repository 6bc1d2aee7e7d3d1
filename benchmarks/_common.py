"""Shared benchmark helpers: common flags and the provenance block of every result file."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def common_flags(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags every benchmark script shares."""
    ap.add_argument("--data-root", default=os.environ.get("MEDSAGE_DATA_DIR", "../shared/data"),
                    help="folder holding exams/ and knowledge/ (default $MEDSAGE_DATA_DIR or ../shared/data)")
    ap.add_argument("--model", default=os.environ.get("MEDSAGE_MODEL", "local/smollm2"), help="model spec")
    ap.add_argument("--limit", type=int, default=None, help="items per task")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="result folder or file")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads (-M threads=N)")
    return ap


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
