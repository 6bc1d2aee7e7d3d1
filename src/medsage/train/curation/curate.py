"""Curate exam training data from the development files: the whole chain.

1. Read each training source through its exam task loader (:mod:`.load`).
2. Drop the items that are themselves evaluated (same file, same loader id:
   the seeded selections of issue 20 and of ``benchmarks/lift/plan.json``).
3. Drop the items that overlap any evaluation item, in any evaluated file, with the
   rules of :class:`medsage.train.decontam.OverlapFinder` (n-grams of the full item
   and of its stem, MinHash near duplicates, same options with a reworded stem), and
   the items whose explanation contains an evaluation item.
4. Drop near duplicates inside the training data (items with an explanation kept first).
5. Balance answer keys by rotating options (:mod:`.rotate`).
6. Write SFT targets (:mod:`.targets`) and mix in a share of general-instruction records.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import DataError, SpecError
from medsage.train.curation.catalog import ISSUE_EVAL, TRAIN_SOURCES, EvalSpec, SourceSpec
from medsage.train.curation.load import (
    EvalSet,
    Item,
    Protected,
    load_eval,
    load_source,
    load_test_file,
    plan_specs,
)
from medsage.train.curation.rotate import balance, clean_explanations
from medsage.train.curation.targets import to_record
from medsage.train.decontam import DEFAULT_TEST_PATHS, DecontamConfig, OverlapFinder
from medsage.train.records import Record

log = logging.getLogger(__name__)


@dataclass
class CurateConfig:
    """Settings of one curation run.

    Attributes:
        root: The data folder (``../shared/data`` layout).
        plan: The lift plan whose seeded sets are protected too (``None``: issue 20's sets only).
        sources: Names of the training sources to use (empty: all of :data:`TRAIN_SOURCES`).
        general: General-instruction records to mix in (already built, licence per record).
        general_share: Share of general records in the output, 0 to 0.5.
        seed: Seed of balancing, general sampling and the output order.
        max_reasoning_chars: Longest reasoning kept from an explanation (0: fact targets only).
        dedup: MinHash Jaccard above which two training items are duplicates (0: exact only).
        decontam: Overlap detector settings (the project's defaults).
        test_files: Also protect every other known test file (``DEFAULT_TEST_PATHS``).
        issue_sets: The evaluation sets always protected (issue 20's).
    """

    root: Path
    plan: Path | None = None
    sources: tuple[str, ...] = ()
    general: list[Record] = field(default_factory=list)
    general_share: float = 0.0
    seed: int = 0
    max_reasoning_chars: int = 400
    dedup: float = 0.8
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    test_files: bool = True
    issue_sets: tuple[EvalSpec, ...] = ISSUE_EVAL


def eval_sets(cfg: CurateConfig) -> list[EvalSet]:
    """Every evaluation set to protect: issue 20's, the lift plan's, the known test files."""
    specs: list[EvalSpec] = list(cfg.issue_sets) + (plan_specs(cfg.plan) if cfg.plan else [])
    out = [load_eval(s, cfg.root) for s in specs]
    if cfg.test_files:
        train_files = {(cfg.root / s.path).resolve() for s in TRAIN_SOURCES}
        known = {(cfg.root / s.path).resolve() for s in specs if s.path}
        for task, rels in DEFAULT_TEST_PATHS.items():
            for rel in rels:
                path = (cfg.root / rel).resolve()
                if path in train_files or path in known:
                    continue  # protected above by its evaluated selection, not as a whole
                out.append(load_test_file(f"{task}:{Path(rel).name}", task, cfg.root, rel))
    return out


def overlaps(texts: list[str], stems: list[str], options: list[list[str]], extras: list[str],
             protected: list[Protected], cfg: DecontamConfig) -> dict[int, list[dict[str, Any]]]:
    """Which stored items (row ``i``) contain a protected item, and why.

    ``extras`` (explanations) are searched for n-gram containment only: a near-duplicate
    score against a long explanation says nothing.
    """
    finder = OverlapFinder(texts, cfg, options=options, stems=stems)
    extra = OverlapFinder(extras, DecontamConfig(cfg.ngram, cfg.ngram_zh, cfg.min_overlap, cfg.max_df, 0.0)) \
        if any(extras) else None
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in protected:
        ms = finder.overlapping(p.text, p.stem, p.language, p.options or None)
        if extra is not None:
            ms += [m for m in extra.overlapping(p.text, p.stem, p.language) if extras[int(m.item_id)]]
        for m in ms:
            found[int(m.item_id)].append({"set": p.set, "item_id": p.id, "method": m.method, "score": m.score})
    return found


def _specs(names: tuple[str, ...]) -> list[SourceSpec]:
    known = {s.name: s for s in TRAIN_SOURCES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SpecError(f"unknown training source(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[n] for n in names] if names else list(TRAIN_SOURCES)


def curate(cfg: CurateConfig) -> tuple[list[Record], dict[str, Any]]:
    """Run the chain; return the records (seeded order) and the report for the data card.

    Raises:
        DataError: a missing source, a bad share, or nothing left after decontamination.
    """
    if not 0 <= cfg.general_share <= 0.5:
        raise DataError(f"general share {cfg.general_share} is outside 0..0.5")
    if cfg.general_share > 0 and not cfg.general:
        raise DataError("a general-instruction share needs general records (--general)")
    specs = _specs(cfg.sources)
    src: dict[str, dict[str, Any]] = {}
    items: list[Item] = []
    for spec in specs:
        got, problems = load_source(spec, cfg.root)
        src[spec.name] = {"task": spec.task, "path": spec.path, "licence": spec.licence, "shippable": spec.shippable,
                          "origin": spec.origin, "read": len(got), "loader_skipped": len(problems),
                          "with_explanation": sum(1 for it in got if it.explanation)}
        items.extend(got)
    sets = eval_sets(cfg)
    keep, rep_sets, excluded = _exclude_evaluated(items, sets, specs, cfg.root)
    for name in src:
        src[name]["identity_excluded"] = excluded[name]
    protected = [p for es in sets for p in es.items]
    found = overlaps([" ".join([it.sample.question, *it.sample.choices.values()]) for it in keep],
                     [it.sample.question for it in keep], [list(it.sample.choices.values()) for it in keep],
                     [it.explanation for it in keep], protected, cfg.decontam)
    per_set: Counter[str] = Counter(s for ms in found.values() for s in {m["set"] for m in ms})
    for row in rep_sets:
        row["overlap_removed"] = per_set.get(row["name"], 0)
    removed = [{"id": f"{keep[i].source}:{keep[i].sample.id}", "matches": ms[:5]} for i, ms in sorted(found.items())]
    by_method = Counter(m["method"] for ms in found.values() for m in ms)
    for name in src:
        src[name]["overlap_removed"] = sum(1 for i in found if keep[i].source == name)
    keep = [it for i, it in enumerate(keep) if i not in found]
    keep, dups = _dedup(keep, cfg.dedup)
    for name in src:
        src[name]["duplicates_removed"] = sum(1 for d in dups.values() if d["source"] == name)
    if not keep:
        raise DataError("nothing is left to train on after decontamination and deduplication")
    keep, contradicting = clean_explanations(keep)
    balanced, stats = balance(keep, cfg.seed)
    spec_of = {s.name: s for s in specs}
    records = [to_record(it, spec_of[it.source], cfg.max_reasoning_chars) for it in balanced]
    for name in src:
        mine = [r for r in records if r.source == name]
        src[name]["kept"] = len(mine)
        src[name]["reasoning_targets"] = sum(1 for r in mine if r.meta["target"] == "reasoning")
    general, grep = _general(cfg, records, protected)
    out = records + general
    random.Random(cfg.seed).shuffle(out)
    report = {
        "records": len(out), "exam_records": len(records), "sources": src, "eval_sets": rep_sets,
        "decontamination": {"config": dict(cfg.decontam.__dict__), "protected_items": len(protected),
                            "records_removed": len(removed), "matches_by_method": dict(by_method),
                            "identity_excluded": sum(excluded.values()), "removed": removed},
        "dedup": {"threshold": cfg.dedup, "removed": len(dups), "pairs": dups},
        "letters": stats.to_dict(), "general": grep, "explanations_contradicting_key": contradicting,
        "targets": dict(Counter(str(r.meta["target"]) for r in records)),
        "languages": dict(Counter(r.language for r in out)),
        "not_shippable": sorted(n for n, s in src.items() if not s["shippable"] and s["kept"]),
        "settings": {"seed": cfg.seed, "max_reasoning_chars": cfg.max_reasoning_chars,
                     "general_share": cfg.general_share, "plan": str(cfg.plan) if cfg.plan else None},
    }
    return out, report


def _exclude_evaluated(items: list[Item], sets: list[EvalSet], specs: list[SourceSpec],
                       root: Path) -> tuple[list[Item], list[dict[str, Any]], Counter[str]]:
    """Drop training items that an evaluation set selects from the same file (same loader id)."""
    by_file = {(root / s.path).resolve(): s for s in specs}
    gone: set[tuple[str, str]] = set()
    rows: list[dict[str, Any]] = []
    for es in sets:
        row: dict[str, Any] = {
            "name": es.spec.name, "task": es.spec.task, "path": es.spec.path or es.path, "n": es.spec.n,
            "seed": es.spec.seed if es.spec.n is not None and es.spec.shuffle else None,
            "years": list(es.spec.years) if es.spec.years else None, "why": es.spec.why, "missing": es.missing,
            "file_items": es.file_items, "protected_items": len(es.items), "identity_excluded": 0, "overlap_removed": 0}
        same = by_file.get((root / es.spec.path).resolve()) if es.spec.path else None
        if same is not None and same.task == es.spec.task:
            hit = {(it.source, it.sample.id) for it in items if it.source == same.name and it.sample.id in es.ids}
            row["identity_excluded"] = len(hit)
            gone |= hit
        rows.append(row)
    return ([it for it in items if (it.source, it.sample.id) not in gone], rows,
            Counter(source for source, _ in gone))


class _Prompt:
    """A training item seen by :func:`medsage.train.dedup.dedup`: its question and options."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.id = f"{item.source}:{item.sample.id}"

    def all_text(self) -> str:
        return " ".join([self.item.sample.question, *self.item.sample.choices.values()])


def _dedup(items: list[Item], threshold: float) -> tuple[list[Item], dict[str, dict[str, str]]]:
    from medsage.train.dedup import dedup

    order = sorted(items, key=lambda it: not it.explanation)  # stable: explained items win
    kept, rep = dedup([_Prompt(it) for it in order], threshold)
    source = {f"{it.source}:{it.sample.id}": it.source for it in items}
    pairs = {rid: {"source": source[rid], "duplicate_of": other} for rid, other in rep.removed.items()}
    kept_ids = {p.id for p in kept}
    return [it for it in items if f"{it.source}:{it.sample.id}" in kept_ids], pairs


def _general(cfg: CurateConfig, exam: list[Record], protected: list[Protected]) -> tuple[list[Record], dict[str, Any]]:
    """A seeded sample of decontaminated general records making ``general_share`` of the output."""
    rep: dict[str, Any] = {"share_wanted": cfg.general_share, "pool": len(cfg.general)}
    if cfg.general_share <= 0 or not cfg.general:
        rep.update({"added": 0, "share": 0.0})
        return [], rep
    found = overlaps([r.all_text() for r in cfg.general], [r.prompt_text() for r in cfg.general],
                     [[] for _ in cfg.general], ["" for _ in cfg.general], protected, cfg.decontam)
    pool = [r for i, r in enumerate(cfg.general) if i not in found]
    want = round(cfg.general_share * len(exam) / (1 - cfg.general_share))
    got = random.Random(cfg.seed).sample(pool, min(want, len(pool)))
    rep.update({"overlap_removed": len(found), "wanted": want, "added": len(got),
                "share": round(len(got) / (len(got) + len(exam)), 4) if exam else 0.0,
                "licences": dict(Counter(r.license for r in got)), "sources": dict(Counter(r.source for r in got))})
    return got, rep
