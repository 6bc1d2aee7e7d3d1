"""Run tasks against a model or pipeline: async, bounded, cached, resumable.

For each sample: the task builds messages, the model (or pipeline) answers, the
task scores the output; every finished sample is appended to ``samples.jsonl`` at
once, and every model answer is stored in the on-disk response cache, so a run that
is killed and started again (same ``--out``) asks no question twice and loses none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsage.cache import CachedModel, ResponseCache
from medsage.errors import SpecError
from medsage.models.base import Model, get_model, parse_spec
from medsage.progress import Progress
from medsage.registry import tasks as task_registry
from medsage.tasks.base import Scorer, Task
from medsage.types import CaseState, GenerateConfig, ModelOutput, Sample, Score

log = logging.getLogger(__name__)

MODE_CONFIGS = {
    "generate": GenerateConfig(max_tokens=128),
    "cot": GenerateConfig(max_tokens=768),
    "likelihood": GenerateConfig(max_tokens=1, top_logprobs=20),
}


@dataclass
class EvalConfig:
    """Everything that defines a run (saved as ``config.json``)."""

    tasks: list[str]
    model: str
    model_options: dict[str, Any] = field(default_factory=dict)
    pipeline: str | None = None
    pipeline_options: dict[str, Any] = field(default_factory=dict)
    grader: str | None = None
    grader_options: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    task_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    mode: str = "generate"
    concurrency: int = 8
    out_dir: Path | None = None
    seed: int = 0
    shuffle: bool = False
    shuffle_options: bool = False
    max_tokens: int | None = None
    cache: bool = True
    cache_path: Path | None = None
    pass_line: float = 0.6
    progress: bool | None = None
    task_defaults: bool = False  # apply each task's ``bench_defaults`` under task_options (the CLI does)


@dataclass
class RunResult:
    """Where the run's artefacts are and its summary."""

    run_dir: Path
    summary: dict[str, Any]


def get_task(name: str) -> Task:
    """A registered task by name (instances or zero-argument factories)."""
    obj = task_registry.get(name)
    task = obj() if isinstance(obj, type) else obj
    if not isinstance(task, Task):
        raise SpecError(f"task '{name}' is not a medsage Task")
    return task


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60]


def default_run_dir(cfg: EvalConfig) -> Path:
    """``runs/<UTC time>_<tasks>_<model>[_<pipeline>]``, the run folder when none is given."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = "+".join(cfg.tasks) + "_" + cfg.model + (f"_{cfg.pipeline}" if cfg.pipeline else "")
    return Path("runs") / f"{stamp}_{_slug(name)}"


def _read_done(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Records already finished in a previous attempt (a torn last line is dropped)."""
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "task" in rec and "id" in rec:
            done[(rec["task"], str(rec["id"]))] = rec
    return done


def _select(samples: list[Sample], cfg: EvalConfig) -> list[Sample]:
    import random

    out = list(samples)
    if cfg.shuffle:
        random.Random(cfg.seed).shuffle(out)
    if cfg.limit is not None:
        out = out[: cfg.limit]
    if cfg.shuffle_options:
        from medsage.tasks.exams.common import shuffle_choices

        out = [shuffle_choices(s, cfg.seed) if s.choices else s for s in out]
    return out


# Sample metadata kept out of result records: the row's file location and long texts (the PubMedQA
# abstract, an exam's explanation, which results never needed).
_UNRECORDED_META = ("context", "where", "explanation")


def _record(task: str, cfg: EvalConfig, gen_name: str, state: CaseState, score: Score, latency: float,
            binary: bool = False, queue_s: float = 0.0) -> dict[str, Any]:
    out = state.output or ModelOutput(error="no output")
    extras = dict(out.extras)
    if state.citations:
        extras.setdefault("citations", [asdict(c) for c in state.citations])
    if state.findings:
        extras.setdefault("findings", [asdict(f) for f in state.findings])
    if state.trace:
        extras.setdefault("trace", list(state.trace))
    extras.update(score.metadata)
    is_exam = bool(state.sample.choices)
    return {
        "task": task,
        "id": state.sample.id,
        "model": cfg.model,
        "pipeline": cfg.pipeline,
        "mode": cfg.mode,
        "messages": [m.to_dict() for m in state.messages],
        "response": out.text,
        "answer": score.answer,
        "target": score.target or state.sample.target,
        "correct": (score.value >= 1.0) if is_exam or binary else None,
        "score": score.value,
        "unparsed": is_exam and score.answer is None and out.error is None,
        "error": out.error,
        "latency_s": round(latency, 3),
        "queue_s": round(queue_s, 3),
        "n_choices": len(state.sample.choices) if is_exam else None,
        "finished_at": round(time.time(), 3),
        "prompt_tokens": out.usage.prompt_tokens,
        "completion_tokens": out.usage.completion_tokens,
        "cached": out.cached,
        "metadata": {k: v for k, v in state.sample.metadata.items() if k not in _UNRECORDED_META},
        "extras": extras,
    }


_flush_pending: set[int] = set()


def _flush_soon(fh: Any) -> None:
    """Flush ``fh`` once the event loop has handled every answer that is ready now.

    Answers arrive in bursts at high concurrency; one flush per burst instead of per
    sample saves a system call each, and a finished sample still reaches the file
    within one loop iteration.
    """
    key = id(fh)
    if key in _flush_pending:
        return
    _flush_pending.add(key)

    def flush() -> None:
        _flush_pending.discard(key)
        if not fh.closed:
            fh.flush()

    asyncio.get_running_loop().call_soon(flush)


async def _run_task(
    task_name: str, task: Task, samples: list[Sample], gen: Model, grader: Model | None,
    cfg: EvalConfig, out_fh: Any, done: dict[tuple[str, str], dict[str, Any]],
) -> list[dict[str, Any]]:
    base = MODE_CONFIGS.get(cfg.mode, MODE_CONFIGS["generate"])
    config = GenerateConfig(
        max_tokens=cfg.max_tokens or answer_tokens(task, cfg.mode) or base.max_tokens, temperature=0.0, seed=cfg.seed,
        top_logprobs=base.top_logprobs,
    )
    sem = asyncio.Semaphore(max(1, cfg.concurrency))
    records: list[dict[str, Any]] = []
    todo = [s for s in samples if (task_name, s.id) not in done]
    records.extend(done[(task_name, s.id)] for s in samples if (task_name, s.id) in done)
    progress = Progress(len(todo), f"{task_name} · {gen.name}", cfg.progress, unit="samples")
    scorer: Scorer = task.score

    async def one(sample: Sample) -> None:
        async with sem:
            state = CaseState(sample=sample, messages=tuple(task.messages(sample, cfg.mode)), config=config)
            start = time.perf_counter()
            try:
                # the solver sees the item, never its answer
                state = (await task.solve(state.evolve(sample=blind(sample)), gen)).evolve(sample=sample)
            except (asyncio.CancelledError, KeyboardInterrupt, SpecError):
                raise
            except Exception as exc:  # a model error on one sample is recorded on it
                from medsage.errors import ModelError

                if isinstance(exc, ModelError):
                    raise
                log.debug("sample %s failed", sample.id, exc_info=True)
                state = state.evolve(output=ModelOutput(model=gen.name, error=f"{type(exc).__name__}: {exc}"))
            wall = time.perf_counter() - start
            out = state.output
            if out is not None and not out.error and not out.text.strip() and not out.top_logprobs:
                state = state.evolve(output=ModelOutput(model=out.model, usage=out.usage, error="empty reply",
                                                        latency_s=out.latency_s))
            score = await scorer(state, grader)
            model_s, queue_s = split_latency(out, wall)
            rec = _record(task_name, cfg, gen.name, state, score, model_s,
                          binary=getattr(task, "metric", "accuracy") == "accuracy", queue_s=queue_s)
            out_fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            _flush_soon(out_fh)
            records.append(rec)
            progress.step()

    try:
        await asyncio.gather(*(one(s) for s in todo))
    finally:
        progress.close()
    order = {s.id: i for i, s in enumerate(samples)}
    records.sort(key=lambda r: order.get(str(r["id"]), 0))
    return records


def answer_tokens(task: Task, mode: str) -> int | None:
    """The task's own answer budget for ``mode`` (e.g. exam-sample's short generate replies)."""
    budget = getattr(task, "answer_tokens", None) or {}
    value = budget.get(mode) if isinstance(budget, dict) else None
    return int(value) if value else None


def split_latency(out: ModelOutput | None, wall: float) -> tuple[float, float]:
    """(model seconds, queue seconds) of one sample.

    The model's own ``latency_s`` (time in its slot; for a cached answer the original
    time) is the model time; the rest of the sample's wall time, spent waiting for a free
    slot or in the pipeline around the model, is queue time.
    """
    if out is None:
        return wall, 0.0
    if out.cached:
        return float(out.latency_s or 0.0), 0.0
    model_s = float(out.latency_s or 0.0)
    if model_s <= 0 or model_s > wall:
        model_s = wall
    return model_s, max(0.0, wall - model_s)


def blind(sample: Sample) -> Sample:
    """``sample`` without its answer: what a pipeline may see."""
    meta = {k: v for k, v in sample.metadata.items() if k not in ("original_target", "answer", "explanation")}
    return replace(sample, target="", metadata=meta)


def build_generator(cfg: EvalConfig, cache: ResponseCache | None) -> Model:
    """The model (cached) wrapped in the configured pipeline, if any."""
    model = get_model(parse_spec(cfg.model, cfg.model_options))
    if cfg.mode == "likelihood" and not model.supports_logprobs:
        raise SpecError(f"{cfg.model} does not expose log-probabilities: use --mode generate")
    if cache is not None:
        model = CachedModel(model, cache)
    if cfg.pipeline:
        from medsage.pipeline import get_pipeline

        return get_pipeline(cfg.pipeline, model, cfg.pipeline_options)
    return model


def _validate_specs(cfg: EvalConfig) -> None:
    """Fail on a malformed or unknown model/grader/pipeline before any data is read."""
    from medsage.registry import pipelines, providers

    for spec in (cfg.model, cfg.grader):
        if spec:
            providers.get(parse_spec(spec).provider)
    if cfg.pipeline:
        pipelines.get(cfg.pipeline)


def _check_same_run(run_dir: Path, cfg: EvalConfig) -> None:
    """Refuse to resume into a folder that holds a run whose answers could differ."""
    from medsage.resume import check_same_run

    check_same_run(run_dir, cfg)


async def run_eval(cfg: EvalConfig) -> RunResult:
    """Run ``cfg`` and write its artefacts; returns the run directory and summary."""
    from medsage.report.html import write_html
    from medsage.report.summary import summarise

    if cfg.mode not in MODE_CONFIGS:
        raise SpecError(f"unknown mode '{cfg.mode}' (use {', '.join(MODE_CONFIGS)})")
    _validate_specs(cfg)
    loaded: list[tuple[str, Task, list[Sample], list[str]]] = []
    notes: dict[str, str] = {}
    for name in cfg.tasks:  # load every task first: bad data fails before any model call
        task = get_task(name)
        if cfg.mode not in getattr(task, "modes", ("generate",)):
            raise SpecError(f"task {name} does not support --mode {cfg.mode}")
        data = cfg.data.get(name) or cfg.data.get("")
        topts = {**(getattr(task, "bench_defaults", None) or {}), **cfg.task_options} if cfg.task_defaults \
            else dict(cfg.task_options)
        result = task.load(data, **topts)
        for problem in result.problems:
            log.warning("skipped %s", problem)
        loaded.append((name, task, _select(result.samples, cfg), result.problems))
        notes[name] = result.note

    run_dir = cfg.out_dir or default_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    _check_same_run(run_dir, cfg)
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    samples_path = run_dir / "samples.jsonl"
    done = _read_done(samples_path)
    cache = ResponseCache(cfg.cache_path) if cfg.cache else None
    gen = build_generator(cfg, cache)
    grader: Model | None = None
    if cfg.grader:
        # the run's cache setting travels with the grader: with cfg.cache off it is a
        # pass-through that tells the rubric grader not to add a cache of its own
        grader = CachedModel(get_model(parse_spec(cfg.grader, cfg.grader_options)), cache)
    from medsage.resume import end_part, start_part

    part = start_part(run_dir, len(done))
    started = time.perf_counter()
    all_records: dict[str, list[dict[str, Any]]] = {}
    problems: dict[str, list[str]] = {}
    try:
        with samples_path.open("w", encoding="utf-8") as fh:
            for rec in done.values():  # rewrite cleanly (drops a torn last line)
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            for name, task, samples, task_problems in loaded:
                all_records[name] = await _run_task(name, task, samples, gen, grader, cfg, fh, done)
                problems[name] = task_problems
    except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C: samples.jsonl holds every finished sample
        end_part(run_dir, part, time.perf_counter() - started, _count_lines(samples_path) - len(done), True)
        raise
    finally:
        await gen.aclose()
        if grader is not None:
            await grader.aclose()
        if cache is not None:
            cache.close()
    with samples_path.open("w", encoding="utf-8") as fh:
        for recs in all_records.values():
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    wall = time.perf_counter() - started
    new = sum(1 for recs in all_records.values() for r in recs if (r["task"], str(r["id"])) not in done)
    end_part(run_dir, part, wall, new, False)
    summary = summarise(all_records, problems, cfg, wall_s=wall, run_dir=run_dir,
                        task_objs={name: task for name, task, _, _ in loaded})
    for name, note in notes.items():
        if note and name in summary["tasks"]:
            summary["tasks"][name]["selection"] = note
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    write_html(summary, all_records, run_dir / "report.html")
    return RunResult(run_dir, summary)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 0
