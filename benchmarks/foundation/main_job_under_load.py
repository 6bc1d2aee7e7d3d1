"""Wall time of README command 1 (`medsage bench exam-sample`) with another CPU-bound job running.

Issue #23's target: the main job finishes in ≤ 3 minutes on a 2-core machine while a second
CPU-bound process runs, model load and report included. This script starts that second
process (a pure-Python busy loop, one per ``--load-procs``), waits until it is running, then
times the unchanged command end to end as a subprocess (fresh response cache, fresh run
folder) and writes a JSON record with the machine, the load average and the run's summary.

    python benchmarks/foundation/main_job_under_load.py                 # the README's number
    python benchmarks/foundation/main_job_under_load.py --load-procs 0  # idle machine, for comparison
    python benchmarks/foundation/main_job_under_load.py -- -T size=full # extra bench arguments after --

Output: ``benchmarks/results/main_job_under_load[_<tag>].json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import ROOT, common_flags, write_json  # noqa: E402

TARGET_S = 180.0


def burn(stop_at: float) -> None:
    """A CPU-bound load generator: spin until ``stop_at`` (time.time())."""
    x = 0
    while time.time() < stop_at:
        for i in range(100_000):
            x ^= i * i
    os._exit(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_flags(ap, "out", out=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--load-procs", type=int, default=1, help="CPU-bound processes to run alongside (default 1)")
    ap.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    ap.add_argument("bench_args", nargs="*", help="extra `medsage bench` arguments (after --)")
    args = ap.parse_args()
    medsage = shutil.which("medsage") or ""
    cmd = [medsage, "bench", "exam-sample", *args.bench_args] if medsage else \
        [sys.executable, "-m", "medsage.cli.__main__", "bench", "exam-sample", *args.bench_args]
    loaders = [mp.Process(target=burn, args=(time.time() + args.timeout,), daemon=True)
               for _ in range(args.load_procs)]
    for p in loaders:
        p.start()
    time.sleep(5 if loaders else 0)  # let the load generator reach full speed (and the load average rise)
    load_before = os.getloadavg()
    record: dict[str, Any] = {"command": " ".join(["medsage", *cmd[-len(cmd) + 1:]])
                              if medsage else " ".join(cmd), "load_procs": args.load_procs,
                              "target_s": TARGET_S, "load_before": [round(x, 2) for x in load_before]}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MEDSAGE_CACHE_PATH=str(Path(tmp) / "cache.sqlite"))
        env.pop("MEDSAGE_THREADS", None)  # measure the default thread choice
        start = time.perf_counter()
        proc = subprocess.run([*cmd, "--out", str(Path(tmp) / "run")], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=args.timeout)
        wall = time.perf_counter() - start
        summary_path = Path(tmp) / "run" / "summary.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
        config_path = Path(tmp) / "run" / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    for p in loaders:
        p.terminate()
    task = (summary.get("tasks") or {}).get("exam-sample", {})
    from medsage.models.threads import default_threads

    record.update({
        "returncode": proc.returncode, "wall_s": round(wall, 1), "meets_target": proc.returncode == 0 and wall <= TARGET_S,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "threads_default_now": default_threads(),
        "n": task.get("n"), "selection": task.get("selection"), "accuracy": task.get("accuracy"),
        "ci95": task.get("ci95"), "unparsed": task.get("unparsed"), "errors": task.get("errors"),
        "tokens": task.get("tokens"), "latency_s": task.get("latency_s"), "queue_s": task.get("queue_s"),
        "run_wall_s": summary.get("wall_s"), "max_tokens": config.get("max_tokens"),
        "stderr_tail": proc.stderr[-2000:],
    })
    path = write_json(Path(args.out) / f"main_job_under_load{'_' + args.tag if args.tag else ''}.json", record,
                      indent=2)
    print(json.dumps({k: record[k] for k in ("wall_s", "meets_target", "n", "accuracy", "unparsed",  # noqa: T201
                                             "load_before", "load_after", "returncode")}))
    print(f"wrote {path}")  # noqa: T201


if __name__ == "__main__":
    main()
