"""Decontamination: remove training records that overlap benchmark test items.

Two detectors, run against every (task, path) pair the user names:

* **n-gram overlap** — token n-grams (words; Han characters for Chinese) of
  each test item (question + options). A record is contaminated by an item
  when it contains at least ``min_overlap`` of the item's n-grams. N-grams
  shared by many test items (exam boilerplate such as "which of the following
  is the most likely") are ignored so they cannot flag innocent records.
* **near duplicates** — MinHash/LSH Jaccard on token 3-gram shingles between
  the record's prompt and the test item, to catch light paraphrases and
  re-formatted options.

Test items come from the named task's loader (``task.load(data=path)``) when the
task is registered, else from the loader that the file's content picks
(:func:`medsage.train.sources.exams.read_exam_items`, through
:func:`medsage.tasks.exams.detect.detect_file`): exam files are parsed only by the
task loaders.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import DataError, MedsageError, SpecError
from medsage.lang import detect_language
from medsage.train.dedup import NUM_PERM, minhash
from medsage.train.sources.exams import read_exam_items
from medsage.train.text import tokens

log = logging.getLogger(__name__)

# Test files of the benchmark tasks medsage knows, relative to a data root
# (the layout of the shared data folder); used by ``--against-root``.
DEFAULT_TEST_PATHS: dict[str, list[str]] = {
    "medqa_us": ["exams/medqa_us_4options_test.jsonl"],
    "medmcqa": ["exams/medmcqa_dev.json"],
    "pubmedqa": ["exams/pubmedqa/ori_pqal.json"],
    "mmlu_medical": ["exams/mmlu_medical"],
    "cmmlu_medical": ["exams/cmmlu_medical/test"],
    "cnmleqa": ["exams/cnmleqa_3k_2017_2020.json"],
    "cmb_exam": ["exams/cmb_clin.json"],
    "healthbench": ["rubric/healthbench_sample.jsonl"],
    "notes_aci": ["notes/aci_bench/clinicalnlp_taskB_test1.csv",
                  "notes/aci_bench/clinicalnlp_taskC_test2.csv", "notes/aci_bench/clef_taskC_test3.csv"],
    "notes_mts": ["notes/mts_dialog/MTS-Dialog-TestSet-1-MEDIQA-Chat-2023.csv",
                  "notes/mts_dialog/MTS-Dialog-TestSet-2-MEDIQA-Sum-2023.csv"],
}


@dataclass
class TestItem:
    """One benchmark item to protect."""

    task: str
    id: str
    text: str
    language: str
    stem: str = ""


@dataclass
class DecontamConfig:
    """Detector settings.

    Attributes:
        ngram: n for Latin-script items (words).
        ngram_zh: n for Chinese items (characters).
        min_overlap: Share of a test item's n-grams a record must contain to be flagged.
        max_df: Ignore n-grams that occur in more than this many test items (boilerplate).
        near_dup: MinHash Jaccard threshold (token bigrams) between a test item and a
            record's prompt with option letters and answer instructions stripped
            (0 disables the near-duplicate pass).
    """

    ngram: int = 8
    ngram_zh: int = 13
    min_overlap: float = 0.5
    max_df: int = 10
    near_dup: float = 0.6


def benchmark_items(task: str, path: str | Path) -> list[TestItem]:
    """Read the test items of ``task`` from ``path``.

    Uses the registered task's loader when there is one; otherwise, or when that loader
    finds no usable item in the file (``cmb_clin.json``, a CMB-Clin file among the
    CMB test files), the reader the file's content picks
    (:func:`medsage.train.sources.exams.read_exam_items`).

    Raises:
        DataError: when neither the task's loader nor any reader accepts the file.
    """
    rejected: DataError | None = None
    try:
        samples = _load_via_registry(task, str(path))
    except DataError as exc:
        samples, rejected = None, exc
    if samples is not None:
        return [TestItem(task, str(s.id), _item_text(s.question, s.choices),
                         detect_language(s.question), s.question) for s in samples]
    try:
        items = read_exam_items(path)
    except DataError:
        if rejected is not None:
            raise rejected from None
        raise
    if rejected is not None:
        log.warning("%s; read instead as %d items of the format its content shows", rejected, len(items))
    return [TestItem(task, it.id, _item_text(it.question, it.choices), it.language, it.question)
            for it in items]


def _load_via_registry(task: str, path: str) -> list[Any] | None:
    from medsage.registry import tasks

    try:
        obj = tasks.get(task)
    except SpecError:
        log.info("task %r is not registered; reading %s with the reader its content picks", task, path)
        return None
    except (ImportError, AttributeError) as exc:
        log.info("task %r is not importable (%s); reading %s with the reader its content picks", task, exc, path)
        return None
    t = obj() if isinstance(obj, type) else obj
    try:
        res = t.load(data=path)
    except MedsageError:
        raise
    except Exception as exc:  # a task loader that fails on this file: fall back, say so
        log.warning("task %r could not load %s (%s); reading it with the reader its content picks", task, path, exc)
        return None
    return list(getattr(res, "samples", res))


def _item_text(question: str, choices: dict[str, str]) -> str:
    return " ".join([question, *[str(v) for v in choices.values()]])


@dataclass
class Match:
    """Why a record was flagged: which item, which detector, how strongly."""

    task: str
    item_id: str
    method: str
    score: float


class BenchmarkIndex:
    """An index of test items answering "which items does this text contain?".

    Each item is indexed twice for n-gram overlap: its full text (stem plus
    options) and, when it has at least ``n`` tokens, its stem alone, so a
    record that copies a question without its options is caught too.
    """

    def __init__(self, items: list[TestItem], cfg: DecontamConfig | None = None) -> None:
        self.cfg = cfg or DecontamConfig()
        self.items = items
        self._post: dict[int, dict[int, list[int]]] = {}  # n -> ngram hash -> entry indexes
        self._entry_item: list[int] = []  # entry -> item index
        self._entry_n: list[int] = []
        self._size: list[int] = []  # usable (non-boilerplate) n-grams per entry
        entry_grams: list[set[int]] = []
        for i, it in enumerate(items):
            n = self.cfg.ngram_zh if it.language == "zh" else self.cfg.ngram
            views = [tokens(it.text)]
            stem = tokens(it.stem)
            if len(stem) >= n and len(stem) < len(views[0]):
                views.append(stem)
            for toks in views:
                grams = _grams(toks, n)
                e = len(entry_grams)
                entry_grams.append(grams)
                self._entry_item.append(i)
                self._entry_n.append(n)
                post = self._post.setdefault(n, defaultdict(list))
                for g in grams:
                    post[g].append(e)
        for n, post in self._post.items():
            self._post[n] = {g: es for g, es in post.items()
                             if len({self._entry_item[e] for e in es}) <= self.cfg.max_df}
        for e, grams in enumerate(entry_grams):
            post = self._post[self._entry_n[e]]
            self._size.append(sum(1 for g in grams if g in post))
        self._lsh: Any = None
        self._mh: list[Any] = []
        if self.cfg.near_dup > 0 and items:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=self.cfg.near_dup, num_perm=NUM_PERM)
            for i, it in enumerate(items):
                mh = minhash(strip_exam_format(it.text), n=2)
                self._mh.append(mh)
                self._lsh.insert(str(i), mh)

    def matches(self, text: str, prompt: str) -> list[Match]:
        """Test items that ``text`` (n-grams) or ``prompt`` (near-dup) contain."""
        found: dict[int, Match] = {}
        toks = tokens(text)
        for n, post in self._post.items():
            counts: Counter[int] = Counter()
            for g in _grams(toks, n):
                for e in post.get(g, ()):
                    counts[e] += 1
            for e, c in counts.items():
                if not self._size[e]:
                    continue
                share = c / self._size[e]
                i = self._entry_item[e]
                if share >= self.cfg.min_overlap and share > (found[i].score if i in found else 0):
                    found[i] = Match(self.items[i].task, self.items[i].id, "ngram", round(share, 3))
        if self._lsh is not None and prompt.strip():
            mh = minhash(strip_exam_format(prompt), n=2)
            for key in self._lsh.query(mh):
                i = int(key)
                j = float(mh.jaccard(self._mh[i]))
                if j >= self.cfg.near_dup and i not in found:
                    found[i] = Match(self.items[i].task, self.items[i].id, "near_dup", round(j, 3))
        return list(found.values())


_OPTION_RE = re.compile(r"(?m)^\s*\(?[A-Ha-h][.)：:、]\s*")
_INSTRUCTION_RE = re.compile(
    r"(?im)^.*(answer with the letter|correct option|请给出正确选项|请选择|choose the (?:best|correct)).*$")


def strip_exam_format(text: str) -> str:
    """Drop option-letter prefixes and answer instructions, leaving stem and option texts."""
    return _OPTION_RE.sub("", _INSTRUCTION_RE.sub("", text))


def grams(toks: list[str], n: int) -> set[int]:
    """Hashed token ``n``-grams of ``toks`` (the whole list when it is shorter than ``n``)."""
    # Python's own hash: consistent inside one process, which is all the index needs.
    if not toks:
        return set()
    if len(toks) <= n:
        return {hash(" ".join(toks))}
    return {hash(" ".join(toks[i : i + n])) for i in range(len(toks) - n + 1)}


_grams = grams


@dataclass
class DecontamReport:
    """What decontamination removed, per benchmark, with the evidence."""

    against: list[dict[str, Any]] = field(default_factory=list)
    records_in: int = 0
    records_out: int = 0
    removed: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report with counts by task and method and the contaminated item ids."""
        by_task: Counter[str] = Counter()
        by_method: Counter[str] = Counter()
        items: dict[str, set[str]] = defaultdict(set)
        for r in self.removed:
            for m in r["matches"]:
                items[m["task"]].add(m["item_id"])
                by_method[m["method"]] += 1
            for t in {m["task"] for m in r["matches"]}:
                by_task[t] += 1
        return {
            "against": self.against, "config": self.config,
            "records_in": self.records_in, "records_out": self.records_out,
            "records_removed": len(self.removed), "removed_by_task": dict(by_task),
            "matches_by_method": dict(by_method),
            "contaminated_test_items": {t: sorted(v) for t, v in items.items()},
            "removed": self.removed,
        }


def decontaminate(items: list[Any], against: list[tuple[str, str]], cfg: DecontamConfig | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> tuple[list[Any], DecontamReport]:
    """Remove the records (or pairs) that overlap any test item of ``against``.

    Args:
        items: Records or pairs (anything with ``id``, ``source``, ``all_text()``, ``prompt_text()``).
        against: ``(task, path)`` pairs naming the benchmark test data to protect.
        cfg: Detector settings.
        progress: Gets ``("index", benchmarks read, total)`` then ``("check", records, total)``
            (:data:`medsage.progress.StageCallback`).

    Raises:
        DataError: when ``against`` is empty or names no readable item.
    """
    cfg = cfg or DecontamConfig()
    if not against:
        raise DataError("decontamination needs at least one benchmark to check against (task=PATH)")
    test: list[TestItem] = []
    rep = DecontamReport(config=dict(cfg.__dict__), records_in=len(items))
    for k, (task, path) in enumerate(against):
        if progress:
            progress("index", k, len(against) + 1)
        got = benchmark_items(task, path)
        rep.against.append({"task": task, "path": str(path), "items": len(got)})
        test.extend(got)
    if progress:
        progress("index", len(against), len(against) + 1)
    index = BenchmarkIndex(test, cfg)
    if progress:
        progress("index", len(against) + 1, len(against) + 1)
    kept: list[Any] = []
    for n, it in enumerate(items, 1):
        if progress:
            progress("check", n, len(items))
        ms = index.matches(it.all_text(), it.prompt_text())
        if ms:
            rep.removed.append({"id": it.id, "source": it.source,
                                "matches": [m.__dict__ for m in ms[:10]]})
        else:
            kept.append(it)
    rep.records_out = len(kept)
    return kept, rep


def default_against(root: str | Path, tasks: list[str] | None = None) -> list[tuple[str, str]]:
    """``(task, path)`` pairs for the known tasks whose test files exist under ``root``."""
    out: list[tuple[str, str]] = []
    for task, rels in DEFAULT_TEST_PATHS.items():
        if tasks and task not in tasks:
            continue
        out.extend((task, str(Path(root) / r)) for r in rels if (Path(root) / r).exists())
    if not out:
        raise DataError(f"{root}: none of the known benchmark test files is there")
    return out


class OverlapFinder:
    """The decontamination rule the other way round.

    Which of many stored items (a question bank) contain one given test item?

    A stored item overlaps the test item when it holds at least ``min_overlap`` of the
    test item's n-grams (its full text or its stem alone), or when their MinHash
    Jaccard on token bigrams reaches ``near_dup`` — the same detectors and settings as
    :class:`BenchmarkIndex`, so ``bench`` excludes from a bank everything that
    ``medsage data decontam`` would remove from training data. One more detector
    catches what those miss on short exam items: a reworded stem over the same options
    ("最易引起输血后肝炎的病毒是" / "下列哪项是最易引起输血后肝炎的病毒？", both over
    HAV…HEV, MinHash 0.46) — at least ``same_options`` of the test item's option texts
    among the stored item's, and stem token-bigram Jaccard of at least ``stem_jaccard``.

    Args:
        texts: Stored items as ``question + options`` text, row ``i`` = item ``i``.
        cfg: Detector settings.
        options: Each stored item's option texts (enables the same-options detector).
        stems: Each stored item's stem (question without options).
    """

    same_options = 0.8
    stem_jaccard = 0.25

    def __init__(self, texts: list[str], cfg: DecontamConfig | None = None,
                 options: list[list[str]] | None = None, stems: list[str] | None = None) -> None:
        self.cfg = cfg or DecontamConfig()
        self._opt_post: dict[str, list[int]] = defaultdict(list)
        self._stem_grams: list[set[str]] = []
        if options is not None and stems is not None:
            for i, opts in enumerate(options):
                for o in {_norm_option(o) for o in opts}:
                    self._opt_post[o].append(i)
            self._stem_grams = [_bigrams(s) for s in stems]
        self._post: dict[int, dict[int, list[int]]] = {}
        for i, text in enumerate(texts):
            toks = tokens(text)
            for n in {self.cfg.ngram, self.cfg.ngram_zh}:
                post = self._post.setdefault(n, defaultdict(list))
                for g in grams(toks, n):
                    post[g].append(i)
        self._lsh: Any = None
        self._mh: list[Any] = []
        if self.cfg.near_dup > 0 and texts:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=self.cfg.near_dup, num_perm=NUM_PERM)
            for i, text in enumerate(texts):
                mh = minhash(strip_exam_format(text), n=2)
                self._mh.append(mh)
                self._lsh.insert(str(i), mh)

    def overlapping(self, text: str, stem: str = "", language: str | None = None,
                    options: list[str] | None = None) -> list[Match]:
        """Stored items that contain the test item ``text`` (stem ``stem``, option texts ``options``)."""
        lang = language or detect_language(text)
        n = self.cfg.ngram_zh if lang == "zh" else self.cfg.ngram
        post = self._post.get(n, {})
        found: dict[int, Match] = {}
        views = [tokens(text)]
        stem_toks = tokens(stem)
        if len(stem_toks) >= n and len(stem_toks) < len(views[0]):
            views.append(stem_toks)
        for toks in views:
            wanted = grams(toks, n)
            if not wanted:
                continue
            counts: Counter[int] = Counter()
            for g in wanted:
                for i in post.get(g, ()):
                    counts[i] += 1
            for i, c in counts.items():
                share = c / len(wanted)
                if share >= self.cfg.min_overlap and share > (found[i].score if i in found else 0):
                    found[i] = Match("bank", str(i), "ngram", round(share, 3))
        if self._lsh is not None:
            mh = minhash(strip_exam_format(text), n=2)
            for key in self._lsh.query(mh):
                i = int(key)
                j = float(mh.jaccard(self._mh[i]))
                if j >= self.cfg.near_dup and i not in found:
                    found[i] = Match("bank", str(i), "near_dup", round(j, 3))
        if options and self._stem_grams:
            self._same_options(options, stem or text, found)
        return list(found.values())

    def _same_options(self, options: list[str], stem: str, found: dict[int, Match]) -> None:
        wanted = {_norm_option(o) for o in options} - {""}
        if len(wanted) < 2:
            return
        shared: Counter[int] = Counter()
        for o in wanted:
            for i in self._opt_post.get(o, ()):
                shared[i] += 1
        mine = _bigrams(stem)
        for i, c in shared.items():
            if i in found or c < self.same_options * len(wanted):
                continue
            other = self._stem_grams[i]
            j = len(mine & other) / len(mine | other) if mine and other else 0.0
            if j >= self.stem_jaccard:
                found[i] = Match("bank", str(i), "same_options", round(j, 3))


def _norm_option(text: str) -> str:
    return "".join(tokens(text))


def _bigrams(text: str) -> set[str]:
    toks = tokens(strip_exam_format(text))
    return {" ".join(toks[i : i + 2]) for i in range(len(toks) - 1)} or set(toks)
