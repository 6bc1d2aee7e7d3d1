"""Identifier types, the detection regexes and the name lexicon.

Regular expressions for e-mail, URL, IP, phone, Chinese resident-ID, medical-ID
(English and Chinese keywords, SSN) and address detection, the priority used
to resolve overlapping candidates, the pseudonym token pattern, the cached
surname / given-name lexicon loaded from the package data file
``data/safety/deid_lexicon.json``, and the resident-ID checksum
(:func:`cn_id_valid`).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from medsage.safety._common import load_json

TYPES = ("PERSON", "PHONE", "CN_RESIDENT_ID", "MEDICAL_ID", "ADDRESS", "DATE", "EMAIL", "IP", "URL")
_PRIORITY = {"EMAIL": 9, "URL": 9, "CN_RESIDENT_ID": 8, "MEDICAL_ID": 8, "PHONE": 7, "IP": 7, "DATE": 6,
             "ADDRESS": 5, "PERSON": 4}
_TOKEN_RE = re.compile(r"\[(" + "|".join(TYPES) + r")-([0-9a-f]{6,16})\]")


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
