"""Department triage (导诊) as a task: name the departments a complaint belongs to.

Rows (JSONL)::

    {"id": "dt-zh-1", "patient": "孩子3岁，发烧咳嗽有痰……", "reference": "小儿呼吸内科|小儿内科"}

with a candidate list (``--task-option departments=FILE``, one name a line; default: the
shipped 52-department Chinese sample list). An empty reference means "not medical: name
no department". The model is shown the complaint and the candidates and answers with
department names; :func:`medsage.route.deptlist.parse_departments` keeps the candidate names it finds.

Scoring follows the reference formula over department sets: per row, ``tp`` = reference
departments found in the prediction; micro precision = Σtp / Σ|predicted|, micro recall =
Σtp / Σ|reference|, micro-F1 their harmonic mean; exact-set accuracy = share of rows
whose predicted set equals the reference set. Default data: the ``test`` split of the
shipped development set (written by medsage, Apache-2.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.lang import detect_language
from medsage.models.base import Model
from medsage.route.deptlist import parse_departments
from medsage.tasks.base import LoadResult, Task
from medsage.types import CaseState, Message, Sample, Score

PROMPT_ZH = ("你是医院导诊护士。根据患者的描述，从下面的科室列表中选出应该挂的科室（一个或两个，"
             "急症先写急诊科）。只输出科室名称，多个用“|”分隔；若不是医疗问题，输出“无”。\n\n"
             "科室列表：{candidates}\n\n患者：{patient}\n\n科室：")
PROMPT_EN = ("You are a hospital triage nurse. From the department list below, name the department(s) "
             "the patient should attend (one or two; emergency first if urgent). Answer with the "
             "department names only, separated by '|'; answer 'none' if it is not a medical question.\n\n"
             "Departments: {candidates}\n\nPatient: {patient}\n\nDepartments:")


def split_reference(reference: str) -> list[str]:
    """``"科室A|科室B"`` -> ``["科室A", "科室B"]`` (empty string: no department)."""
    return [p.strip() for p in reference.split("|") if p.strip()]




def set_counts(predicted: Iterable[str], reference: Iterable[str]) -> tuple[int, int, int]:
    """``(tp, n_predicted, n_reference)`` for one row (duplicates counted once)."""
    pred, ref = list(dict.fromkeys(predicted)), list(dict.fromkeys(reference))
    return sum(1 for r in ref if r in pred), len(pred), len(ref)


def set_metrics(pairs: Iterable[tuple[Sequence[str], Sequence[str]]]) -> dict[str, float | int]:
    """Micro precision/recall/F1 and exact-set accuracy over ``(predicted, reference)`` pairs."""
    tp = n_pred = n_ref = exact = n = 0
    for pred, ref in pairs:
        t, p, r = set_counts(pred, ref)
        tp, n_pred, n_ref, n = tp + t, n_pred + p, n_ref + r, n + 1
        exact += int(set(pred) == set(ref))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_ref if n_ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": n, "micro_precision": round(precision, 4), "micro_recall": round(recall, 4),
            "micro_f1": round(f1, 4), "exact_set_accuracy": round(exact / n, 4) if n else 0.0,
            "tp": tp, "predicted": n_pred, "reference": n_ref}


def read_candidates(path: str | Path | None) -> list[str]:
    """The candidate list (validated like ``--departments``); default: the 52-name sample."""
    from medsage.route.deptlist import read_names, sample_list_path

    return read_names(path or sample_list_path())


class DepartmentTriageTask(Task):
    """Complaint -> department set from a candidate list; micro-F1 over sets."""

    name = "department_triage"
    description = "Department triage (导诊): departments from a hospital list, micro-F1 over sets"
    metric = "mean"
    citation = "medsage department-triage set (Apache-2.0); metric after PULSE-EVAL triage"

    def load(self, data: str | None = None, **options: Any) -> LoadResult:
        """Rows from ``data`` (default: the shipped test split).

        Options: ``departments`` (candidate list file), ``split`` (``dev``/``test``/``all``).
        """
        from medsage.route.department import devset_path

        path = Path(data) if data else devset_path()
        split = str(options.get("split", "all" if data else "test"))
        candidates = read_candidates(options.get("departments"))
        result = LoadResult(note=f"split={split}" if not data else "")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                result.problems.append(f"{path.name}:{n}: not JSON")
                continue
            patient = str(row.get("patient") or row.get("query") or "").strip()
            if not patient or "reference" not in row:
                result.problems.append(f"{path.name}:{n}: needs patient and reference")
                continue
            if split != "all" and row.get("split", split) != split:
                continue
            ref = split_reference(str(row["reference"]))
            unknown = [r for r in ref if r not in candidates]
            if unknown:
                result.problems.append(f"{path.name}:{n}: reference not in the list: {unknown}")
                continue
            lang = str(row.get("lang") or detect_language(patient))
            result.samples.append(Sample(
                id=str(row.get("id") or f"row{n - 1}"), question=patient, target="|".join(ref),
                metadata={"language": lang, "discipline": row.get("category", ""),
                          "question_type": row.get("kind", ""), "candidates": candidates}))
        if not result.samples:
            raise DataError(f"{path}: no usable triage rows ({len(result.problems)} problems)")
        return result

    def messages(self, sample: Sample, mode: str = "generate", **options: Any) -> list[Message]:
        """The nurse prompt with the candidate list."""
        prompt = PROMPT_ZH if sample.language == "zh" else PROMPT_EN
        sep = "、" if sample.language == "zh" else ", "
        cands = sep.join(sample.metadata["candidates"])
        return [Message("user", prompt.format(candidates=cands, patient=sample.question))]

    async def score(self, state: CaseState, grader: Model | None = None) -> Score:
        """Per-row F1 as the value; counts in metadata for the micro aggregate."""
        text = state.output.text if state.output else ""
        pred = parse_departments(text or "", state.sample.metadata["candidates"])
        ref = split_reference(state.sample.target)
        tp, n_pred, n_ref = set_counts(pred, ref)
        f1 = 1.0 if not pred and not ref else (2 * tp / (n_pred + n_ref) if n_pred + n_ref else 0.0)
        return Score(f1, "|".join(pred), state.sample.target, f"tp={tp} predicted={n_pred} reference={n_ref}",
                     {"tp": tp, "n_predicted": n_pred, "n_reference": n_ref,
                      "exact": set(pred) == set(ref)})

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Micro precision/recall/F1 (the score) and exact-set accuracy over the run."""
        pairs = [(split_reference(str(r.get("answer") or "")), split_reference(str(r.get("target") or "")))
                 for r in records]
        m = set_metrics(pairs)
        return {"score": m["micro_f1"], **m}


TASK = DepartmentTriageTask()
