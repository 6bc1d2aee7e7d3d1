"""Shared machinery for multiple-choice exam tasks: reading, prompting, scoring."""

from __future__ import annotations

import csv
import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.models.base import Model
from medsage.scoring.extract import choice_from_logprobs, extract
from medsage.tasks.base import LoadResult, Task
from medsage.types import CaseState, Message, Sample, Score

log = logging.getLogger(__name__)

LETTERS = "ABCDEFGHIJ"

PROMPTS: dict[str, dict[str, str]] = {
    "en": {
        "system": "You are a medical expert taking a medical licensing examination.",
        "generate": "Answer the following multiple-choice question with the single best option. "
        "Reply in the form 'The answer is X', where X is the option letter.",
        "cot": "Answer the following multiple-choice question. Think step by step briefly, "
        "then finish with a line of the form 'The answer is X', where X is the option letter.",
        "likelihood": "Answer the following multiple-choice question. Reply with the option letter only.",
        "cloze": "Answer the following medical exam question with the text of the correct answer.",
        "question": "Question",
        "context": "Context",
    },
    "zh": {
        "system": "你是一名正在参加医师资格考试的医学专家。",
        "generate": "以下是一道单项选择题，请选出唯一最佳答案，并以“答案：X”的格式作答（X为选项字母）。",
        "cot": "以下是一道单项选择题。请先简要分析，最后单独一行以“答案：X”的格式作答（X为选项字母）。",
        "likelihood": "以下是一道单项选择题。只回答选项字母。",
        "cloze": "以下是一道医学考试题。直接写出正确答案的内容。",
        "question": "题目",
        "context": "资料",
    },
}
MODES = ("generate", "cot", "likelihood")


def read_rows(path: Path, fmt: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(location, record)`` from a json, jsonl, csv or parquet file.

    JSON lines that do not parse come back as ``None`` records (the loader reports them);
    a JSON object yields ``(value, key)`` pairs, a JSON list its items, a CSV its rows.

    Raises:
        DataError: empty, truncated, non-UTF-8 or unparseable files.
    """
    if path.is_dir():
        raise DataError(f"{path}: is a folder; this task reads one {fmt} file — pass the file's path")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".parquet":
        yield from _read_parquet(path)
        return
    text = _read_text(path)
    if fmt == "jsonl":
        yield from read_rows_jsonl_text(path, text)
    elif fmt == "json":
        yield from _json_rows(path, text)
    elif fmt in ("csv", "csv-noheader"):
        yield from _csv_rows(path, text)
    else:
        raise DataError(f"unknown format {fmt}")


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from exc
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


def _json_rows(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{") and "\n{" in text:  # some "json" sources are really JSON lines
            yield from read_rows_jsonl_text(path, text)
            return
        raise DataError(f"{path}: invalid or truncated JSON ({exc})") from exc
    if isinstance(data, dict):
        for key, value in data.items():
            yield f"{path}:{key}", (value, key)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield f"{path}:item {i}", value
    else:
        raise DataError(f"{path}: expected a JSON list or object")


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield f"{path}:{reader.line_num}", row
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from exc


def _read_parquet(path: Path) -> Iterator[tuple[str, Any]]:
    """Rows of a parquet file (the hub's dataset format) as dicts; needs pyarrow."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        from medsage.errors import MissingExtraError

        raise MissingExtraError("pyarrow", "hub", "reading parquet files from the hub") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{path}: unreadable parquet file ({exc})") from exc
    for i, rec in enumerate(table.to_pylist()):
        yield f"{path}:row {i}", rec


def read_rows_jsonl_text(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """``(path:line, record)`` for each non-blank line of ``text``; ``None`` for lines that do not parse."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield f"{path}:{lineno}", json.loads(line)
            except ValueError:
                yield f"{path}:{lineno}", None


def validate(sample_id: str, question: str, choices: dict[str, str], answer: str) -> str | None:
    """Why a row is unusable, or ``None`` when it is fine."""
    if not question or not str(question).strip():
        return "empty question"
    if len(choices) < 2 or any(not str(v).strip() for v in choices.values()):
        return "missing options"
    if answer not in choices:
        return f"answer key {answer!r} is not among the options {''.join(choices)}"
    return None


@dataclass
class ExamTask(Task):
    """A multiple-choice exam benchmark.

    Args:
        name: Registry name.
        description: One line.
        citation: Source paper/data.
        language: ``en`` or ``zh`` (default for samples without their own).
        parse: Function ``(path, options) -> LoadResult`` reading the native files.
        default_data: Usual location relative to a data root (for messages and docs).
        hub: ``{"repo": ..., "file": ...}`` where the data can be fetched from the
            Hugging Face hub when the user allows downloads.
    """

    name: str = ""
    description: str = ""
    citation: str = ""
    language: str = "en"
    parse: Callable[[Path, dict[str, Any]], LoadResult] | None = None
    default_data: str | None = None
    hub: dict[str, str] | None = None
    metric: str = "accuracy"
    modes: tuple[str, ...] = MODES
    extra: dict[str, Any] = field(default_factory=dict)

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """The items of ``data`` (or the default data) read by this exam's parser.

        Raises:
            DataError: There is no parser or no usable item.
        """
        from medsage.tasks.sources import resolve_data

        if self.parse is None:
            raise DataError(f"task {self.name} has no loader")
        path = resolve_data(self, data, download=bool(options.get("download")))
        result = self.parse(path, options)
        if not result.samples:
            raise DataError(f"{path}: no usable {self.name} items ({len(result.problems)} rows skipped)")
        return result

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """System and user messages in the item's language; ``mode`` picks the instruction."""
        return exam_messages(sample, mode)

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Exact match of the chosen letter, from the log-probs when present else from the text."""
        return score_choice(state)


def exam_messages(sample: Sample, mode: str = "generate") -> list[Message]:
    """System + user messages for a multiple-choice item in the item's language.

    Mode ``cloze`` (``domain``'s option-text scoring) leaves the options out: their texts are
    scored as the answer instead.
    """
    p = PROMPTS["zh" if sample.language == "zh" else "en"]
    instruction = p.get(mode, p["generate"])
    parts = [instruction, ""]
    context = sample.metadata.get("context")
    if context:
        parts += [f"{p['context']}: {context}", ""]
    parts.append(f"{p['question']}: {sample.question.strip()}")
    if mode != "cloze":
        parts.append("")
        parts += [f"{k}. {v}" for k, v in sample.choices.items()]
    return [Message("system", p["system"]), Message("user", "\n".join(parts))]


def score_choice(state: CaseState) -> Score:
    """Score a multiple-choice output: letter from log-probs (likelihood mode) or from text."""
    out = state.output
    sample = state.sample
    if out is None or out.error:
        return Score(0.0, None, sample.target, explanation=f"model error: {out.error if out else 'no output'}")
    answer: str | None = None
    how, reason = "text", ""
    if out.top_logprobs:
        answer = choice_from_logprobs(out.top_logprobs, sample.choices)
        how = "logprobs"
    if answer is None:
        found = extract(out.text, sample.choices)
        answer, reason, how = found.letter, found.reason, "text"
    value = 1.0 if answer is not None and answer == sample.target else 0.0
    meta: dict[str, Any] = {"extracted_from": how}
    if reason:
        meta["unparsed_reason"] = reason
    return Score(value, answer, sample.target, explanation="" if answer else f"unparsed ({reason or 'no answer'})",
                 metadata=meta)


def shuffle_choices(sample: Sample, seed: int) -> Sample:
    """Permute the options (seeded by ``seed`` and the sample id) and remap the target."""
    rng = random.Random(f"{seed}:{sample.id}")
    texts = list(sample.choices.values())
    old_letters = list(sample.choices)
    order = list(range(len(texts)))
    rng.shuffle(order)
    new_choices = {LETTERS[i]: texts[j] for i, j in enumerate(order)}
    target_idx = old_letters.index(sample.target) if sample.target in old_letters else -1
    new_target = LETTERS[order.index(target_idx)] if target_idx >= 0 else sample.target
    meta = dict(sample.metadata, original_target=sample.target, option_order="".join(old_letters[j] for j in order))
    return replace(sample, choices=new_choices, target=new_target, metadata=meta)


def make_sample(
    where: str,
    sample_id: str,
    question: Any,
    choices: dict[str, Any],
    answer: Any,
    meta: dict[str, Any],
    result: LoadResult,
) -> None:
    """Validate one row and append it to ``result`` (or record why it was skipped)."""
    clean = {str(k).strip().upper(): str(v).strip() for k, v in choices.items() if v is not None and str(v).strip() != ""}
    answer_s = str(answer).strip().upper() if answer is not None else ""
    problem = validate(sample_id, str(question or ""), clean, answer_s)
    if problem:
        result.problems.append(f"{where}: {problem}")
        return
    meta = {k: v for k, v in meta.items() if v not in (None, "")}
    meta["where"] = where
    result.samples.append(Sample(str(sample_id), str(question).strip(), clean, answer_s, meta))
