"""``medsage data``: build, filter, deduplicate and decontaminate training data."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import click

from medsage.cli.common import deprecated
from medsage.errors import DataError, SpecError


def _kv(pairs: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    out = []
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise SpecError(f"{what} '{p}' is not NAME=PATH")
        out.append((k.strip(), v.strip()))
    return out


def _write_report(path: str | None, obj: dict[str, Any]) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")


def _stages(verb: str, units: dict[str, str] | None = None) -> Any:
    """Progress of a data verb on stderr.

    Records per second and ETA of each pass over the records (a line every ~10 s or 5% once a
    pass takes over a second), then one line of stage times.
    """
    from medsage.progress import StageProgress

    return StageProgress(f"data {verb}", unit="records", units=units, min_s=1.0)


@click.group()
def data() -> None:
    """Curate medical training data: build, filter, dedup, decontam, pairs, stats.

    Progress (records per second, ETA, then each stage's time) goes to stderr.
    """


@data.command()
@click.option("-s", "--source", "sources", multiple=True, required=True,
              help="KIND=PATH; KIND is medmcqa, medqa, cnmleqa, cmmlu, mmlu, exam, medquad, aci, mts, medsafetybench or chat.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Output JSONL.")
@click.option("--license", "licenses", multiple=True, help="KIND=LICENCE to override a source's licence.")
@click.option("--limit", type=int, default=None, help="At most N records per source (seeded sample).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strict", is_flag=True, help="Fail on the first unusable source row instead of reporting it.")
def build(sources: tuple[str, ...], out: str, licenses: tuple[str, ...], limit: int | None,
          seed: int, strict: bool) -> None:
    """Build chat-format records (with provenance and licence) from sources."""
    from medsage.train.records import write_jsonl
    from medsage.train.sources.builders import build_source

    lic = dict(_kv(licenses, "licence"))
    records: list[Any] = []
    with _stages("build") as stages:
        for kind, path in _kv(sources, "source"):
            with stages.stage(kind):
                res = build_source(kind, path, lic.get(kind))
            _add_built(kind, path, res, strict, limit, seed, records)
        if not records:
            raise DataError("no records were built from the given sources")
        with stages.stage("write"):
            n = write_jsonl(records, out)
    click.echo(f"wrote {n} records to {out}")


def _add_built(kind: str, path: str, res: Any, strict: bool, limit: int | None, seed: int,
               records: list[Any]) -> None:
    """Report one source's unusable rows and add its (sampled) records to ``records``."""
    if res.problems:
        if strict:
            raise DataError(res.problems[0])
        click.echo(f"{kind}: skipped {len(res.problems)} unusable rows, e.g. {res.problems[0]}", err=True)
    recs = res.records
    if limit is not None and len(recs) > limit:
        recs = random.Random(seed).sample(recs, limit)
    click.echo(f"{kind}: {len(recs)} records from {path}", err=True)
    records.extend(recs)


@data.command(name="filter")
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--lang", "languages", multiple=True, help="Keep only these languages (en, zh).")
@click.option("--min-answer-chars", type=int, default=1, show_default=True)
@click.option("--max-chars", type=int, default=20000, show_default=True)
@click.option("--commercial-only", is_flag=True, help="Drop non-commercial and unknown-licence records.")
@click.option("--no-answer-key-check", is_flag=True, help="Skip the exam answer-key consistency check.")
@click.option("--report", type=click.Path(dir_okay=False), help="Write the filter report (JSON).")
def filter_cmd(input_path: str, out: str, languages: tuple[str, ...], min_answer_chars: int,
               max_chars: int, commercial_only: bool, no_answer_key_check: bool, report: str | None) -> None:
    """Apply language, length, licence and answer-key filters."""
    from medsage.train.quality import FilterConfig, apply_filters
    from medsage.train.records import read_any, write_jsonl

    cfg = FilterConfig(tuple(languages), min_answer_chars, max_chars, commercial_only, not no_answer_key_check)
    with _stages("filter") as stages:
        with stages.stage("read"):
            items = read_any(input_path)
        kept, rep = apply_filters(list(items), cfg, progress=stages)
        _write_report(report, rep.to_dict())
        if not kept:
            raise DataError(f"{input_path}: the filters removed all {len(items)} records")
        with stages.stage("write"):
            write_jsonl(kept, out)
    click.echo(f"kept {rep.kept} of {len(items)}; dropped {dict(rep.dropped)}")


@data.command()
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--threshold", type=float, default=0.8, show_default=True,
              help="MinHash Jaccard threshold for near duplicates (0 = exact only).")
@click.option("--report", type=click.Path(dir_okay=False))
def dedup(input_path: str, out: str, threshold: float, report: str | None) -> None:
    """Remove exact and near-duplicate records (MinHash/LSH)."""
    from medsage.train.dedup import dedup as run_dedup
    from medsage.train.records import read_any, write_jsonl

    with _stages("dedup") as stages:
        with stages.stage("read"):
            items = read_any(input_path)
        kept, rep = run_dedup(list(items), threshold, progress=stages)
        _write_report(report, rep.to_dict())
        with stages.stage("write"):
            write_jsonl(kept, out)
    click.echo(f"kept {rep.kept} of {len(items)}; exact duplicates {rep.exact}, near duplicates {rep.near}")


@data.command()
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("-a", "--against", multiple=True, help="TASK=PATH of benchmark test data (repeatable).")
@click.option("--against-root", type=click.Path(file_okay=False),
              help="A data root: check against every known task's test file found there.")
@click.option("--ngram", type=int, default=8, show_default=True, help="n for word n-grams.")
@click.option("--ngram-zh", type=int, default=13, show_default=True, help="n for Chinese character n-grams.")
@click.option("--min-overlap", type=float, default=0.5, show_default=True,
              help="Share of a test item's n-grams that flags a record.")
@click.option("--near-dup", type=float, default=0.6, show_default=True,
              help="MinHash Jaccard threshold (token bigrams) on prompts (0 disables).")
@click.option("--report", type=click.Path(dir_okay=False), required=True, help="Where to write what was removed (JSON).")
def decontam(input_path: str, out: str, against: tuple[str, ...], against_root: str | None, ngram: int,
             ngram_zh: int, min_overlap: float, near_dup: float, report: str) -> None:
    """Remove records that overlap benchmark test items (n-grams + near duplicates)."""
    from medsage.train.decontam import DecontamConfig, decontaminate, default_against
    from medsage.train.records import read_any, write_jsonl

    pairs = _kv(against, "benchmark")
    if against_root:
        pairs += default_against(against_root)
    cfg = DecontamConfig(ngram=ngram, ngram_zh=ngram_zh, min_overlap=min_overlap, near_dup=near_dup)
    with _stages("decontam") as stages:
        with stages.stage("read"):
            items = read_any(input_path)
        kept, rep = decontaminate(list(items), pairs, cfg, progress=stages)
        d = rep.to_dict()
        _write_report(report, d)
        if not kept:
            raise DataError(f"{input_path}: decontamination removed all {len(items)} records "
                            f"(report: {report}); nothing is left to train on")
        with stages.stage("write"):
            write_jsonl(kept, out)
    click.echo(f"kept {len(kept)} of {len(items)}; removed {d['records_removed']} "
               f"{d['removed_by_task']}; report: {report}")


@data.command()
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
def balance(input_path: str, out: str, seed: int) -> None:
    """Spread exam answer keys evenly over the option letters (no letter prior to learn)."""
    from medsage.train.balance import balance_keys
    from medsage.train.records import read_records, write_jsonl

    with _stages("balance") as stages:
        with stages.stage("read"):
            records = read_records(input_path)
        with stages.stage("balance"):
            got, stats = balance_keys(records, seed)
        if not stats["keys_after"]:
            raise DataError(f"{input_path}: no exam records (meta.kind 'exam' with choices and answer) to balance")
        with stages.stage("write"):
            write_jsonl(got, out)
    click.echo(f"wrote {len(got)} records to {out}: moved {stats['moved']}, kept {stats['kept_in_place']}, "
               f"not exam items {stats['unchanged']}; keys now {stats['keys_after']}")


@data.command()
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--rationale", is_flag=True, help="Add the exam explanation to the chosen answer.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["exam", "safety"]),
              help="Which record kinds to pair (default: both).")
def pairs(input_path: str, out: str, seed: int, rationale: bool, kinds: tuple[str, ...]) -> None:
    """Build preference pairs (correct vs wrong exam answer; safe vs unsafe reply)."""
    from medsage.train.pairs import build_pairs
    from medsage.train.records import read_records, write_jsonl

    with _stages("pairs") as stages:
        with stages.stage("read"):
            records = read_records(input_path)
        with stages.stage("pairs"):
            got, stats = build_pairs(records, seed, rationale, tuple(kinds) or ("exam", "safety"))
        if not got:
            raise DataError(f"{input_path}: no exam or safety records to build preference pairs from")
        with stages.stage("write"):
            write_jsonl(got, out)
    click.echo(f"wrote {len(got)} pairs to {out} {stats}")


@data.command()
@click.argument("input_path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def stats(input_path: str, as_json: bool) -> None:
    """Counts by source, language, licence and kind (validates every record)."""
    from medsage.train.records import read_any

    with _stages("stats") as stages, stages.stage("read"):
        items = read_any(input_path)
    out: dict[str, Any] = {"n": len(items)}
    for attr in ("source", "language", "license"):
        out[attr] = dict(Counter(getattr(it, attr) for it in items))
    out["kind"] = dict(Counter(str(it.meta.get("kind", "")) for it in items))
    chars = sorted(len(it.all_text()) for it in items)
    out["chars"] = {"mean": round(sum(chars) / len(chars), 1), "p50": chars[len(chars) // 2], "max": chars[-1]}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for k, v in out.items():
        click.echo(f"{k}: {v}")


@data.command()
@click.argument("task")
@click.option("--data", "data_path", default=None, help="The benchmark's data file or folder.")
@click.option("--corpus", "corpus", multiple=True, required=True, type=click.Path(exists=True),
              help="Corpus files or folders to check (a knowledge base's sources, training data).")
@deprecated("-n", "ngram", "--ngram (-n is --limit in every verb)", type=click.IntRange(min=3))
@click.option("--ngram", "ngram", type=click.IntRange(min=3), default=13, show_default=True,
              help="n-gram length (words; single characters for Chinese).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--report", default=None, help="Also write the report as JSON to this path.")
@click.option("--json", "as_json", is_flag=True)
def contamination(task: str, data_path: str | None, corpus: tuple[str, ...], ngram: int, threshold: float,
                  report: str | None, as_json: bool) -> None:
    """Which TASK items overlap a corpus (n-gram share ≥ threshold), so a lift can be trusted."""
    from medsage.rubric.contamination import benchmark_items, corpus_texts, overlap
    from medsage.runner import get_task

    with _stages("contamination", {"corpus": "documents"}) as stages:
        with stages.stage("read benchmark"):
            items = benchmark_items(get_task(task), data_path)
        with stages.stage("corpus", total=0) as docs:  # documents, count unknown up front
            result = overlap(items, docs.iterate(corpus_texts(corpus)), n=ngram, threshold=threshold)
    result["task"] = task
    _write_report(report, result)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{task}: {len(result['flagged'])} of {result['checked']} items overlap the corpus "
               f"({result['corpus_docs']} documents, {ngram}-grams, threshold {threshold})")
    for row in result["flagged"][:20]:
        click.echo(f"  {row['id']}: {float(row['overlap']):.2f}")


from medsage.cli.data_curate import curate_exams  # noqa: E402  (its own module, to keep this one small)

data.add_command(curate_exams)
