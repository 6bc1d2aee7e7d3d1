"""The tables behind ``medsage data curate-exams``.

Which development files may be trained on, under which licence, and which evaluation sets
must be protected.

The licence and origin columns are copied from the shared data folder's
``SOURCES.md`` (repository, commit, path there, licence), so every curated record
carries the terms of the file it came from. ``shippable`` is ``False`` for data
under a non-commercial licence or with no licence file: such records may train a
locally kept adapter, with the licence recorded, but are never committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOURCES_MD = "SOURCES.md in the shared data folder (../shared/data/SOURCES.md)"


@dataclass(frozen=True)
class SourceSpec:
    """One development file that curated training records may come from.

    Attributes:
        name: Source name used in record ids and the data card.
        task: The registered exam task whose loader reads the file.
        path: The file, relative to the data root.
        licence: Licence as listed in ``SOURCES.md``.
        shippable: Whether the data itself may be committed or redistributed.
        origin: Repository, commit and path the file was copied from.
        years: Keep only items whose ``year`` metadata is one of these (``None``: all).
        options: Loader options (``task.load(data, **options)``).
    """

    name: str
    task: str
    path: str
    licence: str
    shippable: bool
    origin: str
    years: tuple[int, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalSpec:
    """A set of evaluation items that no training record may overlap.

    Attributes:
        name: Set name in the decontamination report.
        task: Registered task whose loader reads the file.
        path: The file (or folder), relative to the data root; ``""`` for a task's bundled data.
        n: The number of items evaluated (``None``: the whole file).
        seed: Seed of the selection: ``random.Random(seed).shuffle(samples)``, then the first ``n``.
        shuffle: ``False`` when the first ``n`` items are taken unshuffled.
        years: Only items of these years (``None``: every year).
        why: Who evaluates on it.
    """

    name: str
    task: str
    path: str
    n: int | None = None
    seed: int = 0
    shuffle: bool = True
    years: tuple[int, ...] | None = None
    why: str = ""


TRAIN_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("medqa_mcmle_dev", "medqa_mcmle", "exams/medqa_mcmle/dev.jsonl", "MIT (MedQA)", True,
               "Dragon-Wu/LLM-for-Clinical@cd1ad42e9d data/MedQA/Mainland/dev.jsonl (MedQA, jind11/MedQA)"),
    SourceSpec("cnmleqa_2017_2019", "cnmleqa", "exams/cnmleqa_3k_2017_2020.json",
               "no licence file (research benchmark)", False,
               "zonghui0228/CNMLEQA@1fe52749a6 data/CNMLEQA-3k.json", years=(2017, 2018, 2019)),
    SourceSpec("cmexam_val", "cmexam", "exams/cmexam_val.xlsx", "no licence file in this copy (CMExam)", False,
               "kyre-99/CMExam-Dataset@303a45e554 val.xlsx (CMExam, williamliujl/CMExam)"),
    SourceSpec("cmb_sample", "cmb_exam", "exams/cmb_exam_sample.jsonl",
               "Apache-2.0 (Apollo; CMB data Apache-2.0)", True,
               "FreedomIntelligence/Apollo@505c48e822 metadata/test/zh.json (rows with source cmb-single)"),
    SourceSpec("cmmlu_dev", "cmmlu_medical", "exams/cmmlu_medical", "CC BY-NC-SA 4.0 (CMMLU)", False,
               "haonan-li/CMMLU@d6e7b716d8 data/dev/<subject>.csv", options={"split": "dev"}),
    SourceSpec("medmcqa_dev", "medmcqa", "exams/medmcqa_dev.json", "MIT (MedMCQA)", True,
               "Teddy-XiongGZ/MIRAGE@392943af99 rawdata/medmcqa/data/dev.json"),
)

# The evaluation sets of issue 20's before/after comparison. The lift benchmark's
# seeded sets (benchmarks/lift/plan.json) and every other known test file are added
# at run time; see medsage.train.curation.evalsets.
ISSUE_EVAL: tuple[EvalSpec, ...] = (
    EvalSpec("mcmle_test", "medqa_mcmle", "exams/medqa_mcmle/test.jsonl",
             why="MedQA-MCMLE test: issue 20 evaluates 300 seeded items; the whole file is protected"),
    EvalSpec("cnmleqa_2020", "cnmleqa", "exams/cnmleqa_3k_2017_2020.json", years=(2020,),
             why="CNMLEQA 2020: the evaluation year of issue 20"),
    EvalSpec("cmb_300", "cmb_exam", "exams/cmb_exam_sample.jsonl", n=300, seed=0,
             why="CMB sample, 300 seeded items (issue 20 and the lift benchmark)"),
    EvalSpec("medqa_us_test", "medqa_us", "exams/medqa_us_4options_test.jsonl",
             why="MedQA-US test: issue 20 evaluates 300 seeded items; the whole file is protected"),
    EvalSpec("medmcqa_300", "medmcqa", "exams/medmcqa_dev.json", n=300, seed=0,
             why="MedMCQA dev, 300 seeded items (lift benchmark)"),
    EvalSpec("exam_sample", "exam-sample", "",
             why="the bundled bilingual sample, main job of `medsage bench`"),
)
