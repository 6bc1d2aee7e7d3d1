"""Read training sources and evaluation sets through the project's exam task loaders.

Every item is read by the registered task's own loader (``medsage.tasks.exams``), so
the ids, the skipped rows and the seeded selections are exactly those of
``medsage bench``. Explanations are the ones the loaders keep
(``metadata["explanation"]``: MedMCQA ``exp``, CMExam ``Explanation``).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.train.curation.catalog import EvalSpec, SourceSpec
from medsage.types import Sample


@dataclass
class Item:
    """One training candidate: the loader's sample plus its explanation and origin."""

    source: str
    sample: Sample
    explanation: str = ""
    path: str = ""
    where: str = ""


@dataclass
class Protected:
    """One evaluation item to keep out of training data."""

    set: str
    id: str
    text: str
    stem: str
    options: list[str] = field(default_factory=list)
    language: str = "en"


@dataclass
class EvalSet:
    """The selected items of one evaluation set (ids for identity, texts for overlap)."""

    spec: EvalSpec
    path: str
    file_items: int = 0
    ids: set[str] = field(default_factory=set)
    items: list[Protected] = field(default_factory=list)
    missing: bool = False


def load_source(spec: SourceSpec, root: Path) -> tuple[list[Item], list[str]]:
    """The usable items of one training source and the loader's skipped-row reasons.

    Raises:
        DataError: when the file is missing or unreadable.
    """
    from medsage.runner import get_task

    path = root / spec.path
    if not path.exists():
        raise DataError(f"{path}: training source {spec.name} not found (is --root the data folder?)")
    result = get_task(spec.task).load(data=str(path), **spec.options)
    items: list[Item] = []
    for s in result.samples:
        if spec.years is not None and _year(s) not in spec.years:
            continue
        where = str(s.metadata.get("where", "")).replace(f"{root}/", "", 1)
        explanation = str(s.metadata.get("explanation") or "").strip()
        s = replace(s, metadata={k: v for k, v in s.metadata.items() if k != "explanation"})  # one copy, on the Item
        items.append(Item(spec.name, s, explanation, spec.path, where))
    return items, list(result.problems)


def _year(sample: Sample) -> int | None:
    try:
        return int(sample.metadata.get("year"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def select(samples: list[Sample], n: int | None, seed: int, shuffle: bool = True) -> list[Sample]:
    """The evaluated items: as ``medsage.runner._select`` (seeded shuffle, then the first ``n``)."""
    out = list(samples)
    if shuffle:
        random.Random(seed).shuffle(out)
    return out if n is None else out[:n]


def load_eval(spec: EvalSpec, root: Path) -> EvalSet:
    """The protected items of ``spec`` (``missing`` when its file is not under ``root``)."""
    from medsage.runner import get_task

    path = root / spec.path if spec.path else None
    es = EvalSet(spec, str(path) if path else f"(bundled {spec.task} data)")
    if path is not None and not path.exists():
        es.missing = True
        return es
    samples = get_task(spec.task).load(data=str(path) if path else None).samples
    es.file_items = len(samples)
    if spec.years is not None:
        samples = [s for s in samples if _year(s) in spec.years]
    chosen = select(samples, spec.n, spec.seed, spec.shuffle)
    es.ids = {s.id for s in chosen}
    es.items = [Protected(spec.name, s.id, " ".join([s.question, *s.choices.values()]), s.question,
                          list(s.choices.values()), s.language) for s in chosen]
    return es


def load_test_file(name: str, task: str, root: Path, rel: str) -> EvalSet:
    """Every item of a test file the decontamination module knows (``root / rel``, any format it reads)."""
    from medsage.train.decontam import benchmark_items

    path = root / rel
    es = EvalSet(EvalSpec(name, task, rel, why=f"test file of task {task}"), str(path))
    if not path.exists():
        es.missing = True
        return es
    got = benchmark_items(task, path)  # cmb_clin.json (CMB-Clin, not CMB-Exam): the reader its content picks
    es.file_items = len(got)
    es.ids = {t.id for t in got}
    es.items = [Protected(name, t.id, t.text, t.stem, [], t.language) for t in got]
    return es


def plan_specs(plan: Path) -> list[EvalSpec]:
    """The seeded evaluation sets of a lift plan (``benchmarks/lift/plan.json``).

    Raises:
        DataError: when the plan is missing or has no ``datasets``.
    """
    try:
        data: dict[str, Any] = json.loads(plan.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{plan}: cannot read the lift plan ({exc})") from exc
    sets = data.get("datasets")
    if not isinstance(sets, dict) or not sets:
        raise DataError(f"{plan}: no 'datasets' in the lift plan")
    out = []
    for key, d in sets.items():
        n = d.get("n")
        out.append(EvalSpec(f"lift:{key}", str(d["task"]), str(d["data"]), int(n) if n is not None else None,
                            int(d.get("seed", 0)), bool(d.get("shuffle", True)),
                            why=f"lift benchmark dataset '{key}' ({plan.name})"))
    return out
