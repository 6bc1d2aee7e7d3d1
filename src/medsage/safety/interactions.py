"""Drug-drug interaction rules: ONC lists (shipped), medsage curated rules, DDInter (user path).

Rule sources:

* ``onc_high_priority`` / ``onc_non_interruptive`` — the public US ONC lists,
  shipped as ``data/safety/interactions_onc.csv`` with mechanism groups.
* ``medsage_curated`` — class-level rules written by medsage developers from FDA
  labeling (``interactions_curated.json``).
* ``ddinter`` — DDInter (CC BY-NC-SA 4.0, severity graded). Never shipped: load it
  from your own copy with :func:`load_ddinter` (``--ddinter PATH`` on the CLI).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medsage.errors import DataError
from medsage.safety._common import act_rank, finding, load_json, load_text, msg, sev_rank
from medsage.safety.drugs import Medication, get_dictionary
from medsage.types import Finding


@dataclass(frozen=True)
class InteractionRule:
    """One drug-drug interaction rule from a named source list."""

    source: str
    rule_id: str
    severity: str
    action: str
    en: str
    zh: str
    reference: str = ""


class InteractionIndex:
    """Pair -> rules lookup."""

    def __init__(self) -> None:
        self.pairs: dict[frozenset[str], list[InteractionRule]] = {}

    def add(self, a: str, b: str, rule: InteractionRule) -> None:
        """Record ``rule`` for the pair; a drug with itself only for a duplicate-therapy rule."""
        if a == b and not rule.rule_id.endswith("duplicate"):
            return
        key = frozenset((a, b))
        rules = self.pairs.setdefault(key, [])
        if rule not in rules:
            rules.append(rule)

    def rules_for(self, a: str, b: str) -> list[InteractionRule]:
        """The rules for the unordered pair ``a``, ``b``."""
        return self.pairs.get(frozenset((a, b)), [])

    def merged(self, other: InteractionIndex | None) -> InteractionIndex:
        """A new index with the rules of both (``self`` when ``other`` is None)."""
        if other is None:
            return self
        out = InteractionIndex()
        for src in (self, other):
            for key, rules in src.pairs.items():
                out.pairs.setdefault(key, []).extend(r for r in rules if r not in out.pairs.get(key, []))
        return out

    def __len__(self) -> int:
        return len(self.pairs)


@lru_cache(maxsize=1)
def builtin_index() -> InteractionIndex:
    """ONC high-priority + non-interruptive + medsage curated rules."""
    idx = InteractionIndex()
    groups_doc = load_json("interaction_groups.json")
    groups = {g["id"]: g for g in groups_doc["groups"]}
    sources = groups_doc["sources"]
    rows = [line for line in load_text("interactions_onc.csv").splitlines() if line and not line.startswith("#")]
    for row in csv.DictReader(io.StringIO("\n".join(rows))):
        gids = row["groups"].split("|")
        g = groups.get(gids[0]) or groups[f"{row['list']}_other"]
        en = "; ".join(groups[x]["en"] for x in gids if x in groups)
        zh = "；".join(groups[x]["zh"] for x in gids if x in groups)
        idx.add(row["drug_a"], row["drug_b"], InteractionRule(
            row["list"], "|".join(gids), g["severity"], g["action"], en, zh, sources[row["list"]]))
    d = get_dictionary()
    cur = load_json("interactions_curated.json")
    for rule in cur["rules"]:
        ir = InteractionRule("medsage_curated", rule["id"], rule["severity"], rule["action"], rule["en"],
                             rule["zh"], rule.get("ref", ""))
        side_a = _expand(rule["a"], d)
        side_b = _expand(rule["b"], d)
        for a in side_a:
            for b in side_b:
                if a != b:
                    idx.add(a, b, ir)
    return idx


def _expand(items: Iterable[str], d) -> set[str]:  # type: ignore[no-untyped-def]
    out: set[str] = set()
    for item in items:
        if item.startswith("class:"):
            out |= d.members(item[6:])
        elif item in d.entries:
            out.add(item)
    return out


_DDINTER_LEVELS = {
    "major": ("high", "warn"),
    "moderate": ("moderate", "warn"),
    "minor": ("low", "annotate"),
}


@lru_cache(maxsize=4)
def load_ddinter(path: str) -> InteractionIndex:
    """Load DDInter CSVs (``DDInterID_A,Drug_A,DDInterID_B,Drug_B,Level``) from a file or folder.

    DDInter is licensed CC BY-NC-SA 4.0 (non-commercial); medsage does not ship it.
    Drug names are mapped to the medsage dictionary; unmapped names are skipped.

    Raises:
        DataError: if the path holds no readable DDInter rows.
    """
    p = Path(path)
    files = sorted(p.glob("*.csv")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise DataError(f"DDInter path {path} has no CSV files")
    d = get_dictionary()
    idx = InteractionIndex()
    name_cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name not in name_cache:
            hit = d.lookup(name, fuzzy=False)
            name_cache[name] = hit[0].id if hit and hit[2] >= 1.0 else None
        return name_cache[name]

    rows = 0
    for f in files:
        try:
            with open(f, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"Drug_A", "Drug_B", "Level"} <= set(reader.fieldnames):
                    raise DataError(f"{f} is not a DDInter CSV (needs Drug_A, Drug_B, Level columns)")
                for row in reader:
                    rows += 1
                    level = (row.get("Level") or "").strip().lower()
                    if level not in _DDINTER_LEVELS:
                        continue
                    a, b = resolve(row["Drug_A"].strip()), resolve(row["Drug_B"].strip())
                    if not a or not b or a == b:
                        continue
                    sev, act = _DDINTER_LEVELS[level]
                    idx.add(a, b, InteractionRule(
                        "ddinter", f"ddinter_{level}", sev, act,
                        f"DDInter grades this interaction as {level.capitalize()}",
                        f"DDInter将该相互作用分级为{ {'major': '严重', 'moderate': '中度', 'minor': '轻微'}[level]}",
                        "DDInter (Xiong et al., Nucleic Acids Res 2022), CC BY-NC-SA 4.0"))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"cannot read DDInter file {f}: {exc}") from exc
    if rows == 0:
        raise DataError(f"DDInter path {path} holds no rows")
    return idx


_SOURCE_LABEL = {
    "onc_high_priority": ("ONC high-priority DDI list", "ONC高优先级DDI清单"),
    "onc_non_interruptive": ("ONC non-interruptive DDI list", "ONC非中断性DDI清单"),
    "medsage_curated": ("medsage curated rule (FDA labeling)", "medsage整理规则（FDA说明书）"),
    "ddinter": ("DDInter", "DDInter"),
}


def check_interactions(meds: list[Medication], *, lang: str = "en",
                       index: InteractionIndex | None = None) -> list[Finding]:
    """One finding per interacting pair (the most severe rule; all sources cited)."""
    idx = index or builtin_index()
    d = get_dictionary()
    by_drug: dict[str, list[Medication]] = {}
    for m in meds:
        by_drug.setdefault(m.drug_id, []).append(m)
    ids = sorted(by_drug)
    out: list[Finding] = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            rules = idx.rules_for(a, b)
            if not rules:
                continue
            top = max(rules, key=lambda r: (sev_rank(r.severity), act_rank(r.action)))
            ma, mb = by_drug[a], by_drug[b]
            negated = all(m.negated for m in ma if m.source == "text") and any(m.source == "text" for m in ma) or \
                all(m.negated for m in mb if m.source == "text") and any(m.source == "text" for m in mb)
            action = top.action
            if negated and action == "block":
                action = "warn"
            ea, eb = d.entries[a], d.entries[b]
            sources = []
            for r in sorted(rules, key=lambda r: -sev_rank(r.severity)):
                label = _SOURCE_LABEL.get(r.source, (r.source, r.source))[0 if lang != "zh" else 1]
                if not r.reference:
                    ref = label
                elif r.reference.startswith(label.split(" (")[0]):
                    ref = r.reference
                else:
                    ref = f"{label}: {r.reference}"
                if ref not in sources:
                    sources.append(ref)
            spans = [m.span for m in ma + mb if m.span]
            span = max(spans) if spans else None
            text_en = f"Interaction {ea.display} + {eb.display}: {top.en}."
            text_zh = f"药物相互作用 {ea.label('zh')} + {eb.label('zh')}：{top.zh}。"
            if negated:
                text_en += " (The text already advises against this combination.)"
                text_zh += "（文中已提示避免该联用。）"
            out.append(finding(
                "interaction", top.severity, msg(lang, text_en, text_zh), " | ".join(sources), span, action,
                drugs=[a, b], rules=[{"source": r.source, "id": r.rule_id, "severity": r.severity} for r in rules],
                negated=negated or None))
    return out
