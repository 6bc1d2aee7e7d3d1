"""Person-name detection in English and Chinese clinical text.

English names are found after titles (Mr, Dr …), after cue words (patient,
spouse, signed by …), before an age phrase, as known given names followed by
capitalised words, and as ``Last, First``; Chinese names after cue words
(患者, 家属 …), before honorific suffixes (先生, 医生 …) and before sex/age
demographics, using the surname lexicon. Every other occurrence of a found name
(and of its English parts) is then propagated. :func:`_detect_names` returns
raw candidate spans; overlap resolution happens in
:mod:`medsage.safety.deid.core`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from medsage.safety.deid.patterns import _lexicon

_EN_NAME_CUES = (
    r"(?:patient|pt|name|patient name|full name|signed(?: by)?|attending|physician|doctor|nurse|contact|spouse|wife|husband|"
    r"mother|father|daughter|son|sister|brother|guardian|referred by|seen by|pcp|emergency contact|caregiver|partner|informant|"
    r"dictated by|electronically signed by|resident|intern|provider|surgeon)"
)
_EN_TITLE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?[ \t]+(?P<n>[A-Z][a-zA-Z'\-]+(?:[ \t]+[A-Z]\.)?(?:[ \t]+[A-Z][a-zA-Z'\-]+){0,2})")
_EN_CUE_RE = re.compile(rf"\b(?i:{_EN_NAME_CUES})[ \t]*[:\-][ \t]*(?P<n>[A-Z][a-zA-Z'\-]+(?:[ \t]+[A-Z]\.)?(?:[ \t]+[A-Z][a-zA-Z'\-]+){{0,2}})")
_EN_AGE_CUE_RE = re.compile(r"\b(?P<n>[A-Z][a-z'\-]+(?:[ \t]+[A-Z]\.)?(?:[ \t]+[A-Z][a-z'\-]+){0,2})[ \t]+(?:is|was)[ \t]+an?[ \t]+\d{1,3}[- ](?:year|yr|month)")
_EN_CUE_NOCOLON_RE = re.compile(r"\b(?i:patient|spouse|wife|husband|mother|father|daughter|son|guardian|caregiver)[ \t]+(?P<n>[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){1,2})\b")
_EN_CAP_SEQ = re.compile(r"\b(?P<n>[A-Z][a-z'\-]{1,20}(?:\s+[A-Z]\.)?(?:\s+(?:[A-Z][a-z'\-]{1,20}|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)){1,2})\b")
_EN_LAST_FIRST = re.compile(r"\b(?P<n>[A-Z][a-z'\-]{2,20}),\s+(?P<f>[A-Z][a-z'\-]{2,20})\b")
_NOT_NAME = set(["The", "A", "An", "And", "Or", "Of", "In", "On", "At", "For", "With", "By", "From", "To", "Patient", "Patients", "Doctor", "Dr", "Hospital", "Clinic", "Medical", "Center", "Department", "Emergency", "Room", "Unit", "Ward", "Service", "Name", "Date", "Phone", "Address", "Email", "Insurance", "Record", "Number", "History", "Physical", "Exam", "Assessment", "Plan", "Diagnosis", "Chief", "Complaint", "Present", "Illness", "Past", "Family", "Social", "Review", "Systems", "Medications", "Allergies", "Vital", "Signs", "Labs", "Imaging", "Impression", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December", "Mr", "Mrs", "Ms", "Miss", "He", "She", "They", "His", "Her", "Their", "This", "That", "These", "Those", "Today", "Yesterday", "Tomorrow", "No", "Yes", "Not", "None", "Street", "Avenue", "Road", "Lane", "Drive", "Court", "City", "County", "State", "Suite", "Apt", "Apartment", "Box", "North", "South", "East", "West", "New", "Blood", "Pressure", "Heart", "Rate", "Temperature", "Follow", "Up", "Discharge", "Admission", "Note", "Signed", "Attending", "Nurse", "Contact", "Son", "Daughter", "Wife", "Husband", "Mother", "Father", "Type", "Stage", "Grade", "Class", "Left", "Right", "Lower", "Upper", "Acute", "Chronic", "Normal", "Abnormal", "Positive", "Negative", "Mild", "Moderate", "Severe", "Sincerely", "Regards", "Thank", "Thanks", "Dear", "Hello", "Hi", "Please", "Call", "Visit", "Clinic", "Primary", "Care", "Team", "General", "Internal", "Medicine", "Surgery", "Cardiology", "Neurology", "Pediatrics", "Oncology", "Radiology", "Pathology", "Pharmacy", "Laboratory", "Report", "Results", "Summary", "Instructions", "Orders", "Status", "Post"])
_ZH_NAME_CUES = (
    r"患者|病人|病患|患儿|姓名|病人姓名|患者姓名|家属|联系人|监护人|配偶|丈夫|妻子|儿子|女儿|父亲|母亲|主治医师|主治医生|经治医师|"
    r"住院医师|主任医师|副主任医师|医师签名|医生签名|签名|记录人|记录者|报告人|审核人|申请人|送检医师|护士|医师|医生|大夫|之子|之女"
)
_ZH_NAME_SUFFIX = r"先生|女士|小姐|医生|医师|大夫|护士|主任|教授|老师|同志|阿姨|叔叔|奶奶|爷爷|老人|患儿|同学"
_ZH_STOP_3RD = set("因于在诉自以入出主今昨近有无为是的和及与男女年岁术行经已未现曾由从被等来去到反咳发头腹胸感伴持"
                   "约于既否诊予给服用药诉述称说表示患病院科室床号住门急就查检验测左右双上下前后全一二三四五六七八九十个")


def _zh_name_at(text: str, pos: int, limit: int | None = None) -> tuple[int, int] | None:
    """A Chinese name starting at ``pos`` (surname + 1-2 characters, ending by ``limit``), or None."""
    if limit is not None:
        text = text[:limit]
    lex = _lexicon()
    for comp in lex["compound"]:
        if text.startswith(comp, pos):
            end = pos + len(comp)
            given = 0
            while given < 2 and end + given < len(text) and "\u4e00" <= text[end + given] <= "\u9fff":
                if given == 1 and text[end + given] in _ZH_STOP_3RD:
                    break
                given += 1
            return (pos, end + given) if given else None
    if pos >= len(text) or text[pos] not in lex["surnames"]:
        return None
    end = pos + 1
    given = 0
    while given < 2 and end + given < len(text) and "\u4e00" <= text[end + given] <= "\u9fff":
        ch = text[end + given]
        if ch in _ZH_STOP_3RD and given >= 1:
            break
        if given == 0 and ch in "某氏":
            return None
        given += 1
    return (pos, end + given) if given else None


_ZH_NOT_NAME_START = set("的了在是我你他她它这那有无不没和与及或但因为由从被把将对向于以其此该每各某某本某该") | _ZH_STOP_3RD


def _zh_name_loose(text: str, pos: int, limit: int | None = None) -> tuple[int, int] | None:
    """Name after a strong cue when the surname is not in the lexicon: 2-3 CJK characters."""
    span = _zh_name_at(text, pos, limit)
    if span:
        return span
    end_max = min(len(text), limit if limit is not None else pos + 3, pos + 3)
    end = pos
    while end < end_max and "\u4e00" <= text[end] <= "\u9fff" and not (end > pos + 1 and text[end] in _ZH_STOP_3RD):
        end += 1
    if end - pos < 2 or text[pos] in _ZH_NOT_NAME_START:
        return None
    return pos, end



@lru_cache(maxsize=1)
def _given_name_re() -> re.Pattern[str]:
    names = "|".join(sorted(_lexicon()["given"], key=len, reverse=True))
    return re.compile(rf"\b(?P<n>(?:{names})(?:[ \t]+[A-Z]\.)?(?:[ \t]+(?:[A-Z][a-z'\-]{{1,20}}|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)){{1,2}})\b")


Span = tuple[int, int, str]


def _name_end(name: str, start: int) -> int:
    """End offset of ``name`` (found at ``start``) cut before its first non-name word."""
    end = start
    for wm in re.finditer(r"\S+", name):
        w = wm.group().rstrip(".")
        if re.fullmatch(r"[A-Z]\.", wm.group()):
            end = start + wm.end()
            continue
        if w in _NOT_NAME or (w.isupper() and len(w) > 1):
            break
        end = start + wm.end()
    return end


def _en_cued_names(text: str, found: set[str]) -> list[Span]:
    """English names after a title or cue word, or before an age phrase; adds them to ``found``."""
    out: list[Span] = []
    for rx, rule in ((_EN_TITLE_RE, "title"), (_EN_CUE_RE, "cue"), (_EN_CUE_NOCOLON_RE, "cue"),
                     (_EN_AGE_CUE_RE, "age_cue")):
        for m in rx.finditer(text):
            name = m.group("n")
            if not any(w.rstrip(".") not in _NOT_NAME for w in name.split()):
                continue
            s = m.start("n")
            end = _name_end(name, s)
            if end == s:
                continue
            out.append((s, end, rule))
            found.add(text[s:end])
    return out


def _en_lexicon_names(text: str, found: set[str]) -> list[Span]:
    """English names starting with a known given name, and ``Last, First``; adds them to ``found``."""
    out: list[Span] = []
    for m in _given_name_re().finditer(text):
        words = m.group("n").split()
        if all(w.rstrip(".") not in _NOT_NAME for w in words[1:]):
            out.append((m.start("n"), m.end("n"), "given_name"))
            found.add(m.group("n"))
    given = _lexicon()["given"]
    for m in _EN_LAST_FIRST.finditer(text):
        if m.group("f") in given and m.group("n") not in _NOT_NAME:
            out.append((m.start(), m.end(), "last_first"))
            found.update({m.group("n"), m.group("f")})
    return out


def _zh_cue_names(text: str) -> list[Span]:
    """Chinese names after a cue word (患者, 家属 …)."""
    out: list[Span] = []
    for m in re.finditer(rf"(?:{_ZH_NAME_CUES})\s*(?P<colon>[:：]?)\s*", text):
        strong = bool(m.group("colon")) or m.group(0).startswith(("家属", "联系人", "监护人"))
        nxt = text[m.end(): m.end() + 4]
        demog = re.match(r"[\u4e00-\u9fff]{2,3}[，,、\s]{0,2}(?:男|女)", nxt + text[m.end() + 4: m.end() + 7])
        span = (_zh_name_loose if strong or demog else _zh_name_at)(text, m.end())
        if span:
            out.append((span[0], span[1], "zh_cue"))
    return out


def _zh_suffix_names(text: str) -> list[Span]:
    """Chinese names right before an honorific suffix (先生, 医生 …)."""
    out: list[Span] = []
    for m in re.finditer(rf"(?:{_ZH_NAME_SUFFIX})", text):
        # look back for surname + 1-2 chars ending right before the suffix
        for length in (3, 2, 4):
            s = m.start() - length
            if s < 0:
                continue
            span = _zh_name_at(text, s, m.start())
            if not span and m.group(0) in ("先生", "女士", "小姐") and length in (2, 3):
                span = _zh_name_loose(text, s, m.start())
            if span and span[1] == m.start():
                out.append((span[0], span[1], "zh_suffix"))
                break
    return out


def _zh_demographic_names(text: str) -> list[Span]:
    """Chinese names right before sex and age (张伟，男，45岁)."""
    out: list[Span] = []
    for m in re.finditer(r"[\u4e00-\u9fff]{2,4}(?=[，,、\s]{0,2}(?:男|女)[，,、\s]{0,2}\d{1,3}\s*岁)", text):
        # a lexicon surname first ("患者张伟" -> 张伟), then any 2-3 characters that do
        # not start with the tail of a cue word (者/人/属/名)
        starts = range(max(m.start(), m.end() - 3), m.end() - 1)
        span = next((sp for s in starts if (sp := _zh_name_at(text, s, m.end())) and sp[1] == m.end()), None)
        if span is None:
            span = next((sp for s in starts if text[s] not in "者人属名"
                         and (sp := _zh_name_loose(text, s, m.end())) and sp[1] == m.end()), None)
        if span:
            out.append((span[0], span[1], "zh_demographics"))
    return out


def _propagated(text: str, found_en: set[str], found_zh: set[str]) -> list[Span]:
    """Every occurrence of a found name, and of the words of an English one."""
    out: list[Span] = []
    parts: set[str] = set()
    for name in found_en:
        parts.add(name)
        for w in name.split():
            w = w.rstrip(".")
            if len(w) >= 3 and w not in _NOT_NAME:
                parts.add(w)
    for p in sorted(parts, key=len, reverse=True):
        for m in re.finditer(rf"(?<![A-Za-z]){re.escape(p)}(?![A-Za-z])", text):
            out.append((m.start(), m.end(), "propagated"))
    for p in sorted(found_zh, key=len, reverse=True):
        if len(p) >= 2:
            for m in re.finditer(re.escape(p), text):
                out.append((m.start(), m.end(), "propagated"))
    return out


def _detect_names(text: str) -> list[Span]:
    """Candidate person-name spans ``(start, end, rule)``, overlapping, in rule order."""
    found_en: set[str] = set()
    out = _en_cued_names(text, found_en) + _en_lexicon_names(text, found_en)
    found_zh: set[str] = set()
    if re.search(r"[\u4e00-\u9fff]", text):
        for zh in (_zh_cue_names(text), _zh_suffix_names(text), _zh_demographic_names(text)):
            out += zh
            found_zh.update(text[s:e] for s, e, _ in zh)
    return out + _propagated(text, found_en, found_zh)
