"""Latency of a 10-drug list with patient context, and de-identification throughput.

    python benchmarks/safety/bench_latency.py [--runs 2000]
writes benchmarks/safety/results/latency.json (pinned to at most 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from medsage.safety import check
from medsage.safety.deid import deidentify

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, percentile, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
MEDS = ("warfarin 5 mg daily, simvastatin 40 mg qhs, clarithromycin 500 mg bid, metformin 1000 mg bid, "
        "lisinopril 20 mg daily, ibuprofen 400 mg tid, omeprazole 20 mg daily, sertraline 100 mg daily, "
        "amlodipine 10 mg daily, acetaminophen 1 g q6h")
MEDS_ZH = "华法林 5mg qd，辛伐他汀 40mg qn，克拉霉素 0.5g bid，二甲双胍 1g bid，赖诺普利 20mg qd，布洛芬 0.4g tid，奥美拉唑 20mg qd，舍曲林 100mg qd，氨氯地平 10mg qd，对乙酰氨基酚 1g q6h"
CONTEXT = {"age": 72, "sex": "female", "weight_kg": 68, "egfr": 42, "hepatic": "normal",
           "allergies": ["penicillin", "sulfa"], "pregnant": False}


def timeit(fn, runs: int) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(20):
        fn()
    ts, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c) * 1000)
        ts.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(ts), 3), "p90_ms": round(percentile(ts, 90), 3),
            "p99_ms": round(percentile(ts, 99), 3), "min_ms": round(min(ts), 3),
            "median_cpu_ms": round(statistics.median(cpu), 3), "runs": runs}


def main() -> None:
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out",
                      out=str(HERE / "results" / "latency.json"))
    ap.add_argument("--runs", type=int, default=2000)
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)
    load_before = os.getloadavg()
    r = check(MEDS, CONTEXT)
    result = {
        "cpus": cpus,
        "python": platform.python_version(),
        "load_average_before": [round(x, 2) for x in load_before],
        "findings_in_the_10_drug_case": len(r.findings),
        "check_10_drugs_with_context_meds_only": timeit(lambda: check(MEDS, CONTEXT, run_triage=False, run_policy=False), args.runs),
        "check_10_drugs_with_context_full": timeit(lambda: check(MEDS, CONTEXT), args.runs),
        "check_10_drugs_zh_with_context_full": timeit(lambda: check(MEDS_ZH, CONTEXT), args.runs),
    }
    docs = [json.loads(line)["text"] for line in (HERE / "data" / "deid_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    chars = sum(len(d) for d in docs)
    t = time.perf_counter()
    for d in docs:
        deidentify(d, mode="redact")
    secs = time.perf_counter() - t
    result["deid_throughput_chars_per_second"] = round(chars / secs)
    big = "Patient John Smith, MRN: 12345678, phone 617-555-0100, seen 2023-06-07. " * 14000  # ~1 MB
    t = time.perf_counter()
    deidentify(big, mode="redact")
    result["deid_1MB_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    check(("warfarin 5 mg daily and ibuprofen 400 mg tid. 患者服用华法林。 " * 20000)[:1_000_000])
    result["check_1MB_seconds"] = round(time.perf_counter() - t, 2)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    write_json(args.out, result)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
