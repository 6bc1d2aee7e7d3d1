"""Resuming runs: which changed options a resume accepts, and the time of every part.

A run folder may be filled by several *parts*: the first command, then each resume after
an interrupt or a kill. ``parts.json`` records when each part started and, when it ended
normally or by Ctrl-C, how long it ran and how many samples it answered; a part that was
killed (no end record) is timed up to its last finished sample (every sample record carries
``finished_at``). The summary reports wall time and rate over all parts and for each.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

from medsage.errors import SpecError

#: Model options that cannot change an answer (scheduling, transport, resources).
ANSWER_NEUTRAL_OPTIONS = frozenset({
    "threads", "parallel", "poll", "cache_ram_mib",
    "api_key", "timeout", "max_retries", "backoff_cap", "max_connections", "concurrency",
    "delay", "block",
})
#: Run settings compared on resume, and why a difference is refused.
CHECKED = {
    "model": "answers would come from another model",
    "pipeline": "answers would come from another pipeline",
    "mode": "answers would be prompted and read another way",
    "model_options": "a model option that can change answers differs",
    "pipeline_options": "a pipeline option can change answers",
    "shuffle_options": "options would be in another order",
    "seed": "sampling and option order depend on the seed",
    "max_tokens": "the answer length budget can change answers",
}
PARTS_FILE = "parts.json"


def _norm(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def check_same_run(run_dir: Path, cfg: Any) -> None:
    """Refuse to resume into ``run_dir`` when a setting that can change answers differs.

    Settings that cannot change an answer (threads, slots, concurrency, timeouts, the
    ``--limit``) may differ between parts.

    Raises:
        SpecError: naming the setting, both values and the reason.
    """
    old_path = run_dir / "config.json"
    if not old_path.is_file():
        return
    try:
        old = json.loads(old_path.read_text(encoding="utf-8"))
    except ValueError:
        return
    for key, reason in CHECKED.items():
        if key not in old and key == "max_tokens":
            continue
        before, now = old.get(key), _norm(getattr(cfg, key))
        if key == "model_options":
            before = {k: v for k, v in (before or {}).items() if k not in ANSWER_NEUTRAL_OPTIONS}
            now = {k: v for k, v in (now or {}).items() if k not in ANSWER_NEUTRAL_OPTIONS}
        if before != now:
            raise SpecError(f"{run_dir} holds a run with a different {key} ({before!r}, now {now!r}): {reason}; "
                            f"use another --out (threads, slots, concurrency and --limit may change on resume)")


def _read_parts(run_dir: Path) -> list[dict[str, Any]]:
    try:
        parts = json.loads((run_dir / PARTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _write_parts(run_dir: Path, parts: list[dict[str, Any]]) -> None:
    tmp = run_dir / (PARTS_FILE + ".tmp")
    tmp.write_text(json.dumps(parts, indent=1), encoding="utf-8")
    tmp.replace(run_dir / PARTS_FILE)


def start_part(run_dir: Path, done_before: int) -> int:
    """Record that a part starts now; returns its index."""
    parts = _read_parts(run_dir)
    parts.append({"started_at": round(time.time(), 3), "done_before": done_before})
    _write_parts(run_dir, parts)
    return len(parts) - 1


def end_part(run_dir: Path, index: int, wall_s: float, samples: int, interrupted: bool) -> None:
    """Record how part ``index`` ended."""
    parts = _read_parts(run_dir)
    if 0 <= index < len(parts):
        parts[index].update({"wall_s": round(wall_s, 3), "samples": samples, "interrupted": interrupted})
        _write_parts(run_dir, parts)


def parts_summary(run_dir: Path, records: list[dict[str, Any]], current_wall_s: float) -> list[dict[str, Any]]:
    """Wall time, samples and rate of every part of the run (the last one is ``current_wall_s``).

    A part without an end record (killed) is timed to the last sample it finished.
    """
    parts = _read_parts(run_dir)
    out: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        start = float(part.get("started_at") or 0.0)
        end = float(parts[i + 1].get("started_at") or 0.0) if i + 1 < len(parts) else float("inf")
        mine = [float(r["finished_at"]) for r in records
                if isinstance(r.get("finished_at"), int | float) and start <= float(r["finished_at"]) < end]
        if i == len(parts) - 1:
            wall = current_wall_s
            samples = int(part.get("samples", len(mine)))
            how = "this run"
        elif "wall_s" in part:
            wall, samples = float(part["wall_s"]), int(part.get("samples", len(mine)))
            how = "interrupted" if part.get("interrupted") else "finished"
        else:
            wall, samples, how = (max(mine) - start if mine else 0.0), len(mine), "killed (timed to its last sample)"
        out.append({"part": i + 1, "wall_s": round(wall, 1), "samples": samples, "ended": how,
                    "samples_per_s": round(samples / wall, 3) if wall > 0 else None})
    return out


def resume_command(argv: list[str], run_dir: Path) -> str:
    """The command line that resumes ``run_dir``: the same arguments, with ``--out`` pointing at it."""
    args = list(argv)
    cleaned: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--out", "-o"):
            skip = True
            continue
        if a.startswith("--out="):
            continue
        cleaned.append(a)
    return shlex.join(["medsage", *cleaned, "--out", str(run_dir)])
