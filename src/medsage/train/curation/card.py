"""The data card of a curation run: the same facts as JSON and as markdown.

The card holds counts, licences, the decontamination report (record ids and the
evaluation item ids they matched, never item text) and the exact command, so it
can be committed next to an adapter even when the data itself may not be.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsage.train.curation.catalog import SOURCES_MD


def card_dict(report: dict[str, Any], command: str, out: str) -> dict[str, Any]:
    """The JSON card: ``report`` with its removal lists made compact, plus when, where and how."""
    card = {k: v for k, v in report.items() if k not in ("decontamination", "dedup")}
    dec = dict(report["decontamination"])
    dec["removed"] = {r["id"]: [f"{m['set']}:{m['item_id']} {m['method']} {m['score']}" for m in r["matches"][:3]]
                      for r in dec["removed"]}
    dedup = dict(report["dedup"])
    dedup["pairs"] = {k: v["duplicate_of"] for k, v in dedup["pairs"].items()}
    card.update({"decontamination": dec, "dedup": dedup, "command": command, "output": out,
                 "licences_from": SOURCES_MD,
                 "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"})
    return card


def _dist(d: dict[str, int]) -> str:
    total = sum(d.values()) or 1
    return ", ".join(f"{k} {v} ({100 * v / total:.1f}%)" for k, v in sorted(d.items()))


def card_markdown(card: dict[str, Any]) -> str:
    """The markdown data card."""
    lines = [
        "# Curated exam training data: data card", "",
        f"Written by `medsage data curate-exams` on {card['date']} ({card['machine']}).", "",
        "Reproduce:", "", "```", card["command"], "```", "",
        f"{card['records']} records ({card['exam_records']} exam, {card['general'].get('added', 0)} general); "
        f"languages {card['languages']}; targets {card['targets']} "
        "(reasoning = short explanation then the answer; fact = answer letter and option text).", "",
        f"Licences are those of each file in {card['licences_from']}.", "",
        "## Sources", "",
        "| source | licence | may ship | read | loader skipped | evaluated (excluded) | overlap removed "
        "| duplicates | kept | reasoning targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in card["sources"].items():
        lines.append(f"| {name} (`{s['path']}`) | {s['licence']} | {'yes' if s['shippable'] else 'no'} | {s['read']} "
                     f"| {s['loader_skipped']} | {s['identity_excluded']} | {s['overlap_removed']} "
                     f"| {s['duplicates_removed']} | {s['kept']} | {s['reasoning_targets']} |")
    ns = card["not_shippable"]
    lines += ["", "Origins: " + "; ".join(f"{n}: {s['origin']}" for n, s in card["sources"].items()) + ".", "",
              ("Non-commercial or unlicensed sources in this output: " + ", ".join(ns) + ". The records may train "
               "a locally kept adapter with the licence recorded; the data itself must not be committed or shipped."
               if ns else "Every source in this output has a permissive licence."), ""]
    dec = card["decontamination"]
    lines += ["## Decontamination", "",
              f"{dec['protected_items']} evaluation items protected. Items that are themselves evaluated (same file, "
              f"same loader id) are excluded first ({dec['identity_excluded']}); then {dec['records_removed']} items "
              "overlapping any evaluation item are removed (matches by method: "
              f"{dec['matches_by_method']}; settings {dec['config']}, the rules of `OverlapFinder` in "
              "`medsage.train.decontam`, plus explanation text checked for n-gram containment).", "",
              "| evaluation set | file | selection | protected | excluded (same item) | training items removed "
              "(overlap) | why |",
              "|---|---|---|---|---|---|---|"]
    for e in card["eval_sets"]:
        sel = "all" if e["n"] is None else (f"{e['n']} seeded (seed {e['seed']})" if e["seed"] is not None
                                            else f"first {e['n']}")
        if e["years"]:
            sel += f", years {e['years']}"
        prot = "file not present" if e["missing"] else str(e["protected_items"])
        lines.append(f"| {e['name']} | `{e['path']}` | {sel} | {prot} | {e['identity_excluded']} "
                     f"| {e['overlap_removed']} | {e['why']} |")
    dd = card["dedup"]
    lines += ["", "A training item can match several sets; each set counts it once.", "",
              f"Near duplicates inside the training data (MinHash ≥ {dd['threshold']} on question and options, items "
              f"with an explanation kept first): {dd['removed']} removed. Explanations whose opening answer clause "
              f"names another letter than the key (dropped; the item gets a fact target): "
              f"{card['explanations_contradicting_key']}.", ""]
    let = card["letters"]
    lines += ["## Answer letters", "",
              f"Before balancing: {_dist(let['before'])}.", "", f"After: {_dist(let['after'])}.", ""]
    for n, per in sorted(let["by_options"].items()):
        lines.append(f"- options {n}: before {_dist(per['before'])}; after {_dist(per['after'])}")
    lines += ["", f"Rotated {let['rotated']}, key already on its letter {let['kept_in_place']}, "
              f"pinned (not moved) {let['pinned']}.", ""]
    g = card["general"]
    lines += ["## General-instruction share", "",
              f"Wanted {g['share_wanted']}; added {g.get('added', 0)} of a pool of {g['pool']} "
              f"(share {g.get('share', 0.0)}). Whether it prevents forgetting is to be measured.", ""]
    return "\n".join(lines)


def write_card(report: dict[str, Any], command: str, out: str, prefix: str | Path) -> tuple[Path, Path]:
    """Write ``<prefix>.json`` and ``<prefix>.md``; return both paths."""
    card = card_dict(report, command, out)
    base = Path(prefix)
    base.parent.mkdir(parents=True, exist_ok=True)
    js, md = base.with_name(base.name + ".json"), base.with_name(base.name + ".md")
    js.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md.write_text(card_markdown(card) + "\n", encoding="utf-8")
    return js, md
