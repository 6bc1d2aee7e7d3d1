"""De-identification of clinical text (English and Chinese), reversible or irreversible.

Detected identifier types: ``PERSON``, ``PHONE``, ``CN_RESIDENT_ID`` (18-digit
resident ID, checksum validated), ``MEDICAL_ID`` (medical record, inpatient,
outpatient, insurance, SSN, NHS … numbers), ``ADDRESS``, ``DATE``, ``EMAIL``,
``IP``, ``URL``.

Modes:

* ``pseudonymise`` (reversible) — identifiers become tokens such as
  ``[PERSON-3f9a2c]`` derived with HMAC from a secret in a local key file, so the
  same value gets the same token across documents; dates are shifted by a
  per-key offset (intervals are preserved). :func:`reidentify` restores the
  original text with the same key file — keep that file inside the firewall:
  it holds the original identifiers.
* ``redact`` (irreversible) — identifiers become ``[PERSON]``, ``[PHONE]`` …;
  dates are shifted by a random offset that is not stored.

>>> res = deidentify("患者张伟，男，45岁，电话13812345678。", mode="redact")
>>> res.text
'患者[PERSON]，男，45岁，电话[PHONE]。'
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from medsage.errors import DataError
from medsage.safety._common import detect_lang, load_json

TYPES = ("PERSON", "PHONE", "CN_RESIDENT_ID", "MEDICAL_ID", "ADDRESS", "DATE", "EMAIL", "IP", "URL")
_PRIORITY = {"EMAIL": 9, "URL": 9, "CN_RESIDENT_ID": 8, "MEDICAL_ID": 8, "PHONE": 7, "IP": 7, "DATE": 6,
             "ADDRESS": 5, "PERSON": 4}
_TOKEN_RE = re.compile(r"\[(" + "|".join(TYPES) + r")-([0-9a-f]{6,16})\]")


@dataclass(frozen=True)
class Entity:
    """One detected identifier: its type, span in the input, text and replacement."""

    type: str
    start: int
    end: int
    text: str
    replacement: str = ""
    rule: str = ""
    valid: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.type, "start": self.start, "end": self.end, "text": self.text,
               "replacement": self.replacement, "rule": self.rule}
        if self.valid is not None:
            out["valid"] = self.valid
        return out


@dataclass
class DeidResult:
    """De-identified (or re-identified) text and the entities replaced."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    mode: str = "pseudonymise"
    lang: str = "en"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entities:
            out[e.type] = out.get(e.type, 0) + 1
        return out

    def to_dict(self, include_originals: bool = False) -> dict[str, Any]:
        ents = []
        for e in self.entities:
            d = e.to_dict()
            if not include_originals:
                d.pop("text", None)
            ents.append(d)
        return {"text": self.text, "mode": self.mode, "lang": self.lang, "counts": self.counts(), "entities": ents}


# --------------------------------------------------------------------------- key file


class KeyStore:
    """The local key file for reversible pseudonymisation.

    JSON with a random secret, the date-shift offset and the token -> original
    map. Created with mode 0600. It contains the original identifiers: keep it
    inside the firewall and back it up — without it re-identification is impossible.
    """

    def __init__(self, path: str | Path | None = None, *, secret: str | None = None,
                 date_shift_days: int | None = None, entries: dict[str, dict[str, str]] | None = None) -> None:
        self.path = Path(path) if path else None
        self.secret = secret or secrets.token_hex(32)
        if date_shift_days is None:
            raw = int(hmac.new(bytes.fromhex(self.secret), b"date-shift", hashlib.sha256).hexdigest()[:8], 16)
            days = 30 + raw % 336
            date_shift_days = -days if raw & 1 else days
        self.date_shift_days = int(date_shift_days)
        self.entries: dict[str, dict[str, str]] = dict(entries or {})
        self._by_value: dict[tuple[str, str], str] = {(v["type"], v["original"]): k for k, v in self.entries.items()}
        self.dirty = False

    @classmethod
    def load(cls, path: str | Path, *, create: bool = True) -> KeyStore:
        p = Path(path)
        if not p.exists():
            if not create:
                raise DataError(f"key file {p} does not exist")
            store = cls(p)
            store.dirty = True
            store.save()
            return store
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            return cls(p, secret=str(data["secret"]), date_shift_days=int(data["date_shift_days"]),
                       entries=dict(data.get("entries", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"cannot read key file {p}: {exc}") from exc

    def token(self, etype: str, original: str) -> str:
        key = (etype, original)
        if key in self._by_value:
            return self._by_value[key]
        digest = hmac.new(bytes.fromhex(self.secret), f"{etype}\x00{original}".encode(), hashlib.sha256).hexdigest()
        for n in (6, 8, 10, 12, 16):
            tok = f"[{etype}-{digest[:n]}]"
            if tok not in self.entries or self.entries[tok]["original"] == original:
                break
        self.entries[tok] = {"type": etype, "original": original}
        self._by_value[key] = tok
        self.dirty = True
        return tok

    def remember_surface(self, shifted: str, original: str) -> None:
        """Record the exact original of a shifted date whose form the shift made ambiguous."""
        self.entries[_SURFACE + shifted] = {"type": "DATE", "original": original}
        self.dirty = True

    def original(self, token: str) -> str | None:
        entry = self.entries.get(token)
        return entry["original"] if entry else None

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        data = {"version": 1, "note": "medsage de-identification key: contains original identifiers; keep inside the firewall",
                "secret": self.secret, "date_shift_days": self.date_shift_days, "entries": self.entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)
        self.dirty = False


# --------------------------------------------------------------------------- patterns


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, Any]:
    doc = load_json("deid_lexicon.json")
    return {
        "surnames": set(doc["zh_surnames"]),
        "compound": list(doc["zh_compound_surnames"]),
        "given": set(doc["en_given_names"]),
    }


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def cn_id_valid(value: str) -> bool:
    """Whether an 18-character Chinese resident ID has a valid checksum and birth date."""
    v = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    total = sum(int(d) * w for d, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != v[17]:
        return False
    try:
        birth = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    return dt.date(1880, 1, 1) <= birth <= dt.date.today()


_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_URL_RE = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'，。；、）)]+", re.IGNORECASE)
_IPV4_RE = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?!\d|\.\d)")
_IPV6_RE = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|[0-9A-Fa-f]{1,4})(?:[0-9A-Fa-f:]*)(?![0-9A-Fa-f:])")
_CN_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CN_ID_CUE = re.compile(r"身份证|证件号|公民身份|ID ?(?:card|number|no)", re.IGNORECASE)
_PHONE_RES = [
    ("cn_mobile", re.compile(r"(?<![\d+])(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)")),
    ("cn_landline", re.compile(r"(?<![\d\-])(?:\(0\d{2,3}\)|0\d{2,3})[-\s]?[2-9]\d{6,7}(?:[-转]\d{1,5})?(?!\d)")),
    ("nanp", re.compile(r"(?<![\w+])(?:\+?1[-.\s]?|001[-.\s]?)?(?:\(\d{3}\)\s?|\d{3}[-.\s])\d{3}[-.\s]?\d{4}"
                        r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?!\d)", re.IGNORECASE)),
    ("nanp_plain", re.compile(r"(?<![\w+.\-])\d{10}(?:x\d{1,6})?(?![\d])")),
    ("intl", re.compile(r"(?<![\w])\+\d{1,3}[-.\s]?\(?\d{1,4}\)?(?:[-.\s]?\d{2,4}){2,4}(?!\d)")),
]
_PHONE_CUE = re.compile(r"(?:phone|tel|telephone|mobile|cell|contact|call|fax|reached at|reach (?:him|her|them) at|电话|手机|联系方式|联系电话|座机|传真)\s*(?:number|no\.?|#)?\s*[:：]?\s*$", re.IGNORECASE)
_ID_KEYWORDS_EN = (
    r"MRN|medical record (?:number|no\.?|#)|record (?:number|no\.?|#)|chart (?:number|no\.?|#)|patient (?:id|number|no\.?|#)|"
    r"hospital (?:number|no\.?|#)|inpatient (?:number|no\.?|#|id)|outpatient (?:number|no\.?|#|id)|admission (?:number|no\.?|#|id)|"
    r"account (?:number|no\.?|#)|encounter (?:id|number|no\.?)|visit (?:id|number)|insurance (?:id|number|no\.?|#|policy(?: number)?)|"
    r"policy (?:number|no\.?|#)|member (?:id|number|no\.?)|subscriber (?:id|number)|health (?:card|plan|insurance) (?:number|id|no\.?)|"
    r"medicare (?:number|id|no\.?)|medicaid (?:number|id|no\.?)|NHS (?:number|no\.?)|SSN|social security (?:number|no\.?)|"
    r"passport (?:number|no\.?)|driver'?s licen[cs]e(?: number| no\.?)?|licen[cs]e (?:number|no\.?)|ID (?:number|no\.?|#)|case (?:number|no\.?)"
)
_ID_KEYWORDS_ZH = (
    r"病历号|病案号|住院号|门诊号|住院编号|病历编号|就诊号|就诊卡号|医保卡号|医保号|医保编号|社保卡号|社保号|医疗保险号|医疗证号|"
    r"ID号|登记号|检查号|保险单号|保单号|护照号|卡号|档案号|流水号"
)
_MEDICAL_ID_RE = re.compile(
    rf"(?:{_ID_KEYWORDS_EN})\s*(?:is|was)?\s*[:#：]?\s*(?:is\s+)?#?\s*(?P<v>[A-Za-z]{{0,4}}[-]?\d[A-Za-z0-9\-/]{{2,24}})", re.IGNORECASE)
_MEDICAL_ID_ZH_RE = re.compile(rf"(?:{_ID_KEYWORDS_ZH})\s*(?:为|是)?\s*[:：#]?\s*(?P<v>[A-Za-z0-9][A-Za-z0-9\-]{{2,24}})")
_SSN_RE = re.compile(r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])")

_SURFACE = "DATE-SURFACE:"
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_MON_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_MON_ALT = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DATE_RES = [
    ("iso", re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<d>0?[1-9]|[12]\d|3[01])(?!\d)")),
    ("zh_full", re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>0?[1-9]|1[0-2])\s*月\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*(?P<suf>[日号])")),
    ("zh_ym", re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>0?[1-9]|1[0-2])\s*月(?!\s*\d)")),
    ("zh_md", re.compile(r"(?<![\d年])(?P<m>0?[1-9]|1[0-2])\s*月\s*(?P<d>0?[1-9]|[12]\d|3[01])\s*(?P<suf>[日号])")),
    ("mdy", re.compile(r"(?<![\d/.\-])(?P<m>0?[1-9]|1[0-2])(?P<s>[/.\-])(?P<d>0?[1-9]|[12]\d|3[01])(?P=s)(?P<y>(?:19|20)\d{2}|\d{2})(?![\d/\-]|\.\d)")),
    ("dmy", re.compile(r"(?<![\d/.\-])(?P<d>1[3-9]|2\d|3[01])(?P<s>[/.\-])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<y>(?:19|20)\d{2})(?![\d/\-]|\.\d)")),
    ("mon_d_y", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?\s+(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("d_mon_y", re.compile(rf"\b(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON_ALT})\.?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("mon_y", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?,?\s+(?P<y>(?:19|20)\d{{2}})\b")),
    ("mon_d", re.compile(rf"\b(?P<mon>{_MON_ALT})\.?\s+(?P<d>0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b(?!\s*(?:mg|kg|cm|mm|ml|%|years?|days?))")),
]
_STREET_SUFFIX = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|"
    r"Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Plaza|Alley|Branch|Bridge|Brook|Brooks|Burg|Burgs|Bypass|Camp|Canyon|Cape|Causeway|"
    r"Center|Centers|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|Course|Courts|Cove|Coves|Creek|Crescent|Crest|Crossing|"
    r"Crossroad|Curve|Dale|Dam|Divide|Drives|Estate|Estates|Expressway|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|"
    r"Ford|Fords|Forest|Forge|Forges|Fork|Forks|Fort|Freeway|Garden|Gardens|Gateway|Glen|Glens|Green|Greens|Grove|Groves|Harbor|"
    r"Harbors|Haven|Heights|Hill|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Junctions|Key|Keys|Knoll|Knolls|Lake|Lakes|Land|"
    r"Landing|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|Manor|Manors|Meadow|Meadows|Mews|Mill|Mills|Mission|Motorway|Mount|"
    r"Mountain|Mountains|Neck|Orchard|Oval|Overpass|Park|Parks|Parkways|Pass|Passage|Path|Pike|Pine|Pines|Plain|Plains|Point|Points|"
    r"Port|Ports|Prairie|Radial|Ramp|Ranch|Rapid|Rapids|Rest|Ridge|Ridges|River|Roads|Route|Row|Rue|Run|Shoal|Shoals|Shore|Shores|"
    r"Skyway|Spring|Springs|Spur|Spurs|Squares|Station|Stravenue|Stream|Streets|Summit|Throughway|Trace|Track|Trafficway|Tunnel|"
    r"Turnpike|Underpass|Union|Unions|Valley|Valleys|Via|Viaduct|View|Views|Village|Villages|Ville|Vista|Walk|Walks|Wall|Ways|Well|Wells"
)
_US_STATES = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|"
    r"SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|AS|GU|MP|PR|VI|AA|AE|AP|MH|FM|PW"
)
_ADDRESS_RES = [
    ("street", re.compile(
        rf"(?<![\w-])\d{{1,6}}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z'\-]*\s+){{1,3}}(?:{_STREET_SUFFIX})\b\.?"
        rf"(?:,?\s*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|#)\s*[\w\-]+)?"
        rf"(?:,?\s*\n?\s*(?:[A-Z][A-Za-z'\-]+\s){{0,3}}[A-Z][A-Za-z'\-]+,\s*(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?)?")),
    ("city_state_zip", re.compile(rf"(?:[A-Z][A-Za-z'\-]+\s){{0,3}}[A-Z][A-Za-z'\-]+,\s*(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?\b")),
    ("military", re.compile(r"(?:(?:PSC|Unit)\s+\d{3,5},?\s+Box\s+\d{3,5}|USN[SV]\s+[A-Z][a-z]+|USCGC\s+[A-Z][a-z]+)"
                            r"(?:\s*\n?\s*(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})?")),
    ("zh", re.compile(
        r"(?:[\u4e00-\u9fff]{2,8}?(?:省|自治区|特别行政区))?(?:[\u4e00-\u9fff]{1,7}?(?:市|州|盟|地区))?"
        r"[\u4e00-\u9fff]{1,8}?(?:区|县|旗|市)"
        r"(?:[\u4e00-\u9fff0-9]{0,12}?(?:路|街|道|大道|巷|弄|胡同|村|镇|乡|小区|花园|公寓|大厦|广场|里|苑|新村))"
        r"(?:[\u4e00-\u9fff0-9A-Za-z\-]{0,16}?(?:号院|号楼|号|室|座|栋|幢|单元|楼|层|组|院)){0,6}"
        r"(?:\s*\d{6}(?!\d))?")),
    ("zh_district", re.compile(r"[\u4e00-\u9fff]{2,6}?(?:省|市)[\u4e00-\u9fff]{1,6}?(?:区|县)(?![\u4e00-\u9fff]{0,2}(?:医院|卫生))")),
]
_ADDRESS_LABEL = re.compile(r"(?:家庭住址|现住址|户籍地址|住址|地址|家住|现住|居住于|居住在|住在|来自)[:：]?\s*")
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


def detect(text: str, *, lang: str = "auto") -> list[Entity]:
    """Identifier spans in ``text`` (non-overlapping, in order)."""
    cands: list[tuple[int, int, str, str, bool | None]] = []

    def add(start: int, end: int, etype: str, rule: str, valid: bool | None = None) -> None:
        # trim whitespace/punctuation at the edges
        while start < end and text[start] in " \t\n,;:：，；":
            start += 1
        while end > start and text[end - 1] in " \t\n,;:.：，；。)":
            end -= 1
        if etype == "ADDRESS":
            lab = _ADDRESS_LABEL.match(text, start, end)
            if lab:
                start = lab.end()
        if end > start:
            cands.append((start, end, etype, rule, valid))

    for m in _EMAIL_RE.finditer(text):
        add(m.start(), m.end(), "EMAIL", "email")
    for m in _URL_RE.finditer(text):
        add(m.start(), m.end(), "URL", "url")
    for m in _IPV4_RE.finditer(text):
        add(m.start(), m.end(), "IP", "ipv4")
    for m in _IPV6_RE.finditer(text):
        s = m.group(0)
        if s.count(":") >= 2 and (re.search(r"[A-Fa-f]", s) or "::" in s) and not re.fullmatch(r"[\d:]+", s.strip(":")):
            add(m.start(), m.end(), "IP", "ipv6")
    for m in _CN_ID_RE.finditer(text):
        valid = cn_id_valid(m.group(0))
        cue = bool(_CN_ID_CUE.search(text[max(0, m.start() - 12): m.start()]))
        if valid or cue:
            add(m.start(), m.end(), "CN_RESIDENT_ID", "cn_id" if valid else "cn_id_cue", valid)
        else:
            add(m.start(), m.end(), "MEDICAL_ID", "long_number")  # fail closed: an unexplained 18-digit number
    for m in _MEDICAL_ID_RE.finditer(text):
        add(m.start("v"), m.end("v"), "MEDICAL_ID", "id_keyword")
    for m in _MEDICAL_ID_ZH_RE.finditer(text):
        add(m.start("v"), m.end("v"), "MEDICAL_ID", "id_keyword_zh")
    for m in _SSN_RE.finditer(text):
        add(m.start(), m.end(), "MEDICAL_ID", "ssn")
    for rule, rx in _PHONE_RES:
        for m in rx.finditer(text):
            if rule == "nanp_plain" and not _PHONE_CUE.search(text[max(0, m.start() - 25): m.start()]):
                continue
            add(m.start(), m.end(), "PHONE", rule)
    for rule, rx in _DATE_RES:
        for m in rx.finditer(text):
            add(m.start(), m.end(), "DATE", rule)
    for rule, rx in _ADDRESS_RES:
        for m in rx.finditer(text):
            add(m.start(), m.end(), "ADDRESS", rule)
    for n_start, n_end, n_rule in _detect_names(text):
        add(n_start, n_end, "PERSON", n_rule)
    return _resolve(text, cands)


@lru_cache(maxsize=1)
def _given_name_re() -> re.Pattern[str]:
    names = "|".join(sorted(_lexicon()["given"], key=len, reverse=True))
    return re.compile(rf"\b(?P<n>(?:{names})(?:[ \t]+[A-Z]\.)?(?:[ \t]+(?:[A-Z][a-z'\-]{{1,20}}|Mc[A-Z][a-z]+|O'[A-Z][a-z]+)){{1,2}})\b")


def _detect_names(text: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    lex = _lexicon()
    found_en: set[str] = set()
    found_zh: set[str] = set()
    for rx, rule in ((_EN_TITLE_RE, "title"), (_EN_CUE_RE, "cue"), (_EN_CUE_NOCOLON_RE, "cue"),
                     (_EN_AGE_CUE_RE, "age_cue")):
        for m in rx.finditer(text):
            name = m.group("n")
            words = [w for w in name.split() if w.rstrip(".") not in _NOT_NAME]
            if not words:
                continue
            # cut at the first non-name word (keep the original spacing)
            s = m.start("n")
            end = s
            for wm in re.finditer(r"\S+", name):
                w = wm.group().rstrip(".")
                if re.fullmatch(r"[A-Z]\.", wm.group()):
                    end = s + wm.end()
                    continue
                if w in _NOT_NAME or (w.isupper() and len(w) > 1):
                    break
                end = s + wm.end()
            if end == s:
                continue
            out.append((s, end, rule))
            found_en.add(text[s:end])
    for m in _given_name_re().finditer(text):
        words = m.group("n").split()
        if all(w.rstrip(".") not in _NOT_NAME for w in words[1:]):
            out.append((m.start("n"), m.end("n"), "given_name"))
            found_en.add(m.group("n"))
    for m in _EN_LAST_FIRST.finditer(text):
        if m.group("f") in lex["given"] and m.group("n") not in _NOT_NAME:
            out.append((m.start(), m.end(), "last_first"))
            found_en.update({m.group("n"), m.group("f")})
    if re.search(r"[\u4e00-\u9fff]", text):
        for m in re.finditer(rf"(?:{_ZH_NAME_CUES})\s*(?P<colon>[:：]?)\s*", text):
            strong = bool(m.group("colon")) or m.group(0).startswith(("家属", "联系人", "监护人"))
            nxt = text[m.end(): m.end() + 4]
            demog = re.match(r"[\u4e00-\u9fff]{2,3}[，,、\s]{0,2}(?:男|女)", nxt + text[m.end() + 4: m.end() + 7])
            span = (_zh_name_loose if strong or demog else _zh_name_at)(text, m.end())
            if span:
                out.append((span[0], span[1], "zh_cue"))
                found_zh.add(text[span[0]:span[1]])
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
                    found_zh.add(text[span[0]:span[1]])
                    break
        for m in re.finditer(r"[\u4e00-\u9fff]{2,4}(?=[，,、\s]{0,2}(?:男|女)[，,、\s]{0,2}\d{1,3}\s*岁)", text):
            for s in range(max(m.start(), m.end() - 3), m.end() - 1):
                span = _zh_name_loose(text, s, m.end())
                if span and span[1] == m.end():
                    out.append((span[0], span[1], "zh_demographics"))
                    found_zh.add(text[span[0]:span[1]])
                    break
    # propagate: every other occurrence of a found name (and of English name parts)
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


class _Taken:
    """Non-overlapping intervals with O(log n) overlap checks."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, s: int, e: int) -> bool:
        i = bisect.bisect_right(self.starts, e - 1) - 1
        return i >= 0 and self.ends[i] > s

    def add(self, s: int, e: int) -> None:
        i = bisect.bisect_left(self.starts, s)
        self.starts.insert(i, s)
        self.ends.insert(i, e)


def _resolve(text: str, cands: list[tuple[int, int, str, str, bool | None]]) -> list[Entity]:
    cands.sort(key=lambda c: (-_PRIORITY[c[2]], -(c[1] - c[0]), c[0]))
    taken = _Taken()
    chosen: list[tuple[int, int, str, str, bool | None]] = []
    for c in cands:
        s, e = c[0], c[1]
        if taken.overlaps(s, e):
            continue
        taken.add(s, e)
        chosen.append(c)
    chosen.sort(key=lambda c: c[0])
    return [Entity(etype, s, e, text[s:e], rule=rule, valid=valid) for s, e, etype, rule, valid in chosen]


# --------------------------------------------------------------------------- dates


def _parse_date(ent_text: str) -> tuple[dt.date, str, dict[str, Any]] | None:
    for rule, rx in _DATE_RES:
        m = rx.fullmatch(ent_text)
        if not m:
            continue
        g = m.groupdict()
        try:
            month = _MON_ABBR[g["mon"][:3].lower()] if g.get("mon") else int(g["m"])
            day = int(g["d"]) if g.get("d") else 1
            year = int(g["y"]) if g.get("y") else 2000
            if g.get("y") and len(g["y"]) == 2:
                year += 2000 if year < 50 else 1900
            return dt.date(year, month, day), rule, g
        except (ValueError, KeyError):
            return None
    return None


def _format_date(d: dt.date, rule: str, g: dict[str, Any], original: str) -> str:
    def pad(v: int, like: str | None) -> str:
        return f"{v:02d}" if like and len(like) == 2 else str(v)

    if rule == "iso":
        return f"{d.year}{g['s']}{pad(d.month, g['m'])}{g['s']}{pad(d.day, g['d'])}"
    if rule == "zh_full":
        return f"{d.year}年{d.month}月{d.day}{g.get('suf') or '日'}"
    if rule == "zh_ym":
        return f"{d.year}年{d.month}月"
    if rule == "zh_md":
        return f"{d.month}月{d.day}{g.get('suf') or '日'}"
    if rule in ("mdy", "dmy"):
        y = str(d.year) if len(g["y"]) == 4 else f"{d.year % 100:02d}"
        if rule == "mdy":
            return f"{pad(d.month, g['m'])}{g['s']}{pad(d.day, g['d'])}{g['s']}{y}"
        return f"{pad(d.day, g['d'])}{g['s']}{pad(d.month, g['m'])}{g['s']}{y}"
    mon_full = calendar.month_name[d.month]
    mon = mon_full if g.get("mon") and len(g["mon"].rstrip(".")) > 3 else mon_full[:3]
    if rule == "mon_d_y":
        return f"{mon} {d.day}, {d.year}"
    if rule == "d_mon_y":
        return f"{d.day} {mon} {d.year}"
    if rule == "mon_y":
        return f"{mon} {d.year}"
    if rule == "mon_d":
        return f"{mon} {d.day}"
    return original


def shift_date(value: str, days: int) -> str | None:
    """``value`` shifted by ``days`` in the same format, or None if it is not a date."""
    parsed = _parse_date(value)
    if parsed is None:
        return None
    d, rule, g = parsed
    try:
        return _format_date(d + dt.timedelta(days=days), rule, g, value)
    except OverflowError:
        return None


# --------------------------------------------------------------------------- API


def deidentify(text: str, *, mode: str = "pseudonymise", key: KeyStore | str | Path | None = None,
               lang: str = "auto", date_mode: str = "shift", types: tuple[str, ...] | None = None) -> DeidResult:
    """Replace identifiers in ``text``.

    Args:
        text: Clinical text (English, Chinese or mixed).
        mode: ``pseudonymise`` (reversible with ``key``) or ``redact`` (irreversible).
        key: A :class:`KeyStore` or a key-file path (created if missing) for ``pseudonymise``.
            Without one a throw-away key is used (consistent within this call only).
        date_mode: ``shift`` (consistent offset) or ``redact`` (``[DATE]``).
        types: Only these identifier types (default: all).

    Returns:
        The new text and the list of entities (type, span in the input, replacement).
    """
    if mode in ("pseudonymize", "pseudo", "reversible"):
        mode = "pseudonymise"
    if mode in ("irreversible", "remove"):
        mode = "redact"
    if mode not in ("pseudonymise", "redact"):
        raise ValueError(f"unknown de-identification mode '{mode}' (pseudonymise or redact)")
    text = text or ""
    lang = detect_lang(text, lang)
    store: KeyStore
    if isinstance(key, KeyStore):
        store = key
    elif key is not None:
        store = KeyStore.load(key)
    else:
        store = KeyStore()
    shift = store.date_shift_days if mode == "pseudonymise" else (
        (secrets.randbelow(336) + 30) * (1 if secrets.randbelow(2) else -1))
    entities = detect(text, lang=lang)
    if types:
        entities = [e for e in entities if e.type in types]
    out: list[str] = []
    pos = 0
    replaced: list[Entity] = []
    for e in entities:
        if e.type == "DATE" and date_mode == "shift":
            new = shift_date(e.text, shift)
            if new is None:
                new = store.token("DATE", e.text) if mode == "pseudonymise" else "[DATE]"
            elif mode == "pseudonymise" and shift_date(new, -shift) != e.text:
                store.remember_surface(new, e.text)  # e.g. "March" shifted to "May" reads back as "Mar"
        elif mode == "pseudonymise":
            new = store.token(e.type, e.text)
        else:
            new = f"[{e.type}]"
        out.append(text[pos:e.start])
        out.append(new)
        pos = e.end
        replaced.append(Entity(e.type, e.start, e.end, e.text, new, e.rule, e.valid))
    out.append(text[pos:])
    if mode == "pseudonymise":
        store.save()
    return DeidResult("".join(out), replaced, mode, lang)


def reidentify(text: str, key: KeyStore | str | Path, *, lang: str = "auto") -> DeidResult:
    """Restore a pseudonymised text with its key file (tokens back to values, dates un-shifted)."""
    store = key if isinstance(key, KeyStore) else KeyStore.load(key, create=False)
    text = text or ""
    lang = detect_lang(text, lang)
    spans: list[tuple[int, int, str, str]] = []
    for m in _TOKEN_RE.finditer(text):
        orig = store.original(m.group(0))
        if orig is not None:
            spans.append((m.start(), m.end(), m.group(1), orig))
    taken = _Taken()
    for s0, e0, _, _ in spans:
        taken.add(s0, e0)
    for _rule, rx in _DATE_RES:
        for m in rx.finditer(text):
            if taken.overlaps(m.start(), m.end()):
                continue
            orig = store.original(_SURFACE + m.group(0)) or shift_date(m.group(0), -store.date_shift_days)
            if orig is not None:
                spans.append((m.start(), m.end(), "DATE", orig))
                taken.add(m.start(), m.end())
    spans.sort()
    out: list[str] = []
    pos = 0
    ents: list[Entity] = []
    for s, e, etype, orig in spans:
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(orig)
        ents.append(Entity(etype, s, e, text[s:e], orig, "reidentify"))
        pos = e
    out.append(text[pos:])
    return DeidResult("".join(out), ents, "reidentify", lang)
