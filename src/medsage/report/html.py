"""A self-contained HTML report (inline CSS, charts as embedded PNG, no CDN)."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2rem;color:#1d2430;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccd;padding:.25rem .6rem;text-align:left;font-size:.9rem}th{background:#f3f5f9}
.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#556;font-size:.85rem}.bad{color:#a11}
details{margin:.3rem 0}pre{white-space:pre-wrap;background:#f7f7f9;padding:.5rem;font-size:.8rem}"""


def bar_chart(title: str, cells: dict[str, dict[str, Any]], pass_line: float | None = None) -> str:
    """A horizontal bar chart with 95% CI whiskers, as an ``<img>`` tag with a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(cells)[:40]
    acc = [cells[k]["accuracy"] for k in names]
    lo = [max(0.0, a - cells[k]["ci95"][0]) for a, k in zip(acc, names, strict=True)]
    hi = [max(0.0, cells[k]["ci95"][1] - a) for a, k in zip(acc, names, strict=True)]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    ax.barh(range(len(names)), acc, xerr=[lo, hi], color="#4a78b5", ecolor="#333", capsize=3)
    ax.set_yticks(range(len(names)), [f"{k} (n={cells[k]['n']})" for k in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    if pass_line is not None:
        ax.axvline(pass_line, color="#a11", linestyle="--", linewidth=1)
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.38, right=0.97, top=1 - 0.5 / fig.get_figheight(), bottom=0.5 / fig.get_figheight())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{escape(title)}" src="data:image/png;base64,{data}">'


def _table(cells: dict[str, dict[str, Any]], label: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=num>{v['n']}</td><td class=num>{v['accuracy']:.3f}</td>"
        f"<td class=num>[{v['ci95'][0]:.3f}, {v['ci95'][1]:.3f}]</td></tr>" for k, v in cells.items())
    return f"<table><tr><th>{escape(label)}</th><th>n</th><th>score</th><th>95% CI</th></tr>{rows}</table>"


def spread(recs: list[dict[str, Any]], limit: int, key: str = "language") -> list[dict[str, Any]]:
    """Up to ``limit`` records taken in turn from each ``metadata[key]`` group (languages …)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        groups.setdefault(str((r.get("metadata") or {}).get(key) or ""), []).append(r)
    out: list[dict[str, Any]] = []
    queues = [list(v) for _, v in sorted(groups.items())]
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


SHOWN_CHARS = 4000


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut for display: a huge prompt must not make the report as large as the input."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit:,} more characters; the full text is in samples.jsonl)"


def _examples(recs: list[dict[str, Any]], limit: int = 20) -> str:
    wrong = spread([r for r in recs if r.get("correct") is False or r.get("error")], limit)
    items = []
    for r in wrong:
        prompt = r["messages"][-1]["content"] if r.get("messages") else ""
        status = "error: " + str(r["error"]) if r.get("error") else f"answer {r.get('answer')} · target {r.get('target')}"
        items.append(f"<details><summary>{escape(str(r['id']))} — {escape(status)}</summary>"
                     f"<pre>{escape(clip(prompt))}</pre><pre>{escape(clip(str(r.get('response', ''))))}</pre></details>")
    return "".join(items) or "<p class=note>none</p>"


def render(summary: dict[str, Any], records: dict[str, list[dict[str, Any]]]) -> str:
    """The report's HTML text."""
    head = (f"<h1>medsage run {escape(str(summary.get('run_id')))}</h1>"
            f"<p>model <b>{escape(str(summary.get('model')))}</b>"
            f"{' · pipeline <b>' + escape(str(summary['pipeline'])) + '</b>' if summary.get('pipeline') else ''}"
            f" · mode {escape(str(summary.get('mode')))} · {summary.get('n')} samples in {_wall(summary)}"
            f" · {escape(str(summary.get('created')))}</p><p class=note>{escape(str(summary.get('disclaimer', '')))}</p>")
    parts = [head]
    for name, t in summary.get("tasks", {}).items():
        verdict = t.get("verdicts", {}).get("text", "")
        parts.append(
            f"<h2>{escape(name)}</h2><p><b>{t['metric']} {t['accuracy']:.3f}</b> "
            f"(95% CI {t['ci95'][0]:.3f}–{t['ci95'][1]:.3f}, n={t['n']}) · unparsed {t['unparsed']} · "
            f"errors {t['errors']} · skipped rows {t['skipped']} · tokens: prompt {t['tokens']['prompt']:,}, "
            f"completion {t['tokens']['completion']:,} · latency per sample: model p50 {t['latency_s']['p50']:.2f} s, "
            f"p95 {t['latency_s']['p95']:.2f} s; queue p50 {(t.get('queue_s') or {}).get('p50', 0.0):.2f} s</p>"
            + (f"<p>chance (guessing): {t['chance']:.3f}</p>" if t.get("chance") is not None else "")
            + (f"<p class=note>{escape(t['selection'])}</p>" if t.get("selection") else "")
            + (f"<p>{escape(verdict)}</p>" if verdict else ""))
        for group, cells in t.get("by", {}).items():
            cov = (t.get("coverage") or {}).get(group)
            known = f" ({group} known for {cov['known']} of {cov['of']})" if cov and cov["known"] < cov["of"] else ""
            parts.append(f"<h3>by {escape(group)}{escape(known)}</h3>")
            if len(cells) > 1:
                parts.append(bar_chart(f"{name}: by {group}", cells, t.get("verdicts", {}).get("pass_line")))
            parts.append(_table(cells, group))
        if t.get("problems"):
            items = "".join(f"<li>{escape(p)}</li>" for p in t["problems"][:50])
            parts.append(f"<details><summary class=bad>{t['skipped']} skipped rows</summary><ul>{items}</ul></details>")
        parts.append("<h3>wrong or failed samples (20, taken in turn from each language)</h3>"
                     + _examples(records.get(name, [])))
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>medsage report</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")


def _wall(summary: dict[str, Any]) -> str:
    """Wall time over the whole run, with each part when it was resumed."""
    from medsage.progress import fmt_duration

    text = fmt_duration(float(summary.get("wall_s") or 0.0))
    parts = summary.get("parts") or []
    if len(parts) > 1:
        text += " over " + ", ".join(f"part {p['part']}: {p['samples']} in {fmt_duration(float(p['wall_s']))}"
                                     for p in parts)
    return escape(text)


def write_html(summary: dict[str, Any], records: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Write the report to ``path``."""
    path.write_text(render(summary, records), encoding="utf-8")
    return path
