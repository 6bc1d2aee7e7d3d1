"""``medsage data curate-exams``: curated exam SFT data from the development files."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from medsage.errors import DataError

if TYPE_CHECKING:
    from medsage.train.records import Record

DEFAULT_PLAN = Path("benchmarks/lift/plan.json")


@click.command(name="curate-exams")
@click.option("--root", required=True, type=click.Path(exists=True, file_okay=False),
              help="The data folder (../shared/data layout: exams/...).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Output JSONL of SFT records.")
@click.option("--card", default=None, type=click.Path(dir_okay=False),
              help="Data card prefix: writes PREFIX.md and PREFIX.json (default: OUT without .jsonl, plus .card).")
@click.option("-s", "--source", "sources", multiple=True,
              help="Training sources to use (default all: medqa_mcmle_dev, cnmleqa_2017_2019, cmexam_val, "
                   "cmb_sample, cmmlu_dev, medmcqa_dev).")
@click.option("--plan", default=None, type=click.Path(exists=True, dir_okay=False),
              help=f"Lift plan whose seeded sets are protected too (default: {DEFAULT_PLAN} when present).")
@click.option("--no-plan", is_flag=True, help="Protect issue 20's sets and the known test files only.")
@click.option("--no-test-files", is_flag=True, help="Do not protect the other known test files.")
@click.option("--general", default=None,
              help="General-instruction records: a chat JSONL, or KIND=PATH of a `data build` source.")
@click.option("--general-share", type=click.FloatRange(0, 0.5), default=0.0, show_default=True,
              help="Share of general records in the output.")
@click.option("--max-reasoning-chars", type=click.IntRange(min=0), default=400, show_default=True,
              help="Longest reasoning kept from an explanation (0: fact targets only).")
@click.option("--dedup", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="MinHash Jaccard for near duplicates inside the training data (0: exact only).")
@click.option("--seed", type=int, default=0, show_default=True)
def curate_exams(root: str, out: str, card: str | None, sources: tuple[str, ...], plan: str | None, no_plan: bool,
                 no_test_files: bool, general: str | None, general_share: float, max_reasoning_chars: int,
                 dedup: float, seed: int) -> None:
    """Curate exam SFT records: provenance and licence per record, decontaminated, balanced keys."""
    from medsage.train.curation.card import write_card
    from medsage.train.curation.curate import CurateConfig, curate
    from medsage.train.records import write_jsonl

    plan_path = None if no_plan else Path(plan) if plan else DEFAULT_PLAN if DEFAULT_PLAN.is_file() else None
    cfg = CurateConfig(Path(root), plan_path, tuple(sources), _general(general), general_share, seed,
                       max_reasoning_chars, dedup, test_files=not no_test_files)
    records, report = curate(cfg)
    n = write_jsonl(records, out)
    prefix = card or str(Path(out).with_suffix("")) + ".card"
    js, md = write_card(report, shlex.join(["medsage", *sys.argv[1:]]), out, prefix)
    dec = report["decontamination"]
    click.echo(f"wrote {n} records to {out} (evaluated items excluded {dec['identity_excluded']}, overlapping "
               f"removed {dec['records_removed']}, duplicates {report['dedup']['removed']}); "
               f"keys {report['letters']['after']}; card {md} and {js}")


def _general(spec: str | None) -> list[Record]:
    if not spec:
        return []
    from medsage.train.records import read_records
    from medsage.train.sources.builders import build_source

    kind, sep, path = spec.partition("=")
    if not sep:
        return list(read_records(spec))
    res = build_source(kind.strip(), path.strip())
    if not res.records:
        raise DataError(f"{spec}: no general records")
    return list(res.records)
