"""Chinese dialogue understanding on MIE cardiology dialogues (Zhang et al., ACL 2020).

Labels are ``类别:实体-状态:状态`` strings (categories 症状/检查/手术/一般信息,
statuses 阳性/阴性/医生阳性/医生阴性/未知). The data has no licence, so it is
read from the user's path and never shipped; the ontology and synonym list
(``ontology.json``, ``example_dict.json``) come from that same folder.

The extractor here is lexicon + rules: find ontology terms and synonyms in each
utterance, then set the status from the speaker, negation and question cues.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from medsage.errors import DataError

LABEL_RE = re.compile(r"(症状|检查|手术|一般信息)\s*[:：]\s*([^\s\-:：,，]+?)\s*-\s*状态\s*[:：]\s*(医生阳性|医生阴性|阳性|阴性|未知)")
_NEG = re.compile(r"(没有|没|无|不|否认|未|排除)")
_QUESTION = re.compile(r"(吗|？|\?|是不是|有没有|会不会|是否|什么|怎么|多少|哪)")
_CLAUSE = re.compile(r"[，。；！？,;!?\s]")


def read_mie(path: str | Path) -> list[dict[str, Any]]:
    """Dialogue-level samples ``{id, utterances, labels}`` from an MIE split file or folder.

    Raises:
        DataError: missing or malformed file.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "test.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read MIE data {p}: {exc}") from exc
    if not isinstance(data, list):
        raise DataError(f"{p}: expected a list of dialogues")
    out = []
    for i, windows in enumerate(data):
        if not isinstance(windows, list) or not windows or not isinstance(windows[0], dict):
            raise DataError(f"{p}: dialogue {i} is not a list of windows")
        utts = [u for u in windows[0].get("utterances", []) if u]
        utts += [w["utterances"][-1] for w in windows[1:] if w.get("utterances") and w["utterances"][-1]]
        labels = sorted({lab for w in windows for lab in w.get("label", [])})
        out.append({"id": f"{p.stem}-{i}", "utterances": utts, "labels": labels})
    return out


@lru_cache(maxsize=4)
def load_ontology(folder: str | None) -> dict[str, dict[str, list[str]]]:
    """``category -> {term: [synonyms]}`` from the MIE folder (``example_dict.json`` or ``ontology.json``)."""
    if not folder:
        raise DataError("MIE extraction needs the data folder with ontology.json (mie_ontology)")
    root = Path(folder)
    if root.is_file():
        root = root.parent
    try:
        onto = json.loads((root / "ontology.json").read_text(encoding="utf-8"))
        syn = json.loads((root / "example_dict.json").read_text(encoding="utf-8")) \
            if (root / "example_dict.json").is_file() else {}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the MIE ontology in {root}: {exc}") from exc
    out: dict[str, dict[str, list[str]]] = {}
    for cat, terms in onto.items():
        if cat == "状态":
            continue
        out[cat] = {t: [t, *syn.get(cat, {}).get(t, [])] for t in terms}
    return out


def parse_dialogue(text: str) -> list[tuple[str, str]]:
    """``患者:…`` / ``医生:…`` lines to ``(speaker, text)`` pairs."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\[\w+\]\s*)?(患者|医生|病人|Patient|Doctor)\s*[:：]\s*(.*)$", line.strip())
        if m:
            who = "医生" if m.group(1) in ("医生", "Doctor") else "患者"
            out.append((who, m.group(2)))
        elif line.strip() and out:
            out[-1] = (out[-1][0], out[-1][1] + line.strip())
    return out


def extract_labels(utterances: list[tuple[str, str]], ontology_dir: str | None) -> list[str]:
    """Rule-based ``类别:实体-状态:状态`` labels for a dialogue."""
    onto = load_ontology(ontology_dir)
    labels: set[str] = set()
    for speaker, text in utterances:
        low = text.lower()
        for cat, terms in onto.items():
            for term, surfaces in terms.items():
                for s in sorted(surfaces, key=len, reverse=True):
                    pos = low.find(s.lower())
                    if pos < 0:
                        continue
                    labels.add(f"{cat}:{term}-状态:{_status(speaker, low, pos, pos + len(s))}")
                    break
    return sorted(labels)


def _status(speaker: str, text: str, start: int, end: int) -> str:
    before = _CLAUSE.split(text[max(0, start - 6):start])[-1]
    clause_end = _CLAUSE.search(text, end)
    after = text[end:clause_end.start() + 1 if clause_end else len(text)]
    negated = bool(_NEG.search(before))
    question = bool(_QUESTION.search(before + text[start:end] + after))
    doctor = speaker == "医生"
    if question:
        return "未知"
    if negated:
        return "医生阴性" if doctor else "阴性"
    return "医生阳性" if doctor else "阳性"


def parse_labels(text: str) -> set[str]:
    """Normalised labels found in a model's answer."""
    return {f"{c}:{e.lower()}-状态:{s}" for c, e, s in LABEL_RE.findall(text)}


def label_f1(pred: set[str], gold: set[str]) -> dict[str, float]:
    """Exact-label and entity-only (status ignored) precision/recall/F1 with counts."""
    def prf(p: set[str], g: set[str], tag: str) -> dict[str, float]:
        tp = len(p & g)
        prec = tp / len(p) if p else (1.0 if not g else 0.0)
        rec = tp / len(g) if g else (1.0 if not p else 0.0)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        return {f"{tag}tp": tp, f"{tag}fp": len(p - g), f"{tag}fn": len(g - p), f"{tag}p": prec,
                f"{tag}r": rec, f"{tag}f1": f1}

    ent = lambda s: {x.split("-状态")[0] for x in s}  # noqa: E731
    gold_n = {x.lower() for x in gold}
    return {**prf(pred, gold_n, ""), **prf(ent(pred), ent(gold_n), "entity_")}
