"""Builders: one function per source kind, from a user-given path to training records.

Each turns the path into chat-format :class:`~medsage.train.records.Record` objects with
provenance and licence. Rows that cannot make a record (no answer, no key) are not dropped
silently: they come back as ``problems`` (``"file:line: reason"``).
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from medsage.errors import DataError, SpecError
from medsage.lang import detect_language
from medsage.registry import data_builders
from medsage.train.records import Record, read_records
from medsage.train.sources.exams import ExamItem, load_exam_items

# Licence of each public source as published (see /work/shared/data/SOURCES.md).
LICENSES: dict[str, str] = {
    "medmcqa": "MIT",
    "medqa": "MIT",
    "mmlu": "MIT",
    "cnmleqa": "unknown",
    "cmmlu": "CC BY-NC-SA 4.0",
    "exam": "unknown",
    "medquad": "CC BY 4.0",
    "aci": "CC BY 4.0",
    "mts": "CC BY 4.0",
    "medsafetybench": "MIT",
}


@dataclass
class BuildResult:
    """Records built from one source plus the rows that could not be used."""

    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def exam_prompt(item: ExamItem) -> str:
    """The user turn for an exam item: stem, lettered options, instruction."""
    opts = "\n".join(f"{k}. {v}" for k, v in item.choices.items())
    tail = "请给出正确选项的字母。" if item.language == "zh" else "Answer with the letter of the correct option."
    return f"{item.question.strip()}\n\n{opts}\n\n{tail}"


def exam_answer(item: ExamItem, letter: str, with_explanation: bool = True) -> str:
    """An assistant answer naming ``letter`` (plus the item's explanation if any)."""
    return answer_text(letter, item.choices.get(letter, ""), item.language == "zh",
                       item.explanation if with_explanation else "")


def answer_text(letter: str, option_text: str, zh: bool, explanation: str = "") -> str:
    """"The answer is X. <option>" (or "答案：X。<option>"), then the explanation if any."""
    out = f"答案：{letter}。{option_text.strip()}" if zh else f"The answer is {letter}. {option_text.strip()}"
    exp = _clean_space(explanation)
    if exp:
        out += f"\n{'解析' if zh else 'Explanation'}: {exp}"
    return out


def build_exam(path: str, source: str = "exam", license: str | None = None) -> BuildResult:
    """Exam items (any format :mod:`medsage.train.sources.exams` reads) -> Q/A records.

    Rows the format's task loader skips come back as problems, as do items without options.
    """
    got = load_exam_items(path)
    res = BuildResult(problems=list(got.problems))
    for it in got.items:
        where = f"{it.path}:{it.line}"
        if not it.choices:
            res.problems.append(f"{where}: no options")
            continue
        if it.answer not in it.choices:
            res.problems.append(f"{where}: answer key {it.answer!r} is not one of the options")
            continue
        msgs = [{"role": "user", "content": exam_prompt(it)},
                {"role": "assistant", "content": exam_answer(it, it.answer)}]
        res.records.append(Record(
            id=f"{source}:{it.id}", messages=msgs, source=source,
            license=license or LICENSES.get(source, "unknown"), language=it.language,
            provenance={"path": it.path, "line": it.line, "source_id": it.id},
            meta={"kind": "exam", "answer": it.answer, "choices": it.choices,
                  "explanation": it.explanation, "discipline": it.discipline},
        ))
    return res


def build_medquad(path: str, source: str = "medquad", license: str | None = None) -> BuildResult:
    """MedQuAD XML documents (one per file, ``<QAPair>`` elements) -> Q/A records."""
    root = Path(path)
    files = sorted(root.rglob("*.xml")) if root.is_dir() else [root]
    if not files or not files[0].exists():
        raise DataError(f"{path}: no MedQuAD XML files")
    res = BuildResult()
    for f in files:
        try:
            doc = ET.parse(f).getroot()
        except ET.ParseError as exc:
            res.problems.append(f"{f}: malformed XML ({exc})")
            continue
        focus = (doc.findtext("Focus") or "").strip()
        for pair in doc.iter("QAPair"):
            q_el = pair.find("Question")
            q = _clean_space(q_el.text or "") if q_el is not None else ""
            a = _clean_space(pair.findtext("Answer") or "")
            qid = q_el.get("qid", "") if q_el is not None else ""
            where = f"{f}:{qid or pair.get('pid', '?')}"
            if not q or not a:
                res.problems.append(f"{where}: empty {'question' if not q else 'answer'}")
                continue
            res.records.append(Record(
                id=f"{source}:{f.parent.name}/{qid or f.stem + '-' + str(pair.get('pid'))}",
                messages=[{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                source=source, license=license or LICENSES["medquad"], language=detect_language(q),
                provenance={"path": str(f), "qid": qid, "url": doc.get("url", ""),
                            "publisher": doc.get("source", "")},
                meta={"kind": "qa", "focus": focus, "qtype": q_el.get("qtype", "") if q_el is not None else ""},
            ))
    return res


def _read_csv_rows(path: str) -> list[tuple[int, dict[str, str]]]:
    p = Path(path)
    files = sorted(p.rglob("*.csv")) if p.is_dir() else [p]
    out: list[tuple[int, dict[str, str]]] = []
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: no such file")
        with f.open(encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh), 2):
                row["__path__"] = str(f)
                out.append((n, row))
    return out


def build_aci(path: str, source: str = "aci", license: str | None = None) -> BuildResult:
    """ACI-Bench CSV (``dialogue``, ``note``) -> dialogue-to-note records."""
    res = BuildResult()
    for n, row in _read_csv_rows(path):
        where = f"{row['__path__']}:{n}"
        dia, note = (row.get("dialogue") or "").strip(), (row.get("note") or "").strip()
        if not dia or not note:
            res.problems.append(f"{where}: empty {'dialogue' if not dia else 'note'}")
            continue
        rid = row.get("encounter_id") or str(n)
        res.records.append(Record(
            id=f"{source}:{Path(row['__path__']).stem}:{rid}",
            messages=[{"role": "user", "content": "Write the clinical note for this doctor-patient "
                       f"encounter.\n\n{dia}"}, {"role": "assistant", "content": note}],
            source=source, license=license or LICENSES["aci"], language="en",
            provenance={"path": row["__path__"], "line": n, "source_id": rid},
            meta={"kind": "note", "dataset": row.get("dataset", "")},
        ))
    return res


def build_mts(path: str, source: str = "mts", license: str | None = None) -> BuildResult:
    """MTS-Dialog CSV (``section_header``, ``section_text``, ``dialogue``) -> records."""
    res = BuildResult()
    for n, row in _read_csv_rows(path):
        where = f"{row['__path__']}:{n}"
        dia, text = (row.get("dialogue") or "").strip(), (row.get("section_text") or "").strip()
        header = (row.get("section_header") or "").strip()
        if not dia or not text:
            res.problems.append(f"{where}: empty {'dialogue' if not dia else 'section_text'}")
            continue
        rid = row.get("ID") or str(n)
        res.records.append(Record(
            id=f"{source}:{Path(row['__path__']).stem}:{rid}",
            messages=[{"role": "user", "content": f"Write the {header} section of the clinical note "
                       f"for this dialogue.\n\n{dia}"}, {"role": "assistant", "content": text}],
            source=source, license=license or LICENSES["mts"], language="en",
            provenance={"path": row["__path__"], "line": n, "source_id": rid},
            meta={"kind": "note_section", "section": header},
        ))
    return res


def build_safety(path: str, source: str = "medsafetybench", license: str | None = None) -> BuildResult:
    """MedSafetyBench CSVs (``harmful_medical_request``, ``safe_response``) -> safe-answer records."""
    res = BuildResult()
    for n, row in _read_csv_rows(path):
        where = f"{row['__path__']}:{n}"
        req = (row.get("harmful_medical_request") or "").strip()
        safe = (row.get("safe_response") or "").strip()
        if not req or not safe:
            res.problems.append(f"{where}: empty {'request' if not req else 'safe_response'}")
            continue
        f = Path(row["__path__"])
        cat = re.sub(r"\D", "", f.stem.rsplit("_", 1)[-1]) or "?"
        res.records.append(Record(
            id=f"{source}:{f.parent.name}:{cat}:{n - 2}",
            messages=[{"role": "user", "content": req}, {"role": "assistant", "content": safe}],
            source=source, license=license or LICENSES["medsafetybench"], language="en",
            provenance={"path": str(f), "line": n},
            meta={"kind": "safety", "category": cat, "generator": f.parent.name},
        ))
    return res


def build_chat(path: str, source: str = "chat", license: str | None = None) -> BuildResult:
    """An existing chat-format JSONL (validated strictly; licence kept per record)."""
    return BuildResult(records=read_records(path))


def build_source(kind: str, path: str, license: str | None = None) -> BuildResult:
    """Run the builder registered for ``kind`` (:data:`medsage.registry.data_builders`) on ``path``.

    Ids a source repeats get a ``#n`` suffix so every record id is unique.

    Raises:
        SpecError: ``kind`` is not a registered data source.
    """
    if kind not in data_builders:
        raise SpecError(f"unknown data source '{kind}' (known: {', '.join(data_builders.names())})")
    res: BuildResult = data_builders.get(kind)(path, source=kind, license=license)
    seen: dict[str, int] = {}
    for rec in res.records:
        n = seen.get(rec.id, 0)
        seen[rec.id] = n + 1
        if n:
            rec.id = f"{rec.id}#{n}"
    return res


def _clean_space(text: str) -> str:
    return re.sub(r"[ \t]+", " ", re.sub(r"\s*\n\s*", "\n", text)).strip()
