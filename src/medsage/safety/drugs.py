"""The bilingual drug dictionary and medication extraction from free text.

The dictionary (``data/safety/drugs.tsv``, curated by medsage developers) maps
English generic names, synonyms, brand names and Chinese names to one drug id
with its classes. :func:`extract_medications` finds mentions in English,
Chinese or mixed text (multi-pattern matching with Aho-Corasick; typos with a
bounded edit distance), attaches the dose/frequency/route that follows each
mention, and :func:`extract` also returns findings for what it could not read:
unrecognised drug names and unparseable doses are findings, never silently
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from medsage.lang import clean as clean_text
from medsage.lang import detect_language, normalise
from medsage.safety._common import finding, load_text, lower_same_length, msg
from medsage.safety.dose_parse import DoseInfo, parse_dose
from medsage.safety.medication import Medication
from medsage.types import Finding

try:  # optional accelerators; pure-Python fallbacks keep the layer working without them
    import ahocorasick as _ahocorasick
except ImportError:  # pragma: no cover - exercised only without pyahocorasick
    _ahocorasick = None  # type: ignore[assignment]
try:
    from rapidfuzz import process as _rf_process
    from rapidfuzz.distance import OSA as _OSA
except ImportError:  # pragma: no cover
    _rf_process = None  # type: ignore[assignment]
    _OSA = None  # type: ignore[assignment]

DICTIONARY_SOURCE = "medsage bilingual drug dictionary (curated by medsage developers; ONC list generics)"
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")

# drug-name endings (INN stems) used to spot drug-like words that are not in the dictionary
DRUG_STEM_RE = re.compile(
    r"^[a-z][a-z\-]{2,}(?:pril|prilat|sartan|olol|dipine|statin|floxacin|mycin|micin|cillin|conazole|"
    r"prazole|tidine|triptan|setron|navir|ciclovir|cyclovir|tinib|zumab|ximab|mumab|parin|gliptin|gliflozin|"
    r"glitazone|semide|thiazide|zepam|zolam|oxetine|triptyline|peridol|afil|dronate|lukast|profen|coxib|"
    r"fenac|oxicam|cycline|vudine|tegravir|buvir|platin|rubicin|taxel|lutamide|glinide|formin|zosin|"
    r"fibrate|barbital|caine|tropium|terol|vastatin|xaban|gatran|grel|teplase|oxacin|cef[a-z]+)$"
)
_STEM_EXCEPT = {"cocaine"}

_NEGATION_BEFORE = re.compile(
    r"(?:\bavoid(?:ing)?\b|\bdo not\b|\bdon'?t\b|\bnever\b|\bnot recommended\b|\bcontraindicated\b|\bstop(?:ped)?\b|"
    r"\bdiscontinue[ds]?\b|\bhold\b|\bshould not\b|\bmust not\b|\bcannot\b|\binstead of\b|\brather than\b|"
    r"\bceased?\b)[^.;。；!?！？\n]{0,60}$"
    r"|(?:\bno\b|\bnot\b|\bwithout\b)[^.;。；!?！？\n]{0,18}$"
    r"|(?:\ballerg(?:y|ic|ies) (?:to|:)|\bintoleran(?:t|ce) (?:to|of)|\bhypersensitiv\w* to)\s*(?:the |an? )?$"
    r"|(?:禁用|避免|不要|不宜|停用|停止|慎用|忌用|不能|不可|勿|不建议|不推荐|代替|而非|无|未|没有)[^，,。；;！？!?\n]{0,20}$"
    r"|对\s*$",
    re.IGNORECASE,
)
_NEGATION_AFTER = re.compile(
    r"^[^.;。；\n]{0,40}?(?:\b(?:is|are) contraindicated\b|\bshould be avoided\b|\bmust be avoided\b|"
    r"\bshould not be\b|\bwas stopped\b|\bwas discontinued\b)"
    r"|^\s*(?:类|类药物|類)?\s*(?:过敏|過敏|不耐受|禁用|禁忌|allergy\b|allergic\b|intolerance\b)"
    r"|^[^，,。；;\n]{0,12}(?:禁用|禁忌|应避免|需停用)",
    re.IGNORECASE,
)

# words that may sit before a dose without being a drug name (for unknown-drug detection)
_EN_STOPWORDS = set(["a", "an", "the", "take", "takes", "taking", "took", "give", "given", "giving", "dose", "doses", "dosing", "of", "with", "and", "or", "daily", "total", "about", "approx", "approximately", "max", "maximum", "min", "minimum", "weight", "weighs", "weighing", "is", "was", "were", "be", "been", "to", "at", "than", "from", "by", "on", "in", "for", "up", "over", "under", "only", "extra", "another", "additional", "initial", "loading", "then", "increase", "increased", "increasing", "decrease", "decreased", "reduce", "reduced", "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "pill", "pills", "caplet", "caplets", "solution", "suspension", "syrup", "injection", "infusion", "cream", "ointment", "patch", "inhaler", "drops", "drop", "oral", "orally", "iv", "im", "po", "sc", "bolus", "dosage", "strength", "containing", "contains", "per", "each", "every", "plus", "also", "now", "currently", "previously", "extended", "release", "er", "xr", "sr", "cr", "la", "dr", "ir", "odt", "hcl", "sodium", "potassium", "calcium", "magnesium", "sulfate", "sulphate", "hydrochloride", "acetate", "mesylate", "maleate", "tartrate", "succinate", "besylate", "citrate", "phosphate", "chloride", "carbonate", "bicarbonate", "glucose", "dextrose", "saline", "water", "fluid", "fluids", "protein", "fat", "fiber", "fibre", "sugar", "salt", "alcohol", "caffeine", "prescribed", "prescribe", "rx", "meds", "med", "medication", "medications", "drug", "drugs", "dosed", "start", "started", "starting", "restart", "continue", "continued", "change", "changed", "switch", "switched", "to", "as", "needed", "prn", "stat", "bid", "tid", "qid", "qd", "od", "qhs", "weekly", "single", "double", "half", "twice", "once", "three", "four", "five", "two", "one", "her", "his", "their", "patient", "pt", "mg", "mcg", "ml", "units", "unit", "plus", "vs", "via", "when", "if", "after", "before", "around", "least", "most", "just", "nearly", "almost", "under", "over", "between", "range", "ranges", "received", "receives", "receive", "got", "gets", "get", "uses", "use", "used", "using", "administer", "administered", "administering", "inject", "injected", "injects", "infuse", "inhale", "inhaled", "apply", "applied", "mix", "mixed", "dilute", "diluted", "add", "added", "adding", "upto", "till", "until", "also", "morning", "evening", "night", "bedtime", "breakfast", "lunch", "dinner", "meal", "meals", "food", "day", "days", "week", "weeks", "hour", "hours", "hr", "hrs", "minute", "minutes", "month", "months", "year", "years", "old", "aged", "age", "kg", "lb", "lbs", "cm", "mmhg", "bpm", "temperature", "temp", "pulse", "bp", "hr", "rr", "spo2", "sat", "lost", "gained", "gain", "loss", "ate", "eat", "drink", "drank", "drinks", "rice", "bread", "milk", "juice", "coffee", "tea", "beer", "wine", "cigarettes", "cigarette", "packs", "pack"])
_ZH_STOP_TAIL = re.compile(
    r"(?:每次|每日|每天|一日|一天|一次|单次|剂量|用量|口服|服用|服|静滴|静推|静注|静脉|肌注|皮下|给予|予|加量至|减量至|"
    r"增至|减至|调整为|改为|加至|减为|共|总量|约|体重|日剂量|最大剂量|首剂|负荷量|维持量|剂|量|为|至|用|吃|喝|加|和|与|及|、|"
    r"片剂|胶囊剂|注射剂|片|胶囊|粒|注射液|缓释片|控释片|肠溶片|分散片|颗粒|口服液|混悬液|滴眼液|软膏|乳膏|气雾剂|吸入剂|栓|贴剂)$"
)
_ZH_STOPWORDS = set(["药", "药物", "中药", "西药", "这个药", "那个药", "止痛药", "降压药", "安眠药", "消炎药", "抗生素", "退烧药", "感冒药", "胃药", "尿量", "出量", "入量", "饮水", "补液", "输液", "失血", "出血", "进食", "体重", "身高", "年龄", "血糖", "血压", "肌酐", "剂量", "用量", "总量", "每次", "每日", "每天", "一次", "患者", "病人", "孩子", "儿童", "小孩", "医生", "大夫", "口服", "服用", "静滴", "维持", "负荷", "首剂", "葡萄糖", "生理盐水", "盐水", "氯化钠", "注射用水", "牛奶", "米饭", "水", "酒", "白酒", "啤酒", "烟", "咖啡", "茶"])
_ZH_FORM_RE = re.compile(r"([\u4e00-\u9fff]{2,10}?)(?:缓释片|控释片|肠溶片|分散片|咀嚼片|胶囊|注射液|颗粒|口服液|混悬液|滴眼液|软膏|乳膏|气雾剂|吸入剂|栓|贴剂|片)")
_EN_DOSE_ANCHOR_RE = re.compile(
    r"(?:^|(?<=[\s,;:(\-•*+/]))(?P<name>[A-Za-z][A-Za-z\-]{2,}(?:\s+[A-Z][A-Za-z\-]{2,})?)\s*"
    r"(?P<num>\d+(?:[.,]\d+)?)\s*(?:mg|mcg|µg|μg|ug|g|ml|mL|units?|IU|iu)\b(?!\s*/)",
)
_ZH_DOSE_ANCHOR_RE = re.compile(
    r"(?P<name>[\u4e00-\u9fff]{2,12})\s*(?P<num>\d+(?:\.\d+)?)\s*(?:mg|g|毫克|克|微克|μg|ug|ml|毫升|单位|IU)(?![A-Za-z/]|\s*/)"
)


@dataclass(frozen=True)
class DrugEntry:
    """One dictionary drug."""

    id: str
    display: str
    zh: str
    names: tuple[str, ...]
    brands: tuple[str, ...]
    classes: frozenset[str]

    def label(self, lang: str) -> str:
        """The drug's name for display in ``lang`` (its Chinese name when there is one)."""
        return self.zh if lang == "zh" and self.zh else self.display


@dataclass
class _Mention:
    start: int
    end: int
    entry: DrugEntry
    match: str
    score: float = 1.0


@dataclass
class DrugDictionary:
    """Name -> drug lookup with exact, Chinese and fuzzy matching."""

    entries: dict[str, DrugEntry]
    _index: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, kind)
    _by_class: dict[str, set[str]] = field(default_factory=dict)
    _fuzzy_names: list[str] = field(default_factory=list)
    _automaton: Any = None
    _regex: re.Pattern[str] | None = None
    _fuzzy_cache: dict[str, tuple[str, str, float] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries.values():
            for cls in entry.classes:
                self._by_class.setdefault(cls, set()).add(entry.id)
        for entry in self.entries.values():
            self._add(entry.id, entry.id, "generic")
            self._add(entry.display, entry.id, "generic")
        for entry in self.entries.values():
            for n in entry.names:
                self._add(n, entry.id, "zh" if _CJK.search(n) else "synonym")
            for b in entry.brands:
                self._add(b, entry.id, "brand")
        self._fuzzy_names = sorted(n for n in self._index if len(n) >= 6 and not _CJK.search(n)
                                   and re.fullmatch(r"[a-z][a-z \-/]+", n))
        if _ahocorasick is not None:
            auto = _ahocorasick.Automaton()
            for name, (drug_id, kind) in self._index.items():
                auto.add_word(name, (len(name), name, drug_id, kind))
            auto.make_automaton()
            self._automaton = auto
        else:  # pragma: no cover
            alts = sorted(self._index, key=len, reverse=True)
            self._regex = re.compile("|".join(re.escape(a) for a in alts))

    def _add(self, name: str, drug_id: str, kind: str) -> None:
        key = " ".join(name.lower().split())
        if not key:
            return
        self._index.setdefault(key, (drug_id, kind))
        for variant in {key.replace("-", " "), key.replace("-", ""), key.replace("/", "-"),
                        key.replace("/", " "), key.replace("/", " and ")}:
            if variant != key and len(variant) > 2:
                self._index.setdefault(variant, (drug_id, kind))

    def get(self, drug_id: str) -> DrugEntry | None:
        """The drug with id ``drug_id``, or None."""
        return self.entries.get(drug_id)

    def members(self, cls: str) -> set[str]:
        """Drug ids of a class (``nsaid``, ``penicillin`` …)."""
        return set(self._by_class.get(cls, set()))

    @property
    def classes(self) -> set[str]:
        """Every drug class in the dictionary."""
        return set(self._by_class)

    def lookup(self, name: str, *, fuzzy: bool = True) -> tuple[DrugEntry, str, float] | None:
        """Resolve one name (generic, synonym, brand, Chinese; typo-tolerant when ``fuzzy``)."""
        key = " ".join(clean_text(str(name)).lower().split()).strip(" .,;:")
        if not key:
            return None
        hit = self._index.get(key)
        if hit:
            return self.entries[hit[0]], hit[1], 1.0
        # "amoxicillin 500 mg capsules" -> longest known name inside
        mentions = self.find(key)
        if mentions:
            best = max(mentions, key=lambda m: m.end - m.start)
            return best.entry, best.match, 0.95
        if fuzzy:
            fz = self.fuzzy(key)
            if fz:
                return self.entries[fz[0]], "fuzzy", fz[2]
        return None

    def fuzzy(self, token: str) -> tuple[str, str, float] | None:
        """(drug id, matched name, score) for a misspelt name, or None.

        Only words of 6+ letters are tried; the allowed edit distance (with
        transpositions) is 1 up to 8 letters and 2 above.
        """
        key = token.lower()
        if key in self._fuzzy_cache:
            return self._fuzzy_cache[key]
        result: tuple[str, str, float] | None = None
        if len(key) >= 6 and key not in _EN_STOPWORDS and _rf_process is not None and _OSA is not None:
            cutoff = 1 if len(key) <= 8 else 2
            best = _rf_process.extractOne(key, self._fuzzy_names, scorer=_OSA.distance, score_cutoff=cutoff)
            if best is not None:
                name, dist = best[0], best[1]
                if abs(len(name) - len(key)) <= cutoff and name[0] == key[0] or dist <= 1:
                    drug_id = self._index[name][0]
                    result = (drug_id, name, round(1.0 - dist / max(len(name), len(key)), 3))
        if len(self._fuzzy_cache) < 50000:
            self._fuzzy_cache[key] = result
        return result

    def find(self, text: str) -> list[_Mention]:
        """Exact dictionary mentions in ``text`` (longest, non-overlapping, word-bounded for Latin)."""
        low = lower_same_length(text)
        raw: list[tuple[int, int, str, str]] = []
        if self._automaton is not None:
            for end_idx, (length, _name, drug_id, kind) in self._automaton.iter(low):
                start = end_idx - length + 1
                raw.append((start, end_idx + 1, drug_id, kind))
        elif self._regex is not None:  # pragma: no cover
            for m in self._regex.finditer(low):
                drug_id, kind = self._index[m.group()]
                raw.append((m.start(), m.end(), drug_id, kind))
        raw.sort(key=lambda r: (r[0], -(r[1] - r[0])))
        out: list[_Mention] = []
        last_end = -1
        for start, end, drug_id, kind in raw:
            if start < last_end:
                continue
            first, last = text[start], text[end - 1]
            if _WORD_CHAR.match(first) and start > 0 and _WORD_CHAR.match(text[start - 1]):
                continue
            # a digit may follow a name directly ("Escitalopram40 mg", common in Chinese notes)
            if _WORD_CHAR.match(last) and end < len(text) and text[end].isascii() and text[end].isalpha():
                continue
            out.append(_Mention(start, end, self.entries[drug_id], kind))
            last_end = end
        # a longer match may start inside an accepted shorter one: keep greedy longest-leftmost
        return out


class _Spans:
    """Sorted, non-overlapping spans with O(log n) overlap queries."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        import bisect

        self._bisect = bisect
        merged: list[tuple[int, int]] = []
        for s, e in sorted(spans):
            if merged and s < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.starts = [s for s, _ in merged]
        self.spans = merged

    def overlaps(self, start: int, end: int) -> bool:
        i = self._bisect.bisect_right(self.starts, end - 1) - 1
        return i >= 0 and self.spans[i][1] > start

    def contains(self, pos: int) -> bool:
        return self.overlaps(pos, pos + 1)


def _split(field_: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in field_.split(";") if v.strip())


@lru_cache(maxsize=1)
def get_dictionary() -> DrugDictionary:
    """The shipped dictionary (loaded once)."""
    entries: dict[str, DrugEntry] = {}
    for line in load_text("drugs.tsv").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        parts = line.split("\t")
        if len(parts) != 6:
            continue
        drug_id, display, syn, brands, zh, classes = parts
        zh_names = _split(zh)
        entries[drug_id] = DrugEntry(
            id=drug_id, display=display, zh=zh_names[0] if zh_names else "",
            names=_split(syn) + zh_names, brands=_split(brands),
            classes=frozenset(_split(classes)),
        )
    return DrugDictionary(entries)


def _negated(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 70): start]
    after = text[end: end + 50]
    return bool(_NEGATION_BEFORE.search(before) or _NEGATION_AFTER.search(after))


_WINDOW_STOP = re.compile(r"[\n;；。]|(?<!\d)\.(?!\d)\s")


def _dose_window(text: str, start: int, limit: int) -> tuple[int, int]:
    end = min(limit, start + 90)
    m = _WINDOW_STOP.search(text, start, end)
    return start, (m.start() if m else end)


_BEFORE_DOSE_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|mcg|g|µg|μg|毫克|克)\s*(?:of\s+)?$", re.IGNORECASE)


def extract(text: str, *, lang: str = "auto", weight_kg: float | None = None,
            source: str = "text") -> tuple[list[Medication], list[Finding]]:
    """Medications in ``text`` plus findings for unreadable names and doses.

    Matching runs on the normalised copy of ``text`` (:func:`medsage.lang.normalise`:
    zero-width characters, soft hyphens, look-alike and full-width letters); spans point at
    the original characters and a disguised drug name also gets an ``evasion`` finding.
    """
    from medsage.safety.evasion import evasion_findings, remap_finding, remap_medication

    clean, omap = normalise(text)
    lang = detect_language(clean, lang)
    meds, findings = _extract_clean(clean, lang=lang, weight_kg=weight_kg, source=source)
    if not omap.changed:
        return meds, findings
    meds = [remap_medication(m, omap) for m in meds]
    findings = [remap_finding(f, omap) for f in findings]
    return meds, findings + evasion_findings(meds, omap, lang)


def _extract_clean(text: str, *, lang: str, weight_kg: float | None,
                   source: str) -> tuple[list[Medication], list[Finding]]:
    d = get_dictionary()
    mentions = d.find(text)
    # typo-tolerant pass over Latin words not already covered
    covered = _Spans([(m.start, m.end) for m in mentions])
    fuzzy_mentions: list[_Mention] = []
    for wm in re.finditer(r"(?<![A-Za-z])[A-Za-z][A-Za-z\-]{5,}", text):
        if covered.contains(wm.start()):
            continue
        word = wm.group()
        if word.lower() in d._index:
            continue
        fz = d.fuzzy(word)
        if fz:
            fuzzy_mentions.append(_Mention(wm.start(), wm.end(), d.entries[fz[0]], "fuzzy", fz[2]))
    mentions = sorted(mentions + fuzzy_mentions, key=lambda m: m.start)
    meds: list[Medication] = []
    findings: list[Finding] = []
    for i, m in enumerate(mentions):
        nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
        ws, we = _dose_window(text, m.end, nxt)
        dose = parse_dose(text[ws:we], weight_kg=weight_kg, offset=ws)
        if dose is None:
            prev_end = mentions[i - 1].end if i > 0 else 0
            before = text[max(prev_end, m.start - 25): m.start]
            bm = _BEFORE_DOSE_RE.search(before)
            if bm:
                bstart = m.start - len(before) + bm.start()
                dose = parse_dose(bm.group(0) + text[ws:we], weight_kg=weight_kg, offset=bstart)
                if dose is not None and dose.span is not None:
                    dose = _respan(dose, bstart, bstart + len(bm.group(0)))
        med = Medication(
            drug_id=m.entry.id, name=m.entry.display, text=text[m.start:m.end], span=(m.start, m.end),
            source=source, match=m.match, score=m.score, dose=dose,
            negated=_negated(text, m.start, m.end), classes=tuple(sorted(m.entry.classes)), zh=m.entry.zh,
        )
        meds.append(med)
        if m.match == "fuzzy":
            findings.append(finding(
                "drug_name_uncertain", "low",
                msg(lang, f"'{med.text}' was read as {m.entry.display} (possible misspelling); confirm the drug.",
                    f"“{med.text}”按{m.entry.label('zh')}（{m.entry.display}）处理（可能拼写错误）；请核实药名。"),
                DICTIONARY_SOURCE, med.span, "annotate", drug=m.entry.id, score=m.score))
        if dose is not None and dose.unreadable:
            findings.append(unreadable_dose_finding(med, dose, lang))
        elif dose is not None and dose.problems:
            findings.append(_unparsed_dose_finding(med, dose, lang))
    findings.extend(_unknown_drugs(text, mentions, lang))
    return meds, findings


def _respan(dose: DoseInfo, start: int, end: int) -> DoseInfo:
    from dataclasses import replace

    return replace(dose, span=(start, end))


def unreadable_dose_finding(med: Medication, dose: DoseInfo, lang: str) -> Finding:
    """``unreadable_dose``: the amount next to the unit is not a number (fail closed: block)."""
    return finding(
        "unreadable_dose", "high",
        msg(lang, f"Dose of {med.name} '{dose.raw}' is unreadable ({'; '.join(dose.problems)}): it is not a "
                  "number medsage can read, so dose limits were NOT checked. Rewrite the dose.",
            f"{med.zh or med.name}剂量“{dose.raw}”无法识别（不是可读的数字）：未核对剂量上限，请重新书写剂量。"),
        "medsage dose parser", dose.span or med.span, "block", drug=med.drug_id, problem="; ".join(dose.problems))


def _unparsed_dose_finding(med: Medication, dose: DoseInfo, lang: str) -> Finding:
    problem = "; ".join(dose.problems)
    zh_problem = {
        "no unit": "缺少单位", "unreadable amount": "剂量数值无法识别",
        "weight-based dose but no weight": "按体重给药但未提供体重",
    }.get(problem, "单位无法换算为毫克" if "cannot be converted" in problem else problem)
    severity = "low" if "cannot be converted" in problem else "moderate"
    return finding(
        "dose_unparsed", severity,
        msg(lang, f"Dose of {med.name} '{dose.raw}' could not be fully interpreted ({problem}): "
                  "dose limits were not checked.",
            f"{med.zh or med.name}剂量“{dose.raw}”无法完整解析（{zh_problem}）：未能核对剂量上限。"),
        "medsage dose parser", dose.span or med.span, "annotate" if severity == "low" else "warn",
        drug=med.drug_id, problem=problem)


def _unknown_drugs(text: str, mentions: list[_Mention], lang: str) -> list[Finding]:
    """A finding for each drug-like name that is not in the dictionary (each name once)."""
    known = _Spans([(m.start, m.end) for m in mentions])
    candidates = [*_en_stem_unknowns(text, known), *_en_dosed_unknowns(text, known)]
    if _CJK.search(text):
        candidates += _zh_unknowns(text, known)
    out: list[Finding] = []
    seen: set[str] = set()
    for name, start, end, why in candidates:
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        out.append(finding(
            "unknown_drug", "moderate",
            msg(lang, f"Unrecognised medication '{name}' ({why}): it is not in the medsage drug dictionary, "
                      "so its interactions, doses and contraindications were NOT checked.",
                f"未识别的药物“{name}”：不在medsage药物词典中，未能检查其相互作用、剂量和禁忌。"),
            DICTIONARY_SOURCE, (start, end), "warn", name=name))
    return out


_Unknown = tuple[str, int, int, str]
"""An unrecognised drug name: ``(name, start, end, why it looks like a drug)``."""


def _en_stem_unknowns(text: str, known: _Spans) -> Iterator[_Unknown]:
    """English words with a drug stem (-mab, -pril …) that the dictionary does not know."""
    index = get_dictionary()._index
    for wm in re.finditer(r"[A-Za-z][A-Za-z\-]{4,}", text):
        word = wm.group().lower()
        if word in _STEM_EXCEPT or known.overlaps(wm.start(), wm.end()) or word in index:
            continue
        if DRUG_STEM_RE.match(word):
            yield wm.group(), wm.start(), wm.end(), "drug-like name"


def _en_dosed_unknowns(text: str, known: _Spans) -> Iterator[_Unknown]:
    """Unknown English names followed by a dose (capitalised, drug-stemmed or heading a line)."""
    d = get_dictionary()
    for am in _EN_DOSE_ANCHOR_RE.finditer(text):
        name = am.group("name")
        words = name.split()
        if any(w.lower() in _EN_STOPWORDS for w in words) or known.overlaps(am.start("name"), am.end("name")):
            continue
        if d.lookup(name, fuzzy=True) is not None:
            continue
        s = am.start("name")
        line_start = text.rfind("\n", 0, s) + 1
        prefix = text[line_start:s].strip(" -•*+\t0123456789.)")
        if not (name[0].isupper() or prefix == "") and not DRUG_STEM_RE.match(name.lower()):
            continue
        yield name, s, am.end("name"), "name followed by a dose"


def _zh_core(run: str) -> str:
    """The trailing word of a Chinese run before a dose: dose words and verbs stripped."""
    core = run
    for _ in range(4):
        new = _ZH_STOP_TAIL.sub("", core)
        if new == core:
            break
        core = new
    parts = re.split(r"服用|口服|使用|给予|加用|改用|停用|换用|开了|开|吃|用|予|和|与|及|或|、|，|,|患者|病人", core)
    return parts[-1] if parts else core


def _zh_unknowns(text: str, known: _Spans) -> Iterator[_Unknown]:
    """Unknown Chinese names followed by a dose or a dosage form (片, 胶囊 …)."""
    d = get_dictionary()
    for cm in list(_ZH_DOSE_ANCHOR_RE.finditer(text)) + list(_ZH_FORM_RE.finditer(text)):
        form = cm.re is _ZH_FORM_RE
        run = cm.group(1) if form else cm.group("name")
        run_start = cm.start(1) if form else cm.start("name")
        core = _zh_core(run)
        if len(core) < 2 or core in _ZH_STOPWORDS or core.endswith(("量", "药", "次", "日", "天", "周")):
            continue
        cs = run_start + run.find(core) if core in run else run_start
        ce = cs + len(core)
        if known.overlaps(cs, ce + 4):
            continue
        if d.lookup(core, fuzzy=False) is not None:
            continue
        if form and re.search(r"[一二两三四五六七八九十半\d]$", text[max(0, cm.start(1) - 1):cm.start(1)] + core[:0]):
            continue
        yield core, cs, ce, "dosage form" if form else "name followed by a dose"


def extract_medications(text: str, *, lang: str = "auto", weight_kg: float | None = None) -> list[Medication]:
    """Medications mentioned in ``text`` (English, Chinese or mixed), with parsed doses.

    >>> [m.drug_id for m in extract_medications("华法林 3mg qd + aspirin 100 mg")]
    ['warfarin', 'acetylsalicylic acid']
    """
    return extract(text, lang=lang, weight_kg=weight_kg)[0]


def resolve(name: str) -> DrugEntry | None:
    """The dictionary entry for one drug name (any language, typo-tolerant), or None."""
    hit = get_dictionary().lookup(name)
    return hit[0] if hit else None


def drug_names(lang: str = "en") -> list[str]:
    """Every name in the dictionary: English generics, synonyms and brands (``en``) or Chinese (``zh``)."""
    out: set[str] = set()
    for e in get_dictionary().entries.values():
        if lang == "zh":
            out.update(n for n in e.names if _CJK.search(n))
        else:
            out.add(e.display)
            out.update(n for n in e.names if not _CJK.search(n))
            out.update(e.brands)
    return sorted(out)
