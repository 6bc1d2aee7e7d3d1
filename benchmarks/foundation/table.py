"""Print the README's foundation tables from the result JSON files in benchmarks/results/.

    python benchmarks/foundation/table.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    rows = []
    for path in sorted(RESULTS.glob("local_*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        lang = d.get("by", {}).get("language", {})
        tier = d.get("by", {}).get("tier", {})
        rows.append(
            f"| {d['task']}{' (seeded random subset)' if d.get('subset') else ''} | {d['mode']}{' (≤' + str(d['max_tokens']) + ' tokens)' if d.get('max_tokens') and d['mode'] == 'generate' else ''} "
            f"| {d['n']} | {d['accuracy']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}] | {d['unparsed']} "
            f"| {', '.join(f'{k} {v:.3f}' for k, v in lang.items()) or '—'} | {', '.join(f'{k} {v:.3f}' for k, v in tier.items()) or '—'} "
            f"| {d['questions_per_min']} | {d['latency_p50_s']:.2f} | {d['peak_rss_mb']:.0f} | {d['threads']} "
            f"| {d['loadavg_before'][0]:.1f} → {d['loadavg_after'][0]:.1f} |")
    print("| task | mode | n | accuracy [95% CI] | unparsed | by language | by tier | questions/min | p50 s | peak RSS MB | threads | load avg (1 min) before → after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    ho = RESULTS / "harness_overhead.json"
    if ho.is_file():
        d = json.loads(ho.read_text(encoding="utf-8"))
        print()
        print("| baseline loop | samples/s per round | medsage end to end | medsage answering phase | ratio end to end | ratio answering phase |")
        print("|---|---|---|---|---|---|")
        e2e = ", ".join(map(str, d.get("medsage_samples_per_s_end_to_end", [])))
        phase = ", ".join(map(str, d.get("medsage_samples_per_s_answering_phase", [])))
        print(f"| `chat.completions.create` (the issue's baseline) | {', '.join(map(str, d['bare_samples_per_s']))} "
              f"| {e2e} | {phase} | **{d.get('ratio_end_to_end')}** | **{d.get('ratio_answering_phase')}** |")
        if d.get("bare_raw_post_samples_per_s"):
            print(f"| `client.post` + `json.loads` (same calls as medsage's provider) "
                  f"| {', '.join(map(str, d['bare_raw_post_samples_per_s']))} | {e2e} | {phase} "
                  f"| {d.get('ratio_end_to_end_vs_raw_post')} | {d.get('ratio_answering_phase_vs_raw_post')} |")
        print(f"\nn={d['n']}, concurrency {d['concurrency']}, {d['rounds']} rounds, load average {d['loadavg']}, "
              f"background: {d.get('background') or 'none'}")

if __name__ == "__main__":
    main()
