"""``medsage compare``: several runs side by side as a self-contained HTML report and JSON.

The HTML has embedded PNG charts (no CDN); the question it answers is "domain system vs
general model on the same questions". The numbers come from
:mod:`medsage.report.compare_data`.
"""

from __future__ import annotations

import base64
import io
import json
from html import escape
from pathlib import Path
from typing import Any

from medsage.report.compare_data import Run, build_comparison, load_run, parse_price
from medsage.types import DISCLAIMER

__all__ = ["Run", "build_comparison", "compare_runs", "load_run", "parse_price", "render_html"]

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2rem;color:#1d2430;max-width:1150px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccd;padding:.25rem .6rem;text-align:left;font-size:.85rem}
th{background:#f3f5f9}.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#556;font-size:.85rem}
.win{color:#176f2c;font-weight:600}.loss{color:#a11;font-weight:600}"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scores_chart(cmp: dict[str, Any]) -> str:
    """Grouped bars: each task's mean per run with 95% CI whiskers."""
    plt = _plt()
    tasks = list(cmp["tasks"])
    labels = [r["label"] for r in cmp["runs"]]
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(tasks) * len(labels) / 2 + 3), 3.8))
    for j, label in enumerate(labels):
        xs: list[float] = []
        ys: list[float] = []
        err: list[list[float]] = [[], []]
        for i, task in enumerate(tasks):
            cell = cmp["tasks"][task]["runs"].get(label)
            if not cell or cell["mean"] is None:
                continue
            xs.append(i + j * width)
            ys.append(cell["mean"])
            err[0].append(max(0.0, cell["mean"] - cell["ci95"][0]))
            err[1].append(max(0.0, cell["ci95"][1] - cell["mean"]))
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=label)
    ax.set_xticks([i + width * (len(labels) - 1) / 2 for i in range(len(tasks))], tasks, fontsize=8, rotation=20)
    ax.set_ylabel("score (95% CI)")
    ax.legend(fontsize=7)
    return _png(fig)


def diff_chart(cmp: dict[str, Any]) -> str:
    """Forest plot of paired differences (run − baseline) per task with 95% CIs."""
    plt = _plt()
    rows = [(f"{task} · {label}", d) for task, e in cmp["tasks"].items() for label, d in e["paired"].items()]
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(rows) + 1.3))
    for i, (_, d) in enumerate(rows):
        ax.errorbar(d["diff"], i, xerr=[[d["diff"] - d["ci95"][0]], [d["ci95"][1] - d["diff"]]], fmt="o",
                    color="#176f2c" if d["ci95"][0] > 0 else "#a11" if d["ci95"][1] < 0 else "#555", capsize=3)
    ax.axvline(0, color="#333", linewidth=1)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"paired difference vs {cmp['baseline']} (95% CI)")
    return _png(fig)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return escape(str(x))


def _ci(ci: Any) -> str:
    return "—" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render_html(cmp: dict[str, Any]) -> str:
    """The full self-contained HTML report."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>medsage compare</title><style>{CSS}</style>"
             "</head><body><h1>medsage compare</h1>",
             f"<p class='note'>{escape(DISCLAIMER)} Baseline: <b>{escape(cmp['baseline'])}</b>. Samples are "
             "matched by (task, id); differences are run − baseline on the items both runs scored.</p>"]
    rows = []
    for task, e in cmp["tasks"].items():
        for label, c in e["runs"].items():
            t = c["tokens"]
            rows.append([escape(task), escape(label), c["metric"], str(c["n"]), _fmt(c["mean"]), _ci(c["ci95"]),
                         str(c["errors"]), str(c["unparsed"] + c["unscorable"]), f"{t['prompt']}/{t['completion']}",
                         f"{t['grader_prompt']}/{t['grader_completion']}", _fmt(c["latency_s"]["p50"], 2),
                         _fmt(c["latency_s"]["p95"], 2), _fmt(c["cost_usd"], 4)])
    parts += ["<h2>Scores</h2>", scores_chart(cmp),
              _table(["task", "system", "metric", "n", "mean", "95% CI", "errors", "unparsed/unscorable",
                      "tokens in/out", "grader tokens in/out", "latency p50 s", "p95 s", "cost USD"], rows)]
    prow = []
    for task, e in cmp["tasks"].items():
        for label, d in e["paired"].items():
            cls = "win" if d["ci95"][0] > 0 else "loss" if d["ci95"][1] < 0 else ""
            prow.append([escape(task), escape(label), str(d["n"]), _fmt(d["mean_a"]), _fmt(d["mean_b"]),
                         f"<span class='{cls}'>{d['diff']:+.3f}</span>", _ci(d["ci95"]), d["test"],
                         _fmt(d["p"], 4), f"{d['wins_b']}/{d['wins_a']}"])
    parts += ["<h2>Paired differences</h2>", diff_chart(cmp),
              _table(["task", "system", "n pairs", "baseline", "system", "diff", "95% CI", "test", "p",
                      "items better/worse"], prow),
              "<p class='note'>McNemar mid-p for exam items; sign-flip permutation test for rubric scores; "
              "CIs by paired bootstrap.</p>"]
    parts.append("<h2>Wins and losses by discipline, tier, theme, language</h2>")
    for task, e in cmp["tasks"].items():
        for label, d in e["paired"].items():
            for key, block in d.get("by", {}).items():
                grows = [[escape(g), str(r["n"]), _fmt(r["mean_a"]), _fmt(r["mean_b"]),
                          f"<span class='{r['outcome']}'>{r['diff']:+.3f}</span>", _ci(r["ci95"]), r["outcome"]]
                         for g, r in block["groups"].items()]
                parts.append(f"<h3>{escape(task)} · {escape(label)} · by {escape(key)}: "
                             f"{block['wins']} wins, {block['losses']} losses, {block['ties']} ties</h3>")
                parts.append(_table([key, "n", "baseline", "system", "diff", "95% CI", "outcome"], grows))
            if "grader_agreement" in d:
                g = d["grader_agreement"]
                parts.append(f"<p>Grader agreement on identical responses ({escape(task)}): {g['items']} items, "
                             f"agreement {_fmt(g['percent_agreement'])}, Cohen's κ {_fmt(g['kappa'])}</p>")
    parts.append(f"<h2>Runs</h2><pre>{escape(json.dumps(cmp['runs'], indent=1, ensure_ascii=False))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def compare_runs(paths: list[str | Path], out_dir: str | Path | None = None,
                 prices: dict[str, tuple[float, float]] | None = None) -> tuple[dict[str, Any], Path | None]:
    """Load runs, compare, and (when ``out_dir``) write ``compare.json`` and ``compare.html``."""
    cmp = build_comparison([load_run(p) for p in paths], prices)
    if out_dir is None:
        return cmp, None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(cmp, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "compare.html").write_text(render_html(cmp), encoding="utf-8")
    return cmp, out
