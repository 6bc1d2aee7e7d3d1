"""Read exam items from the file formats of the public medical exam sets.

Used twice: to build training records from exam items with explanations, and
(as a fallback while a benchmark task module is missing) to read benchmark test
items for decontamination. Formats are detected from the content:

* MedMCQA JSON lines (``opa``..``opd``, 1-based ``cop``, explanation ``exp``)
* MedQA JSON lines (``question``, ``options`` dict, ``answer_idx``)
* CNMLEQA JSON array (``opa``..``ope``, ``answer`` = ``"opb"``)
* CMMLU CSV (header ``,Question,A,B,C,D,Answer``) and MMLU CSV (no header)
* PubMedQA ``ori_pqal.json`` (``{pmid: {QUESTION, final_decision, ...}}``)
* anything else with a ``question``/``prompt``/``description``/``dialogue`` text
  (open tasks: HealthBench, CMB-Clin, ACI-Bench, MTS-Dialog), choices empty.

A directory is read file by file (``*.csv``, ``*.json``, ``*.jsonl``), sorted.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.train.text import detect_language

LETTERS = "ABCDEFGH"
_TEXT_KEYS = ("question", "Question", "QUESTION", "description", "dialogue", "input")


@dataclass
class ExamItem:
    """One exam question (or open benchmark prompt) as read from a file."""

    id: str
    question: str
    choices: dict[str, str] = field(default_factory=dict)
    answer: str = ""
    explanation: str = ""
    language: str = "en"
    discipline: str = ""
    path: str = ""
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def read_exam_items(path: str | Path) -> list[ExamItem]:
    """Read every item under ``path`` (a file or a directory).

    Raises:
        DataError: when the path is missing, unreadable or holds no item.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.suffix in (".csv", ".json", ".jsonl"))
        items = [it for f in files for it in _read_file(f)]
    elif p.is_file():
        items = _read_file(p)
    else:
        raise DataError(f"{p}: no such file or directory")
    if not items:
        raise DataError(f"{p}: no exam items found")
    return items


def _read_file(p: Path) -> list[ExamItem]:
    if p.suffix == ".csv":
        return _read_csv(p)
    text = p.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped[0] in "[{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return [it for i, o in enumerate(data) if (it := _from_obj(o, p, i + 1)) is not None]
        if isinstance(data, dict):
            if all(isinstance(v, dict) and "QUESTION" in v for v in data.values()):
                return [_pubmedqa(k, v, p, i + 1) for i, (k, v) in enumerate(data.items())]
            one = _from_obj(data, p, 1)
            return [one] if one else []
    out: list[ExamItem] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
        it = _from_obj(obj, p, lineno)
        if it is not None:
            out.append(it)
    return out


def _from_obj(o: Any, p: Path, line: int) -> ExamItem | None:
    if not isinstance(o, dict):
        return None
    rid = str(o.get("id", line - 1))
    if "opa" in o:  # MedMCQA / CNMLEQA
        choices = {L: str(o[k]) for L, k in zip(LETTERS, ("opa", "opb", "opc", "opd", "ope"), strict=False) if o.get(k) not in (None, "")}
        ans = o.get("cop", o.get("answer", ""))
        if isinstance(ans, int):
            answer = LETTERS[ans - 1] if 1 <= ans <= len(choices) else ""
        else:
            s = str(ans).strip()
            answer = s[2:].upper() if s.startswith("op") else s.upper()
        q = str(o.get("question", ""))
        return ExamItem(rid, q, choices, answer, str(o.get("exp") or ""), detect_language(q),
                        str(o.get("subject_name") or o.get("question_type") or ""), str(p), line)
    if isinstance(o.get("options"), dict):  # MedQA
        q = str(o.get("question", ""))
        choices = {str(k): str(v) for k, v in o["options"].items()}
        return ExamItem(str(o.get("id", line - 1)), q, choices, str(o.get("answer_idx", "")), "",
                        detect_language(q), str(o.get("meta_info", "")), str(p), line)
    if isinstance(o.get("prompt"), list):  # HealthBench-style chat prompt
        q = "\n".join(str(m.get("content", "")) for m in o["prompt"] if isinstance(m, dict))
        return ExamItem(str(o.get("prompt_id", rid)), q, language=detect_language(q), path=str(p), line=line)
    for key in _TEXT_KEYS:
        if isinstance(o.get(key), str) and o[key].strip():
            q = o[key]
            ch = o.get("choices")
            choices = {str(k): str(v) for k, v in ch.items()} if isinstance(ch, dict) else {}
            return ExamItem(rid, q, choices, str(o.get("answer", "")), str(o.get("explanation", "")),
                            detect_language(q), str(o.get("discipline", "")), str(p), line)
    return None


def _pubmedqa(pmid: str, v: dict[str, Any], p: Path, line: int) -> ExamItem:
    label = {"yes": "A", "no": "B", "maybe": "C"}.get(str(v.get("final_decision", "")), "")
    return ExamItem(pmid, str(v["QUESTION"]), {"A": "yes", "B": "no", "C": "maybe"}, label,
                    str(v.get("LONG_ANSWER", "")), "en", "", str(p), line)


def _read_csv(p: Path) -> list[ExamItem]:
    with p.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return []
    head = [h.strip() for h in rows[0]]
    discipline = p.stem.replace("_test", "").replace("_dev", "")
    out: list[ExamItem] = []
    if "Question" in head and "Answer" in head:  # CMMLU
        qi, ai = head.index("Question"), head.index("Answer")
        li = {L: head.index(L) for L in "ABCD" if L in head}
        for n, r in enumerate(rows[1:], 2):
            if len(r) < len(head):
                raise DataError(f"{p}:{n}: expected {len(head)} columns, got {len(r)}")
            rid = r[0] if head[0] == "" else str(n - 2)
            q = r[qi]
            out.append(ExamItem(f"{discipline}-{rid}", q, {L: r[i] for L, i in li.items()}, r[ai].strip(),
                                "", detect_language(q), discipline, str(p), n))
        return out
    if "dialogue" in head:  # ACI-Bench / MTS-Dialog: the dialogue is the test input
        di = head.index("dialogue")
        idk = next((head.index(k) for k in ("encounter_id", "ID") if k in head), None)
        for n, r in enumerate(rows[1:], 2):
            if len(r) <= di:
                raise DataError(f"{p}:{n}: missing 'dialogue' column")
            rid = r[idk] if idk is not None else str(n - 2)
            out.append(ExamItem(rid, r[di], language=detect_language(r[di]), discipline=discipline, path=str(p), line=n))
        return out
    for n, r in enumerate(rows, 1):  # MMLU: question,A,B,C,D,answer
        if len(r) != 6:
            raise DataError(f"{p}:{n}: expected 6 columns (question,A,B,C,D,answer), got {len(r)}")
        out.append(ExamItem(f"{discipline}-{n - 1}", r[0], dict(zip("ABCD", r[1:5], strict=True)),
                            r[5].strip(), "", detect_language(r[0]), discipline, str(p), n))
    return out
